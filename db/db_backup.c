/* db_backup.c - a consistent copy of the database taken beside a running
 * controller (vfleet-controller --backup), and such a copy put back in
 * place of the database (--restore). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db_internal.h"

/* How long a copy waits for a busy source, in 10 ms steps. */
#define S_BUSY_STEPS 1000

/* Copies every page of src into dst with SQLite's online backup: one step
 * reads the whole source in one read transaction, a snapshot that the
 * controller's writes (WAL) neither block nor change. */
static int s_copy(db_t *src, db_t *dst, db_err_t *err)
{
    sqlite3_backup *copy =
        sqlite3_backup_init(dst->sql, "main", src->sql, "main");
    if (!copy) {
        db_set_error(dst, err, DB_ERR_IO, "starting the copy");
        return -1;
    }
    int rc, busy = 0;
    do {
        rc = sqlite3_backup_step(copy, -1);
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && busy++ < S_BUSY_STEPS)
            sqlite3_sleep(10);
        else if (rc != SQLITE_OK)
            break;
    } while (true);
    sqlite3_backup_finish(copy);
    if (rc != SQLITE_DONE) {
        db_errorf(err, DB_ERR_IO, "%s: copying into %s: %s", src->path,
                  dst->path, sqlite3_errstr(rc));
        return -1;
    }
    return 0;
}

