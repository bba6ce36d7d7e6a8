/* vfp_keys.c - the controller's key directory and CURVE socket options,
 * over czmq's zcert (no cryptography of our own). */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfp_keys.h"

static const char *s_subdir[] = {"hosts", "admins"};

const char *vfp_keys_kind_dir(vfp_keys_kind_t kind)
{
    return s_subdir[kind];
}

const char *vfp_keys_kind_name(vfp_keys_kind_t kind)
{
    return kind == VFP_KEYS_HOST ? "host" : "admin";
}

int vfp_keys_name_check(const char *name, char *why, size_t whylen)
{
    return vfp_hostname_check(name, why, whylen);
}

static bool s_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Reads the certificate file itself (zcert_load would read PATH_secret
 * instead when it exists): its keys, and its metadata. */
/* The text of a certificate file, at most VFP_KEYS_FILE_MAX bytes, or
 * NULL. Read here rather than by zconfig_load, which leaks its file
 * handle on a file that does not parse (czmq 4.2.1), and reads any size. */
static char *s_read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *text = malloc(VFP_KEYS_FILE_MAX + 1);
    assert(text);
    size_t n = fread(text, 1, VFP_KEYS_FILE_MAX + 1, f);
    fclose(f);
    if (n > VFP_KEYS_FILE_MAX || memchr(text, '\0', n)) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

static zcert_t *s_load(const char *path, bool secret, char *err, size_t errlen)
{
    char *text = s_read_text(path);
    zconfig_t *root = text ? zconfig_str_load(text) : NULL;
    free(text);
    const char *public_txt =
        root ? zconfig_get(root, "/curve/public-key", NULL) : NULL;
    const char *secret_txt =
        root && secret ? zconfig_get(root, "/curve/secret-key", NULL) : NULL;
    uint8_t public_key[32], secret_key[32] = {0};
    zcert_t *cert = NULL;
    if (!public_txt || strlen(public_txt) != VFP_KEYS_Z85_LEN ||
        !zmq_z85_decode(public_key, public_txt))
        snprintf(err, errlen, "%s is not a certificate", path);
    else if (secret && (!secret_txt || strlen(secret_txt) != VFP_KEYS_Z85_LEN ||
                        !zmq_z85_decode(secret_key, secret_txt)))
        snprintf(err, errlen, "%s holds no secret key", path);
    else
        cert = zcert_new_from(public_key, secret_key);
    zconfig_t *meta = cert ? zconfig_locate(root, "/metadata") : NULL;
    for (zconfig_t *item = meta ? zconfig_child(meta) : NULL; item;
         item = zconfig_next(item))
        zcert_set_meta(cert, zconfig_name(item), "%s", zconfig_value(item));
    zconfig_destroy(&root);
    return cert;
}

/* One folder of vfp_keys_dir_check; absent is fine. */
static int s_dir_check(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot read key directory %s: %s", path,
                 strerror(errno));
        return -1;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errlen,
                 "key directory %s is owned by uid %u: whoever owns it may "
                 "authorise keys; give it to this user (uid %u) or root",
                 path, (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st.st_mode & 022) {
        snprintf(err, errlen,
                 "key directory %s has mode %04o: group or others may write "
                 "in it and so authorise keys; chmod go-w %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        return -1;
    }
    return 0;
}

int vfp_keys_dir_check(const char *dir, char *err, size_t errlen)
{
    char path[4096 + 64];
    if (s_dir_check(dir, err, errlen) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/" VFP_KEYS_AUTHORIZED, dir);
    if (s_dir_check(path, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(s_subdir) / sizeof(s_subdir[0]); i++) {
        snprintf(path, sizeof(path), "%s/" VFP_KEYS_AUTHORIZED "/%s", dir,
                 s_subdir[i]);
        if (s_dir_check(path, err, errlen) != 0)
            return -1;
    }
    return 0;
}

zcert_t *vfp_keys_load_secret(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot read secret key %s: %s", path,
                 strerror(errno));
        return NULL;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen,
                 "secret key %s has mode %04o: group or others may read or "
                 "write it; chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        return NULL;
    }
    return s_load(path, true, err, errlen);
}

zcert_t *vfp_keys_load_public(const char *path, char *err, size_t errlen)
{
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "cannot read certificate %s: %s", path,
                 strerror(errno));
        return NULL;
    }
    return s_load(path, false, err, errlen);
}

