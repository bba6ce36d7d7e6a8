/* policy_errors.c - the list of diagnostics a parse produces. */
#include "policy_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct policy_errors {
    char *source;
    policy_error_t *items;
    size_t count;
    size_t capacity;
    bool out_of_memory;
    bool truncated;
};

policy_errors_t *policy_errors_new(void)
{
    policy_errors_t *self = policy_malloc(sizeof(*self));
    if (self)
        memset(self, 0, sizeof(*self));
    return self;
}

void policy_errors_clear(policy_errors_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        policy_free(self->items[i].message);
    self->count = 0;
    self->out_of_memory = false;
    self->truncated = false;
    policy_free(self->source);
    self->source = NULL;
}

void policy_errors_destroy(policy_errors_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    policy_errors_t *self = *self_p;
    policy_errors_clear(self);
    policy_free(self->items);
    policy_free(self);
    *self_p = NULL;
}

size_t policy_errors_count(const policy_errors_t *self)
{
    return self->count;
}

const policy_error_t *policy_errors_get(const policy_errors_t *self,
                                        size_t index)
{
    return index < self->count ? &self->items[index] : NULL;
}

const char *policy_errors_source(const policy_errors_t *self)
{
    return self->source ? self->source : "<policy>";
}

bool policy_errors_out_of_memory(const policy_errors_t *self)
{
    return self->out_of_memory;
}

bool policy_errors_truncated(const policy_errors_t *self)
{
    return self->truncated;
}

void policy_errors_set_out_of_memory(policy_errors_t *self)
{
    if (self)
        self->out_of_memory = true;
}

void policy_errors_set_source(policy_errors_t *self, const char *source)
{
    if (!self)
        return;
    size_t len = strlen(source);
    char *copy = policy_malloc(len + 1);
    if (!copy) {
        self->out_of_memory = true;
        return;
    }
    memcpy(copy, source, len + 1);
    policy_free(self->source);
    self->source = copy;
}

void policy_errors_add(policy_errors_t *self, int line, int column,
                       const char *fmt, ...)
{
    if (!self)
        return;
    if (self->count == POLICY_MAX_ERRORS) {
        self->truncated = true;
        return;
    }
    policy_error_t *items = policy_array_grow(self->items, &self->capacity,
                                              self->count, sizeof(*items));
    if (!items) {
        self->out_of_memory = true;
        return;
    }
    self->items = items;
    va_list ap;
    va_start(ap, fmt);
    char *message = policy_vformat(fmt, ap);
    va_end(ap);
    if (!message) {
        self->out_of_memory = true;
        return;
    }
    self->items[self->count++] =
        (policy_error_t){.line = line, .column = column, .message = message};
}

static int s_compare(const void *a, const void *b)
{
    const policy_error_t *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->column != y->column)
        return x->column < y->column ? -1 : 1;
    return strcmp(x->message, y->message);
}

void policy_errors_sort(policy_errors_t *self)
{
    if (!self || self->count == 0)
        return;
    qsort(self->items, self->count, sizeof(*self->items), s_compare);
    size_t kept = 1;
    for (size_t i = 1; i < self->count; i++) {
        if (s_compare(&self->items[kept - 1], &self->items[i]) == 0)
            policy_free(self->items[i].message);
        else
            self->items[kept++] = self->items[i];
    }
    self->count = kept;
}

void policy_errors_print(const policy_errors_t *self, FILE *out)
{
    const char *source = policy_errors_source(self);
    for (size_t i = 0; i < self->count; i++)
        fprintf(out, "%s:%d:%d: %s\n", source, self->items[i].line,
                self->items[i].column, self->items[i].message);
    if (self->truncated)
        fprintf(out, "%s: more than %d errors, only %d shown\n", source,
                POLICY_MAX_ERRORS, POLICY_MAX_ERRORS);
    if (self->out_of_memory)
        fprintf(out, "%s: out of memory\n", source);
}