/* Runs a pragma that answers one row; its first column in buf. */
static int s_pragma_text(db_t *self, const char *sql, char *buf, size_t len,
                         db_err_t *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(self->sql, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
        db_column_text(stmt, 0, buf, len);
    else
        rc = SQLITE_ERROR;
    if (rc != SQLITE_OK)
        db_errorf(err, DB_ERR_IO, "%s: %s: %s", self->path, sql,
                  sqlite3_errmsg(self->sql));
    sqlite3_finalize(stmt);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Whether self is an intact vfleet database that this build opens: a
 * schema version from 1 to DB_SCHEMA_VERSION, the hosts table, and
 * integrity_check "ok". The version in *version. */
static int s_check(db_t *self, int *version, db_err_t *err)
{
    char text[256];
    if (s_pragma_text(self, "PRAGMA user_version", text, sizeof(text), err))
        return -1;
    *version = atoi(text);
    if (*version < 1 || *version > DB_SCHEMA_VERSION) {
        db_errorf(err, DB_ERR_VERSION,
                  "%s: schema version %d is not one this vfleet-controller "
                  "opens (1 to %d)%s",
                  self->path, *version, DB_SCHEMA_VERSION,
                  *version > DB_SCHEMA_VERSION ? "; use a newer one" : "");
        return -1;
    }
    if (s_pragma_text(self,
                      "SELECT count(*) FROM sqlite_schema"
                      " WHERE type = 'table' AND name = 'hosts'",
                      text, sizeof(text), err) != 0)
        return -1;
    if (strcmp(text, "1") != 0) {
        db_errorf(err, DB_ERR_INVALID, "%s: not a vfleet database", self->path);
        return -1;
    }
    if (s_pragma_text(self, "PRAGMA integrity_check(1)", text, sizeof(text),
                      err) != 0)
        return -1;
    if (strcmp(text, "ok") != 0) {
        db_errorf(err, DB_ERR_INVALID, "%s: integrity_check: %s", self->path,
                  text);
        return -1;
    }
    return 0;
}

/* fsync of path, or of the directory holding it. */
static int s_sync(const char *path, bool dir, db_err_t *err)
{
    char copy[sizeof(((db_t *)0)->path) + 32];
    snprintf(copy, sizeof(copy), "%s", path);
    const char *name = dir ? dirname(copy) : copy;
    int fd = open(name, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    int rc = fd >= 0 ? fsync(fd) : -1;
    if (rc != 0)
        db_errorf(err, DB_ERR_IO, "%s: cannot sync: %s", name, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Copies src into the new file tmp (0600) as one self-contained file (no
 * WAL), checks the copy and syncs it. */
static int s_copy_checked(db_t *src, const char *tmp, int *version,
                          db_err_t *err)
{
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        db_errorf(err, DB_ERR_IO, "%s: cannot create: %s", tmp,
                  strerror(errno));
        return -1;
    }
    close(fd);
    char mode[32];
    db_t *dst = db_connect(tmp, SQLITE_OPEN_READWRITE, err);
    bool ok = dst && s_copy(src, dst, err) == 0 &&
              s_pragma_text(dst, "PRAGMA journal_mode=DELETE", mode,
                            sizeof(mode), err) == 0 &&
              s_check(dst, version, err) == 0;
    db_destroy(&dst);
    if (ok && s_sync(tmp, false, err) == 0)
        return 0;
    unlink(tmp);
    return -1;
}

/* Whether file is the database or one of the files beside it: renamed
 * over, it would be lost to the daemon that has it open. */
static bool s_is_database(const char *path, const char *file)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", ".lock"};
    struct stat target, st;
    if (stat(file, &target) != 0)
        return false;
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char side[sizeof(((db_t *)0)->path) + 8];
        snprintf(side, sizeof(side), "%s%s", path, suffixes[i]);
        if (stat(side, &st) == 0 && st.st_dev == target.st_dev &&
            st.st_ino == target.st_ino)
            return true;
    }
    return false;
}

int db_backup(const char *path, const char *file, int *version, db_err_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        db_errorf(err, DB_ERR_IO, "%s: no database: %s", path, strerror(errno));
        return -1;
    }
    if (s_is_database(path, file)) {
        db_errorf(err, DB_ERR_INVALID,
                  "%s is the database or a file beside it; write the copy "
                  "elsewhere",
                  file);
        return -1;
    }
    db_t *src = db_connect(path, SQLITE_OPEN_READONLY, err);
    if (!src)
        return -1;
    char tmp[sizeof(src->path) + 16];
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    int rc = s_copy_checked(src, tmp, version, err);
    db_destroy(&src);
    if (rc == 0 && rename(tmp, file) != 0) {
        db_errorf(err, DB_ERR_IO, "%s: cannot rename to %s: %s", tmp, file,
                  strerror(errno));
        unlink(tmp);
        rc = -1;
    }
    return rc == 0 ? s_sync(file, true, err) : -1;
}

/* Folds the replaced database's WAL into it and removes the WAL and its
 * index: left beside the restored file they would be replayed into it. A
 * database that does not open loses them unread. */
static void s_retire(const char *path)
{
    db_err_t ignored;
    db_t *old = db_connect(path, SQLITE_OPEN_READWRITE, &ignored);
    /* A connection finds the WAL only once it reads: checkpointing before
     * that does nothing, and the WAL would be removed unread. */
    char text[32];
    if (old && s_pragma_text(old, "PRAGMA user_version", text, sizeof(text),
                             &ignored) == 0)
        sqlite3_wal_checkpoint_v2(old->sql, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                  NULL, NULL);
    db_destroy(&old);
    char side[sizeof(((db_t *)0)->path) + 8];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

int db_restore(const char *path, const char *file, int *version, db_err_t *err)
{
    db_t *src = db_connect(file, SQLITE_OPEN_READONLY, err);
    if (!src)
        return -1;
    char tmp[sizeof(src->path) + 16], kept[sizeof(src->path) + 24];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    snprintf(kept, sizeof(kept), "%s.before-restore", path);
    /* The file is checked before the copy, for an error naming it; the
     * copy again, as written. */
    bool ok = s_check(src, version, err) == 0 &&
              s_copy_checked(src, tmp, version, err) == 0;
    db_destroy(&src);
    if (!ok)
        return -1;
    s_retire(path);
    unlink(kept);
    if ((link(path, kept) != 0 && errno != ENOENT) || rename(tmp, path) != 0) {
        db_errorf(err, DB_ERR_IO, "%s: cannot put %s in place: %s", path, tmp,
                  strerror(errno));
        unlink(tmp);
        return -1;
    }
    return s_sync(path, true, err);
}