static int s_mkdir(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
    return -1;
}

/* DIR, its missing parents (as `mkdir -p`, mode 0700: the key directory
 * usually lives in the controller's state directory, which is 0700 too)
 * and DIR/authorized/{hosts,admins}. */
static int s_mkdirs(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *slash = strchr(path + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        int rc = s_mkdir(path, err, errlen);
        *slash = '/';
        if (rc != 0)
            return -1;
    }
    if (s_mkdir(dir, err, errlen) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/" VFP_KEYS_AUTHORIZED, dir);
    if (s_mkdir(path, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/" VFP_KEYS_AUTHORIZED "/%s", dir,
                 s_subdir[i]);
        if (s_mkdir(path, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Writes the secret certificate to path, 0600 from the moment it
 * exists. */
static int s_save_secret(zcert_t *cert, const char *path, char *err,
                         size_t errlen)
{
    mode_t old_mask = umask(0077);
    int rc = zcert_save_secret(cert, path);
    umask(old_mask);
    if (rc != 0 || chmod(path, 0600) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes the public certificate to path whole or not at all: written
 * beside it as tmp (in a directory the ZAP handler does not read, on the same
 * file system) and renamed, so a running controller never reads half of it. */
static int s_save_public(zcert_t *cert, const char *tmp, const char *path,
                         char *err, size_t errlen)
{
    if (zcert_save_public(cert, tmp) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int vfp_keys_init(const char *dir, bool force, char *err, size_t errlen)
{
    char public_path[4096], secret_path[4096 + 8];
    snprintf(public_path, sizeof(public_path), "%s/" VFP_KEYS_CONTROLLER, dir);
    snprintf(secret_path, sizeof(secret_path), "%s" VFP_KEYS_SECRET_SUFFIX,
             public_path);
    if (!force && (s_exists(public_path) || s_exists(secret_path))) {
        snprintf(err, errlen,
                 "%s already holds a controller key; --force replaces it "
                 "(every agent and admin then needs the new %s)",
                 dir, VFP_KEYS_CONTROLLER);
        return -1;
    }
    if (s_mkdirs(dir, err, errlen) != 0)
        return -1;
    zcert_t *cert = zcert_new();
    assert(cert);
    zcert_set_meta(cert, VFP_KEYS_META_NAME, "controller");
    zcert_set_meta(cert, VFP_KEYS_META_ROLE, "controller");
    char tmp[4096 + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", public_path);
    int rc = s_save_secret(cert, secret_path, err, errlen) == 0 &&
                     s_save_public(cert, tmp, public_path, err, errlen) == 0
                 ? 0
                 : -1;
    zcert_destroy(&cert);
    return rc;
}

static void s_key_path(const char *dir, vfp_keys_kind_t kind, const char *name,
                       char *path, size_t size)
{
    snprintf(path, size,
             "%s/" VFP_KEYS_AUTHORIZED "/%s/%s" VFP_KEYS_FILE_SUFFIX, dir,
             s_subdir[kind], name);
}

/* The name under which public_z85 is authorised, if any. */
static int s_authorised_as(const char *dir, const char *public_z85,
                           vfp_keys_entry_t *found, char *err, size_t errlen)
{
    vfp_keys_entry_t *entries = NULL;
    int count = vfp_keys_list(dir, &entries, err, errlen);
    int hit = 0;
    for (int i = 0; i < count && !hit; i++)
        if (strcmp(entries[i].public_z85, public_z85) == 0) {
            *found = entries[i];
            hit = 1;
        }
    free(entries);
    return count < 0 ? -1 : hit;
}

/* The certificate vfp_keys_add writes: imported or generated. */
static zcert_t *s_add_cert(const vfp_keys_add_t *add, char *err, size_t errlen)
{
    if (!add->public_z85)
        return zcert_new();
    uint8_t public_key[32];
    if (strlen(add->public_z85) != VFP_KEYS_Z85_LEN ||
        !zmq_z85_decode(public_key, add->public_z85)) {
        snprintf(err, errlen,
                 "--public: %s is not a Z85 public key (40 characters)",
                 add->public_z85);
        return NULL;
    }
    static const uint8_t no_secret[32];
    return zcert_new_from(public_key, no_secret);
}

/* What vfp_keys_add refuses before it writes anything. */
static int s_add_check(const char *dir, const vfp_keys_add_t *add,
                       const char *path, zcert_t *cert, char *err,
                       size_t errlen)
{
    char why[256];
    if (vfp_keys_name_check(add->name, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "invalid name %s: %s", add->name, why);
        return -1;
    }
    if (s_exists(path)) {
        snprintf(err, errlen, "%s %s already has a key (%s); revoke it first",
                 vfp_keys_kind_name(add->kind), add->name, path);
        return -1;
    }
    /* Only an imported key can be one already authorised: a generated
     * one is fresh from the random generator. Not looking spares reading
     * every certificate (thousands of hosts) for each key added. */
    vfp_keys_entry_t other;
    int taken = !add->public_z85 ? 0
                                 : s_authorised_as(dir, zcert_public_txt(cert),
                                                   &other, err, errlen);
    if (taken > 0)
        snprintf(err, errlen, "that public key is already authorised as %s %s",
                 vfp_keys_kind_name(other.kind), other.name);
    if (taken != 0)
        return -1;
    if (!add->public_z85 && s_exists(add->secret_out)) {
        snprintf(err, errlen, "%s exists; not overwritten", add->secret_out);
        return -1;
    }
    return 0;
}

int vfp_keys_add(const char *dir, const vfp_keys_add_t *add, char *err,
                 size_t errlen)
{
    char path[4096], tmp[4096 + 300];
    s_key_path(dir, add->kind, add->name, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s/.%s.key.tmp", dir, add->name);
    if (s_mkdirs(dir, err, errlen) != 0)
        return -1;
    zcert_t *cert = s_add_cert(add, err, errlen);
    if (!cert)
        return -1;
    zcert_set_meta(cert, VFP_KEYS_META_NAME, "%s", add->name);
    zcert_set_meta(cert, VFP_KEYS_META_ROLE, "%s", add->role);
    int rc = -1;
    if (s_add_check(dir, add, path, cert, err, errlen) == 0 &&
        (add->public_z85 ||
         s_save_secret(cert, add->secret_out, err, errlen) == 0))
        rc = s_save_public(cert, tmp, path, err, errlen);
    zcert_destroy(&cert);
    return rc;
}

int vfp_keys_revoke(const char *dir, const vfp_keys_kind_t *kind,
                    const char *name, char *err, size_t errlen)
{
    char why[256];
    if (vfp_keys_name_check(name, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "invalid name %s: %s", name, why);
        return -1;
    }
    char path[2][4096];
    int found = -1;
    for (int k = 0; k < 2; k++) {
        s_key_path(dir, (vfp_keys_kind_t)k, name, path[k], sizeof(path[k]));
        if ((kind && *kind != (vfp_keys_kind_t)k) || !s_exists(path[k]))
            continue;
        if (found >= 0) {
            snprintf(err, errlen,
                     "%s is both a host and an admin: say --host or --admin",
                     name);
            return -1;
        }
        found = k;
    }
    if (found < 0) {
        snprintf(err, errlen, "no %s key named %s in %s",
                 kind ? vfp_keys_kind_name(*kind) : "host or admin", name, dir);
        return -1;
    }
    if (unlink(path[found]) != 0) {
        snprintf(err, errlen, "cannot remove %s: %s", path[found],
                 strerror(errno));
        return -1;
    }
    return 0;
}

static int s_entry_compare(const void *a, const void *b)
{
    const vfp_keys_entry_t *x = a, *y = b;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    return strcmp(x->name, y->name);
}

int vfp_keys_read_entry(const char *path, vfp_keys_kind_t kind,
                        vfp_keys_entry_t *entry, char *err, size_t errlen)
{
    zcert_t *cert = vfp_keys_load_public(path, err, errlen);
    if (!cert)
        return -1;
    const char *name = zcert_meta(cert, VFP_KEYS_META_NAME);
    const char *role = zcert_meta(cert, VFP_KEYS_META_ROLE);
    *entry = (vfp_keys_entry_t){.kind = kind};
    snprintf(entry->name, sizeof(entry->name), "%s", name ? name : "");
    snprintf(entry->role, sizeof(entry->role), "%s", role ? role : "");
    snprintf(entry->public_z85, sizeof(entry->public_z85), "%s",
             zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

/* Appends the certificates of one kind's directory (absent: none). */
static int s_list_kind(const char *dir, vfp_keys_kind_t kind,
                       vfp_keys_entry_t **entries_p, int *count, char *err,
                       size_t errlen)
{
    char sub[4096];
    snprintf(sub, sizeof(sub), "%s/" VFP_KEYS_AUTHORIZED "/%s", dir,
             s_subdir[kind]);
    DIR *d = opendir(sub);
    if (!d && errno == ENOENT)
        return 0;
    if (!d) {
        snprintf(err, errlen, "cannot read %s: %s", sub, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", sub, e->d_name);
        *entries_p = realloc(*entries_p,
                             (size_t)(*count + 1) * sizeof(vfp_keys_entry_t));
        assert(*entries_p);
        rc =
            vfp_keys_read_entry(path, kind, &(*entries_p)[*count], err, errlen);
        if (rc == 0)
            (*count)++;
    }
    closedir(d);
    return rc;
}

int vfp_keys_list(const char *dir, vfp_keys_entry_t **entries_p, char *err,
                  size_t errlen)
{
    *entries_p = NULL;
    int count = 0;
    for (int k = 0; k < 2; k++)
        if (s_list_kind(dir, (vfp_keys_kind_t)k, entries_p, &count, err,
                        errlen) != 0) {
            free(*entries_p);
            *entries_p = NULL;
            return -1;
        }
    if (count > 0)
        qsort(*entries_p, (size_t)count, sizeof(vfp_keys_entry_t),
              s_entry_compare);
    return count;
}

void vfp_keys_stamp(const char *dir, vfp_keys_stamp_t *stamp)
{
    memset(stamp, 0, sizeof(*stamp));
    char path[4096];
    for (int i = 0; i < 3; i++) {
        if (i == 0)
            snprintf(path, sizeof(path), "%s/" VFP_KEYS_AUTHORIZED, dir);
        else
            snprintf(path, sizeof(path), "%s/" VFP_KEYS_AUTHORIZED "/%s", dir,
                     s_subdir[i - 1]);
        struct stat st;
        if (stat(path, &st) == 0)
            stamp->mtime[i] = st.st_mtim;
    }
}

bool vfp_keys_stamp_equal(const vfp_keys_stamp_t *a, const vfp_keys_stamp_t *b)
{
    for (int i = 0; i < 3; i++)
        if (a->mtime[i].tv_sec != b->mtime[i].tv_sec ||
            a->mtime[i].tv_nsec != b->mtime[i].tv_nsec)
            return false;
    return true;
}

void vfp_keys_peer(zframe_t *frame, vfp_keys_peer_t *peer)
{
    memset(peer, 0, sizeof(*peer));
    const char *user = frame ? zframe_meta(frame, "User-Id") : NULL;
    if (!user || !*user)
        return;
    const char *name = zframe_meta(frame, VFP_KEYS_META_NAME);
    const char *role = zframe_meta(frame, VFP_KEYS_META_ROLE);
    peer->keyed = true;
    snprintf(peer->public_z85, sizeof(peer->public_z85), "%s", user);
    snprintf(peer->name, sizeof(peer->name), "%s", name ? name : "");
    snprintf(peer->role, sizeof(peer->role), "%s", role ? role : "");
}

/* The frame limit on the wire is the message limit plus what encryption
 * adds; without it a message within VFP_MSG_MAX (or the admin socket's
 * VFP_REQUEST_MSG_MAX, which the largest REQUEST reaches) would close its
 * connection. */
static void s_allow_overhead(zsock_t *sock)
{
    int max = zsock_maxmsgsize(sock);
    if (max > 0)
        zsock_set_maxmsgsize(sock, max + VFP_KEYS_CURVE_OVERHEAD);
}

void vfp_keys_apply_server(zsock_t *sock, zcert_t *cert)
{
    s_allow_overhead(sock);
    zcert_apply(cert, sock);
    zsock_set_curve_server(sock, 1);
    zsock_set_zap_domain(sock, "vfleet");
}

void vfp_keys_apply_client(zsock_t *sock, zcert_t *cert, zcert_t *server)
{
    s_allow_overhead(sock);
    zcert_apply(cert, sock);
    zsock_set_curve_serverkey(sock, zcert_public_txt(server));
}
