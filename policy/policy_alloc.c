/* policy_alloc.c - the policy library's allocation path and model arena. */
#include "policy_internal.h"

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_SIZE 1024

static unsigned long s_fail_at;
static unsigned long s_calls;

void policy_alloc_fail_after(unsigned long n)
{
    s_fail_at = n;
    s_calls = 0;
}

unsigned long policy_alloc_count(void)
{
    return s_calls;
}

/* True when the injected failure is due now. */
static bool s_inject(void)
{
    s_calls++;
    if (s_fail_at != 0 && s_calls == s_fail_at) {
        s_fail_at = 0;
        return true;
    }
    return false;
}

void *policy_malloc(size_t size)
{
    if (s_inject())
        return NULL;
    return malloc(size);
}

void *policy_realloc(void *ptr, size_t size)
{
    if (s_inject())
        return NULL;
    return realloc(ptr, size);
}

void policy_free(void *ptr)
{
    free(ptr);
}

void *policy_array_grow(void *items, size_t *capacity, size_t count,
                        size_t item_size)
{
    if (count < *capacity)
        return items;
    size_t grown = *capacity ? *capacity * 2 : 16;
    void *moved = policy_realloc(items, grown * item_size);
    if (moved)
        *capacity = grown;
    return moved;
}

char *policy_vformat(const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    char *text = len >= 0 ? policy_malloc((size_t)len + 1) : NULL;
    if (text)
        vsnprintf(text, (size_t)len + 1, fmt, again);
    va_end(again);
    return text;
}

typedef struct chunk chunk_t;
struct chunk {
    chunk_t *next;
    size_t used;
    size_t size;
    alignas(max_align_t) unsigned char data[];
};

struct policy_arena {
    chunk_t *head;
};

policy_arena_t *policy_arena_new(void)
{
    policy_arena_t *self = policy_malloc(sizeof(*self));
    if (self)
        self->head = NULL;
    return self;
}

void policy_arena_destroy(policy_arena_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    chunk_t *chunk = (*self_p)->head;
    while (chunk) {
        chunk_t *next = chunk->next;
        policy_free(chunk);
        chunk = next;
    }
    policy_free(*self_p);
    *self_p = NULL;
}

void *policy_arena_alloc(policy_arena_t *self, size_t size)
{
    const size_t align = alignof(max_align_t);
    size = (size + align - 1) & ~(align - 1);
    if (size == 0)
        size = align;
    chunk_t *chunk = self->head;
    if (!chunk || chunk->size - chunk->used < size) {
        size_t data_size = size > ARENA_CHUNK_SIZE ? size : ARENA_CHUNK_SIZE;
        chunk = policy_malloc(sizeof(*chunk) + data_size);
        if (!chunk)
            return NULL;
        chunk->used = 0;
        chunk->size = data_size;
        /* A big one-off block goes behind the current chunk so the
         * current chunk's free space is not wasted. */
        if (self->head && data_size > ARENA_CHUNK_SIZE) {
            chunk->next = self->head->next;
            self->head->next = chunk;
        } else {
            chunk->next = self->head;
            self->head = chunk;
        }
    }
    void *ptr = chunk->data + chunk->used;
    chunk->used += size;
    memset(ptr, 0, size);
    return ptr;
}

void *policy_arena_calloc(policy_arena_t *self, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    return policy_arena_alloc(self, count * size);
}

char *policy_arena_strndup(policy_arena_t *self, const char *text, size_t len)
{
    char *copy = policy_arena_alloc(self, len + 1);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = '\0';
    }
    return copy;
}
