/* keyring.h - the controller's side of CURVE: its own key pair, the ZAP
 * handler that admits only authorised keys (zap.h), and which keys are
 * authorised now, re-read when the key directory changes (revocation
 * without a restart). */
#ifndef VFLEET_KEYRING_H
#define VFLEET_KEYRING_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct keyring_t keyring_t;

/* Checks that DIR may be trusted (vfp_keys_dir_check), loads
 * DIR/controller.key_secret (refused when group or others may read it)
 * and starts the ZAP handler over DIR/authorized. Returns NULL with the
 * reason in err. Call before any CURVE socket binds: a handshake without a ZAP
 * handler would be let in. */
keyring_t *keyring_new(const char *dir, char *err, size_t errlen);
void keyring_destroy(keyring_t **self_p);

/* Makes sock a CURVE server with the controller's pair; before bind. */
void keyring_apply_server(keyring_t *self, zsock_t *sock);

/* Re-reads the authorised keys when DIR/authorized changed, at most once
 * per KEYSET_CHECK_MS (now_mono: zclock_mono). Returns true when the
 * set was re-read. */
bool keyring_refresh(keyring_t *self, int64_t now_mono);

/* Whether the Z85 public key is authorised now (NULL: false). */
bool keyring_authorised(keyring_t *self, const char *public_z85);

/* The key directory (--keys). */
const char *keyring_dir(const keyring_t *self);

#endif
