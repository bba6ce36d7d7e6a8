/* sessions.c - the per-host session table, written by the event loop and
 * read under a lock by the admin thread. */
#include "sessions.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct sessions_t {
    pthread_mutex_t lock; /* guards the tables and the facts others read */
    zhashx_t *hosts;      /* host name -> session_t (owned) */
    zhashx_t *routes;     /* routing id hex -> session_t (borrowed) */
    session_t **all;      /* every session, for the loop's iteration */
    size_t count, cap;
};

static void s_session_free(void **item)
{
    session_t *host = *item;
    if (host) {
        zframe_destroy(&host->routing_id);
        free(host);
        *item = NULL;
    }
}

sessions_t *sessions_new(void)
{
    sessions_t *self = calloc(1, sizeof(*self));
    assert(self);
    pthread_mutex_init(&self->lock, NULL);
    self->hosts = zhashx_new();
    assert(self->hosts);
    zhashx_set_destructor(self->hosts, s_session_free);
    self->routes = zhashx_new();
    assert(self->routes);
    return self;
}

void sessions_destroy(sessions_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sessions_t *self = *self_p;
    zhashx_destroy(&self->routes);
    zhashx_destroy(&self->hosts);
    free(self->all);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

session_t *sessions_add(sessions_t *self, const char *name)
{
    session_t *host = calloc(1, sizeof(*host));
    assert(host);
    snprintf(host->name, sizeof(host->name), "%s", name);
    host->last_seen_mono = zclock_mono();
    pthread_mutex_lock(&self->lock);
    int rc = zhashx_insert(self->hosts, host->name, host);
    pthread_mutex_unlock(&self->lock);
    if (self->count == self->cap) {
        self->cap = self->cap ? 2 * self->cap : 64;
        self->all = realloc(self->all, self->cap * sizeof(*self->all));
        assert(self->all);
    }
    self->all[self->count++] = host;
    /* Callers look a name up before adding it: a duplicate is their bug. */
    assert(rc == 0);
    (void)rc;
    return host;
}

/* Lookups take the lock too: zhashx_lookup caches the slot it found in
 * the table, so two threads looking up at once would race on it. */
static session_t *s_lookup(sessions_t *self, zhashx_t *table, const char *key)
{
    pthread_mutex_lock(&self->lock);
    session_t *host = zhashx_lookup(table, key);
    pthread_mutex_unlock(&self->lock);
    return host;
}

session_t *sessions_find(sessions_t *self, const char *name)
{
    return s_lookup(self, self->hosts, name);
}

session_t *sessions_find_route(sessions_t *self, const char *route_key)
{
    return s_lookup(self, self->routes, route_key);
}

void sessions_route_key(zframe_t *routing_id, char *key)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *data = zframe_data(routing_id);
    size_t len = zframe_size(routing_id);
    size_t i;
    for (i = 0; i < len && 2 * i + 2 < SESSIONS_ROUTE_KEY_MAX; i++) {
        key[2 * i] = hex[data[i] >> 4];
        key[2 * i + 1] = hex[data[i] & 15];
    }
    key[2 * i] = '\0';
}

void sessions_attach(sessions_t *self, session_t *host, zframe_t *routing_id,
                     uint8_t proto_version, int64_t now_mono, int64_t now_ms)
{
    char key[SESSIONS_ROUTE_KEY_MAX];
    sessions_route_key(routing_id, key);
    pthread_mutex_lock(&self->lock);
    if (host->routing_id)
        zhashx_delete(self->routes, host->route_key);
    zframe_destroy(&host->routing_id);
    host->routing_id = zframe_dup(routing_id);
    snprintf(host->route_key, sizeof(host->route_key), "%s", key);
    zhashx_update(self->routes, host->route_key, host);
    host->proto_version = proto_version;
    host->have_inventory = false;
    host->resync = false;
    host->down = false;
    host->last_seen_mono = now_mono;
    host->last_seen_ms = now_ms;
    host->seen_unflushed = false;
    pthread_mutex_unlock(&self->lock);
}

void sessions_detach(sessions_t *self, session_t *host)
{
    pthread_mutex_lock(&self->lock);
    if (host->routing_id)
        zhashx_delete(self->routes, host->route_key);
    zframe_destroy(&host->routing_id);
    host->route_key[0] = '\0';
    host->key[0] = '\0';
    pthread_mutex_unlock(&self->lock);
}

void sessions_touch(sessions_t *self, session_t *host, int64_t now_mono,
                    int64_t now_ms)
{
    pthread_mutex_lock(&self->lock);
    host->last_seen_mono = now_mono;
    host->last_seen_ms = now_ms;
    host->seen_unflushed = true;
    pthread_mutex_unlock(&self->lock);
}

void sessions_mark_down(sessions_t *self, session_t *host)
{
    pthread_mutex_lock(&self->lock);
    host->down = true;
    pthread_mutex_unlock(&self->lock);
}

void sessions_mark_up(sessions_t *self, session_t *host)
{
    pthread_mutex_lock(&self->lock);
    host->down = false;
    pthread_mutex_unlock(&self->lock);
}

size_t sessions_size(sessions_t *self)
{
    return self->count;
}

session_t *sessions_at(sessions_t *self, size_t index)
{
    assert(index < self->count);
    return self->all[index];
}

static bool s_connected(const session_t *host)
{
    return host->routing_id && !host->down;
}

size_t sessions_connected(sessions_t *self)
{
    size_t count = 0;
    pthread_mutex_lock(&self->lock);
    zlistx_t *values = zhashx_values(self->routes);
    for (session_t *host = zlistx_first(values); host;
         host = zlistx_next(values))
        count += s_connected(host);
    pthread_mutex_unlock(&self->lock);
    zlistx_destroy(&values);
    return count;
}

bool sessions_peek(sessions_t *self, const char *name, session_facts_t *out)
{
    pthread_mutex_lock(&self->lock);
    session_t *host = zhashx_lookup(self->hosts, name);
    if (host) {
        out->connected = s_connected(host);
        out->last_seen_ms = host->last_seen_ms;
    }
    pthread_mutex_unlock(&self->lock);
    return host != NULL;
}
