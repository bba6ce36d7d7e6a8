/* keyring.c - the controller's key pair, zauth, and the set of authorised
 * keys kept in step with the key directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyring.h"
#include "vfp_keys.h"
#include "vfp_log.h"

struct keyring_t {
    char dir[4096];
    zcert_t *cert;
    zactor_t *auth;
    zhashx_t *authorised; /* Z85 public key -> "" */
    vfp_keys_stamp_t stamp;
    struct timespec read_at; /* CLOCK_REALTIME_COARSE, before the read */
    int64_t checked_mono;
    bool reread; /* by keyring_authorised, not yet told by keyring_refresh */
};

/* Reads the authorised public keys and stamps the directory; keeps the
 * previous set when the directory cannot be read (a half-written file is
 * read again next time: its directory's stamp changes once more when it
 * is complete). */
static void s_load(keyring_t *self)
{
    clock_gettime(CLOCK_REALTIME_COARSE, &self->read_at);
    vfp_keys_stamp(self->dir, &self->stamp);
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

keyring_t *keyring_new(const char *dir, char *err, size_t errlen)
{
    char path[4096 + 32];
    snprintf(path, sizeof(path),
             "%s/" VFP_KEYS_CONTROLLER VFP_KEYS_SECRET_SUFFIX, dir);
    char why[1024];
    zcert_t *cert = vfp_keys_load_secret(path, why, sizeof(why));
    if (!cert) {
        snprintf(err, errlen,
                 "%s; create the controller's keys with `vfleetctl keys init "
                 "--keys %s`, or start with --insecure (demo and tests only)",
                 why, dir);
        return NULL;
    }
    keyring_t *self = calloc(1, sizeof(*self));
    assert(self);
    snprintf(self->dir, sizeof(self->dir), "%s", dir);
    self->cert = cert;
    self->authorised = zhashx_new();
    zhashx_set_destructor(self->authorised, NULL);
    zhashx_set_duplicator(self->authorised, NULL);
    snprintf(path, sizeof(path), "%s/" VFP_KEYS_AUTHORIZED, dir);
    self->auth = zactor_new(zauth, NULL);
    assert(self->auth);
    if (zstr_sendx(self->auth, "CURVE", path, NULL) != 0 ||
        zsock_wait(self->auth) != 0) {
        snprintf(err, errlen, "cannot start the authenticator on %s", path);
        keyring_destroy(&self);
        return NULL;
    }
    self->checked_mono = zclock_mono();
    s_load(self);
    return self;
}

void keyring_destroy(keyring_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    keyring_t *self = *self_p;
    zactor_destroy(&self->auth);
    zcert_destroy(&self->cert);
    zhashx_destroy(&self->authorised);
    free(self);
    *self_p = NULL;
}

void keyring_apply_server(keyring_t *self, zsock_t *sock)
{
    vfp_keys_apply_server(sock, self->cert);
}

/* Whether the last read may have missed a change: a directory's mtime
 * is the kernel's coarse clock, so a key added in the clock tick of the
 * read leaves the stamp as it was. Until that tick has passed, the set is
 * not known to be current. */
static bool s_racy(const keyring_t *self)
{
    for (int i = 0; i < 3; i++) {
        const struct timespec *m = &self->stamp.mtime[i];
        if (m->tv_sec > self->read_at.tv_sec ||
            (m->tv_sec == self->read_at.tv_sec &&
             m->tv_nsec >= self->read_at.tv_nsec))
            return true;
    }
    return false;
}

/* Re-reads the authorised keys when the directory's stamp changed, or
 * may have without showing it. */
static bool s_reread(keyring_t *self)
{
    vfp_keys_stamp_t stamp;
    vfp_keys_stamp(self->dir, &stamp);
    if (vfp_keys_stamp_equal(&stamp, &self->stamp) && !s_racy(self))
        return false;
    s_load(self);
    return true;
}

bool keyring_refresh(keyring_t *self, int64_t now_mono)
{
    bool changed = self->reread;
    self->reread = false;
    if (now_mono - self->checked_mono < KEYRING_CHECK_MS)
        return changed;
    self->checked_mono = now_mono;
    return s_reread(self) || changed;
}

bool keyring_authorised(keyring_t *self, const char *public_z85)
{
    if (!public_z85)
        return false;
    if (zhashx_lookup(self->authorised, public_z85))
        return true;
    /* zauth admitted the key: it re-reads the directory at every
     * handshake, this set only once a second. A key authorised since is
     * looked up now, not taken for revoked. */
    if (s_reread(self))
        self->reread = true;
    return zhashx_lookup(self->authorised, public_z85) != NULL;
}
