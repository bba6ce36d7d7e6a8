/* vfp_keys.h - CURVE certificates of a vfleet cluster: the controller's key
 * directory, secret files only their owner may read, and the socket
 * options that make a connection a CURVE server or client. */
#ifndef VFLEET_VFP_KEYS_H
#define VFLEET_VFP_KEYS_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#include "vfp.h"
#include "vfp_transport.h"

/* The key directory (on the controller host):
 *   DIR/controller.key, DIR/controller.key_secret   the controller's pair
 *   DIR/authorized/hosts/NAME.key                   a host's public cert
 *   DIR/authorized/admins/NAME.key                  an admin's public cert
 * the ZAP handler reads DIR/authorized, so the controller's own certificate is
 * never an authorised client. */
#define VFP_KEYS_DEFAULT_DIR VFP_DEFAULT_STATE_DIR "/keys"
#define VFP_KEYS_CONTROLLER "controller.key"
#define VFP_KEYS_AUTHORIZED "authorized"
#define VFP_KEYS_SECRET_SUFFIX "_secret"
#define VFP_KEYS_FILE_SUFFIX ".key"
/* A certificate file longer than this is not one. */
#define VFP_KEYS_FILE_MAX 65536

/* The agent's files, copied from the controller host. */
#define VFP_KEYS_AGENT_SECRET_DEFAULT "/etc/vfleet/agent.key_secret"
#define VFP_KEYS_AGENT_CONTROLLER_DEFAULT "/etc/vfleet/controller.key"

/* Certificate metadata: "name" and "role", which the ZAP handler hands to the
 * controller with every message of an authenticated connection. */
#define VFP_KEYS_META_NAME "name"
#define VFP_KEYS_META_ROLE "role"
#define VFP_KEYS_ROLE_HOST "host"
#define VFP_KEYS_ROLE_ADMIN "admin"
#define VFP_KEYS_ROLE_READ_ONLY "read-only"

/* Bytes CURVE adds to a frame on the wire: the MESSAGE command's name (8)
 * and nonce (8), the MAC (16) and the flags byte (1). libzmq checks
 * ZMQ_MAXMSGSIZE against the encrypted frame, before it decrypts it. */
#define VFP_KEYS_CURVE_OVERHEAD 33

/* A Z85 public key: 40 characters. */
#define VFP_KEYS_Z85_LEN 40

typedef enum {
    VFP_KEYS_HOST,  /* authorized/hosts */
    VFP_KEYS_ADMIN, /* authorized/admins */
} vfp_keys_kind_t;

/* "host" or "admin". */
const char *vfp_keys_kind_name(vfp_keys_kind_t kind);

/* The folder of DIR/authorized that holds a kind's certificates:
 * "hosts" or "admins". */
const char *vfp_keys_kind_dir(vfp_keys_kind_t kind);

/* A key's name: a host name as the codec checks it (vfp_hostname_check),
 * for admins too. Returns 0, or -1 with the reason in why. */
int vfp_keys_name_check(const char *name, char *why, size_t whylen);

/* Whether the key directory DIR can be trusted with the authorised keys:
 * DIR, DIR/authorized and its kinds' folders (those that exist) must be
 * owned by this user or root and writable by neither group nor others,
 * since whoever may write there may authorise a key. Returns 0, or -1
 * with the folder, its mode or owner, and the fix in err. */
int vfp_keys_dir_check(const char *dir, char *err, size_t errlen);

/* Loads a secret certificate. Refuses a file that group or others may
 * read or write, naming the file and its mode. Returns the certificate, or
 * NULL with the reason in err. */
zcert_t *vfp_keys_load_secret(const char *path, char *err, size_t errlen);

/* Loads a public certificate (its secret part, if any, is not read).
 * Returns NULL with the reason in err. */
zcert_t *vfp_keys_load_public(const char *path, char *err, size_t errlen);

/* Creates DIR (mode 0700) and the controller's pair in it. Refuses to
 * replace an existing pair unless force. Returns 0 or -1 with err. */
