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

#define OUT_DEPTH_MAX 16

struct out_t {
    FILE *file;
    bool json;
    json_t *root;
    json_t *stack[OUT_DEPTH_MAX];
    int depth;
};

out_t *out_new(FILE *file, bool json)
{
    out_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->file = file;
    self->json = json;
    return self;
}

void out_destroy(out_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    out_t *self = *self_p;
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

bool out_is_json(const out_t *self)
{
    return self->json;
}

static bool s_wanted(const out_t *self, out_kind_t kind)
{
    return kind == OUT_ANY || (kind == OUT_JSON) == self->json;
}

/* Adds value (reference stolen) to the innermost container. */
static void s_add(out_t *self, const char *key, json_t *value)
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

static void s_push(out_t *self, const char *key, json_t *container)
{
    assert(self->depth < OUT_DEPTH_MAX);
    s_add(self, key, container);
    self->stack[self->depth++] = container;
}

void out_open_object(out_t *self, const char *key)
{
    if (self->json)
        s_push(self, key, json_object());
}

void out_close_object(out_t *self)
{
    if (self->json) {
        assert(self->depth > 0 && json_is_object(self->stack[self->depth - 1]));
        self->depth--;
    }
}

void out_open_array(out_t *self, const char *key)
{
    if (self->json)
        s_push(self, key, json_array());
}

void out_close_array(out_t *self)
{
    if (self->json) {
        assert(self->depth > 0 && json_is_array(self->stack[self->depth - 1]));
        self->depth--;
    }
}

void out_string(out_t *self, out_kind_t kind, const char *key, const char *fmt,
                const char *value)
{
    if (!s_wanted(self, kind))
        return;
    if (self->json)
        s_add(self, key, json_string(value));
    else
        fprintf(self->file, fmt, value);
}

void out_uint(out_t *self, out_kind_t kind, const char *key, const char *fmt,
              uint64_t value)
{
    if (!s_wanted(self, kind))
        return;
    if (self->json)
        s_add(self, key, json_integer((json_int_t)value));
    else
        fprintf(self->file, fmt, value);
}

void out_int(out_t *self, out_kind_t kind, const char *key, const char *fmt,
             int64_t value)
{
    if (!s_wanted(self, kind))
        return;
    if (self->json)
        s_add(self, key, json_integer((json_int_t)value));
    else
        fprintf(self->file, fmt, value);
}

void out_bool(out_t *self, out_kind_t kind, const char *key, const char *fmt,
              bool value)
{
    if (!s_wanted(self, kind))
        return;
    if (self->json)
        s_add(self, key, json_boolean(value));
    else
        fprintf(self->file, fmt, value ? "yes" : "no");
}

void out_text(out_t *self, const char *fmt, ...)
{
    if (self->json)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(self->file, fmt, ap);
    va_end(ap);
}
