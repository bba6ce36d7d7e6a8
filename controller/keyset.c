/* keyset.c - the authorised public keys of a key directory, kept in step
 * with it. */
#include "keyset.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfp_keys.h"
#include "vfp_log.h"

struct keyset_t {
    char dir[4096];
    zhashx_t *authorised; /* Z85 public key -> "" */
    vfp_keys_stamp_t stamp;
    int64_t checked_mono;
};

/* Reads the authorised public keys; keeps the previous set when the
 * directory cannot be read (a half-written file is read again next
 * time: its directory's stamp changes once more when it is complete). */
static void s_load(keyset_t *self)
{
    vfp_keys_entry_t *entries;
    char err[1024];
    int count = vfp_keys_list(self->dir, &entries, err, sizeof(err));
    if (count < 0) {
        vfp_log_warnx("cannot read the authorised keys: %s", err);
        memset(&self->stamp, 0, sizeof(self->stamp));
        return;
    }
    zhashx_purge(self->authorised);
    for (int i = 0; i < count; i++)
        zhashx_update(self->authorised, entries[i].public_z85, "");
    free(entries);
}

keyset_t *keyset_new(const char *dir, int64_t now_mono)
{
    keyset_t *self = calloc(1, sizeof(*self));
    assert(self);
    snprintf(self->dir, sizeof(self->dir), "%s", dir);
    self->authorised = zhashx_new();
    assert(self->authorised);
    zhashx_set_destructor(self->authorised, NULL);
    zhashx_set_duplicator(self->authorised, NULL);
    vfp_keys_stamp(dir, &self->stamp);
    self->checked_mono = now_mono;
    s_load(self);
    return self;
}

void keyset_destroy(keyset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->authorised);
    free(*self_p);
    *self_p = NULL;
}

/* Re-reads the keys when the directory's stamp moved. */
static bool s_reload_if_changed(keyset_t *self)
{
    vfp_keys_stamp_t stamp;
    vfp_keys_stamp(self->dir, &stamp);
    if (vfp_keys_stamp_equal(&stamp, &self->stamp))
        return false;
    self->stamp = stamp;
    s_load(self);
    return true;
}

bool keyset_refresh(keyset_t *self, int64_t now_mono)
{
    if (now_mono - self->checked_mono < KEYSET_CHECK_MS)
        return false;
    self->checked_mono = now_mono;
    return s_reload_if_changed(self);
}

bool keyset_authorised(keyset_t *self, const char *public_z85)
{
    if (!public_z85)
        return false;
    if (zhashx_lookup(self->authorised, public_z85))
        return true;
    /* zauth admits a key as soon as its file is there; a key added since
     * the last read must not look revoked until the next one. */
    return s_reload_if_changed(self) &&
           zhashx_lookup(self->authorised, public_z85) != NULL;
}