int vfp_keys_init(const char *dir, bool force, char *err, size_t errlen);

/* What vfp_keys_add authorises. */
typedef struct {
    vfp_keys_kind_t kind;
    const char *name;
    const char *role;       /* VFP_KEYS_ROLE_*; host keys are "host" */
    const char *public_z85; /* import this key; NULL: generate a pair */
    const char *secret_out; /* where a generated secret cert goes */
} vfp_keys_add_t;

/* Authorises a key: writes DIR/authorized/KIND/NAME.key with metadata
 * name and role, and for a generated pair the secret certificate (same
 * metadata, mode 0600) to add->secret_out, which must not exist. Refuses
 * a name that already has a key of that kind and a public key authorised
 * under any name. Returns 0 or -1 with err. */
int vfp_keys_add(const char *dir, const vfp_keys_add_t *add, char *err,
                 size_t errlen);

/* Removes NAME's public certificate; kind NULL looks among hosts, then
 * admins, and refuses a name found in both. Returns 0 or -1 with err. */
int vfp_keys_revoke(const char *dir, const vfp_keys_kind_t *kind,
                    const char *name, char *err, size_t errlen);

/* One authorised key. */
typedef struct {
    vfp_keys_kind_t kind;
    char name[VFP_HOSTNAME_MAX + 1];
    char role[16];
    char public_z85[VFP_KEYS_Z85_LEN + 1];
} vfp_keys_entry_t;

/* Reads the authorised certificate at path, of kind, into entry.
 * Returns 0 or -1 with err. */
int vfp_keys_read_entry(const char *path, vfp_keys_kind_t kind,
                        vfp_keys_entry_t *entry, char *err, size_t errlen);

/* Every authorised key, hosts then admins, each sorted by name, into
 * *entries_p (caller frees). A file that is not a certificate is an
 * error. Returns the count, or -1 with err. */
int vfp_keys_list(const char *dir, vfp_keys_entry_t **entries_p, char *err,
                  size_t errlen);

/* Whether DIR/authorized changed: a stamp of its directories' change
 * times, cheap enough to take every second. */
typedef struct {
    struct timespec mtime[3]; /* authorized, hosts, admins */
} vfp_keys_stamp_t;

void vfp_keys_stamp(const char *dir, vfp_keys_stamp_t *stamp);
bool vfp_keys_stamp_equal(const vfp_keys_stamp_t *a, const vfp_keys_stamp_t *b);

/* What the ZAP handler said of a connection: the client's key and the metadata
 * of the certificate it matched. */
typedef struct {
    bool keyed; /* a CURVE connection the ZAP handler admitted */
    char public_z85[VFP_KEYS_Z85_LEN + 1]; /* ZAP User-Id */
    char name[VFP_HOSTNAME_MAX + 1];       /* "" when the cert has none */
    char role[16];
} vfp_keys_peer_t;

/* Fills peer from a received frame's metadata. Read it from a message
 * frame, not a ROUTER's routing id frame: libzmq 4.3.4 gives that one no
 * metadata when the socket was polled (ZMQ_EVENTS) before the receive. */
void vfp_keys_peer(zframe_t *frame, vfp_keys_peer_t *peer);

/* Makes sock a CURVE server with cert's pair; after vfp_socket_limit (or
 * vfp_socket_limit_set) and before bind. A ZMQ_MAXMSGSIZE set before grows
 * by VFP_KEYS_CURVE_OVERHEAD, so that a message of that size still fits
 * once encrypted. */
void vfp_keys_apply_server(zsock_t *sock, zcert_t *cert);

/* Makes sock a CURVE client with cert's pair, trusting only the server
 * whose public certificate is server; after vfp_socket_limit and before
 * connect, with the same ZMQ_MAXMSGSIZE rule as vfp_keys_apply_server. */
void vfp_keys_apply_client(zsock_t *sock, zcert_t *cert, zcert_t *server);

#endif
