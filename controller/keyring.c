/* keyring.c - the controller's key pair, its ZAP handler, and the set of
 * authorised keys kept in step with the key directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"
#include "keyset.h"
#include "vfp_keys.h"
#include "vfp_log.h"
#include "zap.h"

struct keyring_t {
    char dir[4096];
    zcert_t *cert;
    zap_args_t zap;
    zactor_t *auth;       /* the ZAP handler */
    keyset_t *authorised; /* the agents' loop's own */
};

keyring_t *keyring_new(const char *dir, char *err, size_t errlen)
{
    char path[4096 + 32];
    snprintf(path, sizeof(path),
             "%s/" VFP_KEYS_CONTROLLER VFP_KEYS_SECRET_SUFFIX, dir);
    char why[1024];
    if (vfp_keys_dir_check(dir, err, errlen) != 0)
        return NULL;
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
    self->zap.dir = self->dir;
    self->zap.handler = zap_handler_new(err, errlen);
    if (!self->zap.handler) {
        keyring_destroy(&self);
        return NULL;
    }
    self->auth = zactor_new(zap_actor, &self->zap);
    assert(self->auth);
    self->authorised = keyset_new(dir, zclock_mono());
    return self;
}

void keyring_destroy(keyring_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    keyring_t *self = *self_p;
    zactor_destroy(&self->auth);
    zcert_destroy(&self->cert);
    keyset_destroy(&self->authorised);
    free(self);
    *self_p = NULL;
}

void keyring_apply_server(keyring_t *self, zsock_t *sock)
{
    vfp_keys_apply_server(sock, self->cert);
}

bool keyring_refresh(keyring_t *self, int64_t now_mono)
{
    return keyset_refresh(self->authorised, now_mono);
}

bool keyring_authorised(keyring_t *self, const char *public_z85)
{
    return keyset_authorised(self->authorised, public_z85);
}

const char *keyring_dir(const keyring_t *self)
{
    return self->dir;
}
