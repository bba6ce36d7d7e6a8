/* keyset.h - the public keys a key directory authorises now (its
 * authorized/ tree), re-read when the directory changes. One per thread
 * that checks keys: the agents' loop and the admin actor each keep their
 * own (and the ZAP handler a third), so a revocation reaches each
 * without a shared lock. */
#ifndef VFLEET_KEYSET_H
#define VFLEET_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfp_keys.h"

/* How often, at most, the key directory is checked for changes. */
#define KEYSET_CHECK_MS 1000

typedef struct keyset_t keyset_t;

/* Reads the keys DIR authorises (now_mono: zclock_mono). */
keyset_t *keyset_new(const char *dir, int64_t now_mono);
void keyset_destroy(keyset_t **self_p);

/* Re-reads the authorised keys when the directory changed, at most once
 * per KEYSET_CHECK_MS. Returns true when the set was re-read, by this
 * call or by a lookup since the previous one (whoever drops revoked keys'
 * sessions must look then). */
bool keyset_refresh(keyset_t *self, int64_t now_mono);

/* Re-reads the authorised keys now if the directory changed (three
 * stat calls when it did not): for the ZAP handler, so that a revoked
 * key's next handshake is refused at once. Returns true when re-read. */
bool keyset_recheck(keyset_t *self);

/* The authorised key with this Z85 public key (its name, role and kind),
 * or NULL (also for NULL). A key not in the set makes the directory be
 * looked at again at once, so that a key added since the last read is not
 * taken for a revoked one. Valid until the next call. */
const vfp_keys_entry_t *keyset_lookup(keyset_t *self, const char *public_z85);

/* Whether the key is authorised now: keyset_lookup is not NULL. */
bool keyset_authorised(keyset_t *self, const char *public_z85);

/* How many keys are authorised. */
size_t keyset_size(const keyset_t *self);

#endif
