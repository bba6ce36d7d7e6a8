/* keyset.c - the authorised public keys of a key directory, kept in step
 * with it. A re-read looks at every file's inode, size and time and reads
 * only the certificates that are new or changed, so that a change costs
 * a directory listing, not thousands of certificates parsed. */
#include "keyset.h"

#include <assert.h>
#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vfp_log.h"

/* One certificate file as last read. */
typedef struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    vfp_keys_entry_t entry;
} s_file_t;

struct keyset_t {
    char dir[4096];
    zhashx_t *files; /* "hosts/NAME.key" -> s_file_t (owned) */
    zhashx_t *keys;  /* Z85 public key -> s_file_t (of files) */
    zhashx_t *bad;   /* files that are not certificates, warned once */
    vfp_keys_stamp_t stamp;
    int64_t checked_mono;
    bool reread; /* by a lookup, not yet told by keyset_refresh */
};

static void s_file_free(void **item)
{
    free(*item);
    *item = NULL;
}

static zhashx_t *s_files_new(void)
{
    zhashx_t *files = zhashx_new();
    assert(files);
    zhashx_set_destructor(files, s_file_free);
    zhashx_set_duplicator(files, NULL);
    return files;
}

static bool s_same(const s_file_t *f, const struct stat *st)
{
    return f->dev == st->st_dev && f->ino == st->st_ino &&
           f->size == st->st_size && f->mtime.tv_sec == st->st_mtim.tv_sec &&
           f->mtime.tv_nsec == st->st_mtim.tv_nsec &&
           f->ctime.tv_sec == st->st_ctim.tv_sec &&
           f->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* The file `rel` at path into files: taken over from the previous read
 * when it is unchanged, else read. Returns false when it could not be
 * read (warned once per file). */
static bool s_take(keyset_t *self, zhashx_t *files, const char *rel,
                   const char *path, vfp_keys_kind_t kind)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return true;
    s_file_t *old = zhashx_lookup(self->files, rel);
    s_file_t *f = calloc(1, sizeof(*f));
    assert(f);
    if (old && s_same(old, &st)) {
        *f = *old;
        zhashx_insert(files, rel, f);
        return true;
    }
    char err[1024];
    if (vfp_keys_read_entry(path, kind, &f->entry, err, sizeof(err)) != 0) {
        free(f);
        if (zhashx_insert(self->bad, rel, "") == 0)
            vfp_log_warnx("key directory: %s", err);
        return false;
    }
    zhashx_delete(self->bad, rel);
    *f = (s_file_t){.dev = st.st_dev,
                    .ino = st.st_ino,
                    .size = st.st_size,
                    .mtime = st.st_mtim,
                    .ctime = st.st_ctim,
                    .entry = f->entry};
    zhashx_insert(files, rel, f);
    return true;
}

/* The certificates of one kind's folder into files (absent: none).
 * Returns false when some file or the folder could not be read. */
static bool s_read_kind(keyset_t *self, zhashx_t *files, vfp_keys_kind_t kind)
{
    char sub[4200];
    const char *kind_dir = vfp_keys_kind_dir(kind);
    snprintf(sub, sizeof(sub), "%s/" VFP_KEYS_AUTHORIZED "/%s", self->dir,
             kind_dir);
    DIR *d = opendir(sub);
    if (!d) {
        if (errno != ENOENT)
            vfp_log_warnx("cannot read the authorised keys in %s: %s", sub,
                          strerror(errno));
        return errno == ENOENT;
    }
    bool all = true;
    for (struct dirent *e; (e = readdir(d));) {
        /* Dot files are vfleetctl's files being written. */
        if (e->d_name[0] == '.')
            continue;
        char rel[512], path[8192];
        snprintf(rel, sizeof(rel), "%s/%s", kind_dir, e->d_name);
        snprintf(path, sizeof(path), "%s/%s", sub, e->d_name);
        all &= s_take(self, files, rel, path, kind);
    }
    closedir(d);
    return all;
}

/* Reads the directory again. A file that cannot be read is left out and
 * the stamp forgotten, so the next check reads it again (a certificate
 * copied in may have been read half-written). */
static void s_load(keyset_t *self)
{
    zhashx_t *files = s_files_new();
    bool all = s_read_kind(self, files, VFP_KEYS_HOST);
    all &= s_read_kind(self, files, VFP_KEYS_ADMIN);
    zhashx_destroy(&self->files);
    self->files = files;
    zhashx_purge(self->keys);
    for (s_file_t *f = zhashx_first(files); f; f = zhashx_next(files))
        zhashx_update(self->keys, f->entry.public_z85, f);
    if (!all)
        memset(&self->stamp, 0, sizeof(self->stamp));
}

keyset_t *keyset_new(const char *dir, int64_t now_mono)
{
    keyset_t *self = calloc(1, sizeof(*self));
    assert(self);
    snprintf(self->dir, sizeof(self->dir), "%s", dir);
    self->files = s_files_new();
    self->keys = zhashx_new();
    self->bad = zhashx_new();
    assert(self->keys && self->bad);
    zhashx_set_destructor(self->keys, NULL);
    zhashx_set_duplicator(self->keys, NULL);
    zhashx_set_destructor(self->bad, NULL);
    zhashx_set_duplicator(self->bad, NULL);
    vfp_keys_stamp(dir, &self->stamp);
    self->checked_mono = now_mono;
    s_load(self);
    return self;
}

void keyset_destroy(keyset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    keyset_t *self = *self_p;
    zhashx_destroy(&self->keys);
    zhashx_destroy(&self->files);
    zhashx_destroy(&self->bad);
    free(self);
    *self_p = NULL;
}

/* Whether a directory of the stamp changed less than S_RECENT_NS ago. A
 * directory's time moves in clock ticks, so a second change within the
 * same tick leaves the stamp as it was: such a stamp is not trusted. */
#define S_RECENT_NS (50 * 1000 * 1000LL)
static bool s_recent(const vfp_keys_stamp_t *stamp)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    for (size_t i = 0; i < sizeof(stamp->mtime) / sizeof(*stamp->mtime); i++) {
        long long age = (now.tv_sec - stamp->mtime[i].tv_sec) * 1000000000LL +
                        (now.tv_nsec - stamp->mtime[i].tv_nsec);
        if (age < S_RECENT_NS)
            return true;
    }
    return false;
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
    if (s_recent(&stamp))
        memset(&self->stamp, 0, sizeof(self->stamp));
    return true;
}

bool keyset_recheck(keyset_t *self)
{
    return s_reload_if_changed(self);
}

bool keyset_refresh(keyset_t *self, int64_t now_mono)
{
    bool reread = self->reread;
    if (now_mono - self->checked_mono >= KEYSET_CHECK_MS) {
        self->checked_mono = now_mono;
        reread |= s_reload_if_changed(self);
    }
    self->reread = false;
    return reread;
}

const vfp_keys_entry_t *keyset_lookup(keyset_t *self, const char *public_z85)
{
    if (!public_z85)
        return NULL;
    s_file_t *f = zhashx_lookup(self->keys, public_z85);
    /* A key added since the last read must not look revoked (or unknown)
     * until the next one. */
    if (!f && s_reload_if_changed(self)) {
        /* That read may have dropped revoked keys too: the next refresh
         * says so, for their sessions to be closed. */
        self->reread = true;
        f = zhashx_lookup(self->keys, public_z85);
    }
    return f ? &f->entry : NULL;
}

bool keyset_authorised(keyset_t *self, const char *public_z85)
{
    return keyset_lookup(self, public_z85) != NULL;
}

size_t keyset_size(const keyset_t *self)
{
    return zhashx_size(self->keys);
}
