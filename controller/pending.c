/* pending.c - the parked admin request table: a small array kept in
 * parking order, searched linearly (it holds at most a few hundred). */
#include "pending.h"

#include <stdio.h>
#include <string.h>

#include "vfp_transport.h"

struct pending_t {
    pending_entry_t *entries; /* oldest first */
    size_t size, max;
    int64_t timeout_ms;
};

pending_t *pending_new(size_t max_entries, int64_t timeout_ms)
{
    assert(max_entries > 0 && timeout_ms > 0);
    pending_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->entries = calloc(max_entries, sizeof(*self->entries));
    assert(self->entries);
    self->max = max_entries;
    self->timeout_ms = timeout_ms;
    return self;
}

void pending_destroy(pending_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pending_t *self = *self_p;
    for (size_t i = 0; i < self->size; i++)
        zframe_destroy(&self->entries[i].routing_id);
    free(self->entries);
    free(self);
    *self_p = NULL;
}

int pending_park(pending_t *self, const char *key, zframe_t *routing_id,
                 uint32_t request_id, uint8_t version, int64_t now_mono)
{
    return pending_park_for(self, key, routing_id, request_id, version,
                            now_mono, self->timeout_ms);
}

int pending_park_for(pending_t *self, const char *key, zframe_t *routing_id,
                     uint32_t request_id, uint8_t version, int64_t now_mono,
                     int64_t timeout_ms)
{
    if (self->size == self->max)
        return -1;
    pending_entry_t *entry = &self->entries[self->size++];
    snprintf(entry->key, sizeof(entry->key), "%s", key);
    entry->routing_id = vfp_routing_id_dup(routing_id);
    entry->request_id = request_id;
    entry->version = version;
    entry->deadline_mono =
        now_mono + (timeout_ms > 0 && timeout_ms < self->timeout_ms
                        ? timeout_ms
                        : self->timeout_ms);
    return 0;
}

/* Moves entry i out to *out and closes the gap, keeping parking order. */
static void s_remove(pending_t *self, size_t i, pending_entry_t *out)
{
    *out = self->entries[i];
    memmove(&self->entries[i], &self->entries[i + 1],
            (self->size - i - 1) * sizeof(*self->entries));
    self->size--;
}

int pending_take(pending_t *self, const char *key, pending_entry_t *out)
{
    for (size_t i = 0; i < self->size; i++) {
        if (strcmp(self->entries[i].key, key) == 0) {
            s_remove(self, i, out);
            return 0;
        }
    }
    return -1;
}

int pending_expire(pending_t *self, int64_t now_mono, pending_entry_t *out)
{
    /* Timeouts differ per request: the first expired in parking order. */
    for (size_t i = 0; i < self->size; i++) {
        if (self->entries[i].deadline_mono <= now_mono) {
            s_remove(self, i, out);
            return 0;
        }
    }
    return -1;
}

size_t pending_size(pending_t *self)
{
    return self->size;
}
