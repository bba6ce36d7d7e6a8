/* output.c - one printing path for the human table and JSON. */
#include "output.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>

/* The table formats are the callers' literals passed through, exactly as
 * iproute2's print_* helpers do; the compiler cannot see them here. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

#define OUTPUT_DEPTH_MAX 16

struct output_t {
    FILE *file;
    bool json;
    json_t *root;
    json_t *stack[OUTPUT_DEPTH_MAX];
    int depth;
};

output_t *output_new(FILE *file, bool json)
{
    output_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->file = file;
    self->json = json;
    return self;
}

void output_destroy(output_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    output_t *self = *self_p;
    if (self->root) {
        json_dumpf(self->root, self->file,
                   JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', self->file);
        json_decref(self->root);
    }
    fflush(self->file);
    free(self);
    *self_p = NULL;
}

bool output_is_json(const output_t *self)
{
    return self->json;
}

static bool s_wanted(const output_t *self, output_kind_t kind)
{
    return kind == OUTPUT_ANY || (kind == OUTPUT_JSON) == self->json;
}

/* Adds value (reference stolen) to the innermost container. */
static void s_add(output_t *self, const char *key, json_t *value)
{
    assert(value);
    if (self->depth == 0) {
        assert(!self->root);
        self->root = value;
        return;
    }
    json_t *top = self->stack[self->depth - 1];
    if (json_is_array(top))
        json_array_append_new(top, value);
    else
        json_object_set_new(top, key, value);
}

static void s_push(output_t *self, const char *key, json_t *container)
{
    assert(self->depth < OUTPUT_DEPTH_MAX);
    s_add(self, key, container);
    self->stack[self->depth++] = container;
}

/* Closes the innermost container, which must be of this type. */
static void s_pop(output_t *self, json_type type)
{
    if (self->json) {
        assert(self->depth > 0 &&
               json_typeof(self->stack[self->depth - 1]) == type);
        self->depth--;
    }
}

void output_open_object(output_t *self, const char *key)
{
    if (self->json)
        s_push(self, key, json_object());
}

void output_close_object(output_t *self)
{
    s_pop(self, JSON_OBJECT);
}

void output_open_array(output_t *self, const char *key)
{
    if (self->json)
        s_push(self, key, json_array());
}

void output_close_array(output_t *self)
{
    s_pop(self, JSON_ARRAY);
}

/* One value: json (reference stolen, NULL in table mode) into the JSON
 * document, or the caller's format and value into the table. */
static void s_value(output_t *self, const char *key, json_t *json,
                    const char *fmt, ...)
{
    if (self->json) {
        s_add(self, key, json);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(self->file, fmt, ap);
    va_end(ap);
}

void output_string(output_t *self, output_kind_t kind, const char *key,
                   const char *fmt, const char *value)
{
    if (s_wanted(self, kind))
        s_value(self, key, self->json ? json_string(value) : NULL, fmt, value);
}

void output_uint(output_t *self, output_kind_t kind, const char *key,
                 const char *fmt, uint64_t value)
{
    if (s_wanted(self, kind))
        s_value(self, key, self->json ? json_integer((json_int_t)value) : NULL,
                fmt, value);
}

void output_int(output_t *self, output_kind_t kind, const char *key,
                const char *fmt, int64_t value)
{
    if (s_wanted(self, kind))
        s_value(self, key, self->json ? json_integer((json_int_t)value) : NULL,
                fmt, value);
}

void output_bool(output_t *self, output_kind_t kind, const char *key,
                 const char *fmt, bool value)
{
    if (s_wanted(self, kind))
        s_value(self, key, self->json ? json_boolean(value) : NULL, fmt,
                value ? "yes" : "no");
}

void output_text(output_t *self, const char *fmt, ...)
{
    if (self->json)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(self->file, fmt, ap);
    va_end(ap);
}
