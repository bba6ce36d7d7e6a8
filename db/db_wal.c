/* db_wal.c - a VFS over SQLite's default one that hands the kernel a
 * commit's WAL frames in one write instead of two per frame. */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"

/* SQLite writes each WAL frame as its 24-byte header, then its page: a
 * reservation's dozen frames were some 25 write system calls, a sixth of
 * the controller's CPU with one client. Here the writes to a WAL file
 * that follow each other are gathered and written at once, no later than
 * when the page of a commit frame (one whose header carries the database
 * size) is written: that write returns the error of the whole, before
 * SQLite publishes the commit in the WAL index, so readers and a crash see
 * exactly what they saw before and a failed write fails the commit as
 * before. Anything else on the file (read, sync, size, truncate, close,
 * file control) writes what is gathered first. */
#define S_WAL_FRAME_HEADER 24
#define S_GATHER_MAX (1024 * 1024)

typedef struct {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, right after this */
    bool wal;
    bool commit_tail; /* the last frame header was a commit frame's */
    unsigned char *buf;
    size_t len, cap;
    sqlite3_int64 offset; /* where buf goes in the file */
} s_file_t;

static sqlite3_vfs *s_real;
static sqlite3_vfs s_vfs;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

/* The unix VFS masks each write's length with 0x1ffff: a write of
 * exactly 128 KiB would write nothing and report a full disk. */
#define S_WRITE_MAX 0x1f000

static int s_flush(s_file_t *f)
{
    int rc = SQLITE_OK;
    for (size_t done = 0; rc == SQLITE_OK && done < f->len;) {
        size_t amount =
            f->len - done < S_WRITE_MAX ? f->len - done : S_WRITE_MAX;
        rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)amount,
                                       f->offset + (sqlite3_int64)done);
        done += amount;
    }
    f->len = 0;
    return rc;
}

static int s_close(sqlite3_file *file)
{
    s_file_t *f = (s_file_t *)file;
    int rc = s_flush(f);
    int closed = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : closed;
}

static int s_read(sqlite3_file *file, void *data, int amount,
                  sqlite3_int64 offset)
{
    s_file_t *f = (s_file_t *)file;
    int rc = s_flush(f);
    return rc != SQLITE_OK
               ? rc
               : f->real->pMethods->xRead(f->real, data, amount, offset);
}

/* Appends a write that continues the gathered ones; 0, or -1 when it
 * does not continue them or would pass S_GATHER_MAX. */
static int s_gather(s_file_t *f, const void *data, int amount,
                    sqlite3_int64 offset)
{
    if (f->len > 0 && offset != f->offset + (sqlite3_int64)f->len)
        return -1;
    if (f->len + (size_t)amount > S_GATHER_MAX)
        return -1;
    if (f->len + (size_t)amount > f->cap) {
        size_t cap = f->cap ? f->cap : 64 * 1024;
        while (cap < f->len + (size_t)amount)
            cap *= 2;
        unsigned char *buf = realloc(f->buf, cap);
        if (!buf)
            return -1;
        f->buf = buf;
        f->cap = cap;
    }
    if (f->len == 0)
        f->offset = offset;
    memcpy(f->buf + f->len, data, (size_t)amount);
    f->len += (size_t)amount;
    return 0;
}

static int s_write(sqlite3_file *file, const void *data, int amount,
                   sqlite3_int64 offset)
{
    s_file_t *f = (s_file_t *)file;
    if (!f->wal)
        return f->real->pMethods->xWrite(f->real, data, amount, offset);
    bool header = amount == S_WAL_FRAME_HEADER;
    if (header) {
        const unsigned char *h = data;
        f->commit_tail = (h[4] | h[5] | h[6] | h[7]) != 0;
    }
    if (s_gather(f, data, amount, offset) != 0) {
        int rc = s_flush(f);
        if (rc != SQLITE_OK)
            return rc;
        if (s_gather(f, data, amount, offset) != 0)
            return f->real->pMethods->xWrite(f->real, data, amount, offset);
    }
    return f->commit_tail && !header ? s_flush(f) : SQLITE_OK;
}

static int s_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    s_file_t *f = (s_file_t *)file;
    int rc = s_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int s_sync(sqlite3_file *file, int flags)
{
    s_file_t *f = (s_file_t *)file;
    int rc = s_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int s_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    s_file_t *f = (s_file_t *)file;
    int rc = s_flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int s_lock(sqlite3_file *file, int level)
{
    s_file_t *f = (s_file_t *)file;
    return f->real->pMethods->xLock(f->real, level);
}

static int s_unlock(sqlite3_file *file, int level)
{
    s_file_t *f = (s_file_t *)file;
    return f->real->pMethods->xUnlock(f->real, level);
}

static int s_check_reserved_lock(sqlite3_file *file, int *out)
{
    s_file_t *f = (s_file_t *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int s_file_control(sqlite3_file *file, int op, void *arg)
{
    s_file_t *f = (s_file_t *)file;
    int rc = s_flush(f);
    return rc != SQLITE_OK ? rc
                           : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int s_sector_size(sqlite3_file *file)
{
    s_file_t *f = (s_file_t *)file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int s_device_characteristics(sqlite3_file *file)
{
    s_file_t *f = (s_file_t *)file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int s_shm_map(sqlite3_file *file, int page, int size, int extend,
                     void volatile **out)
{
    s_file_t *f = (s_file_t *)file;
    return f->real->pMethods->xShmMap(f->real, page, size, extend, out);
}

static int s_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    s_file_t *f = (s_file_t *)file;
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void s_shm_barrier(sqlite3_file *file)
{
    s_file_t *f = (s_file_t *)file;
    f->real->pMethods->xShmBarrier(f->real);
}

static int s_shm_unmap(sqlite3_file *file, int delete_flag)
{
    s_file_t *f = (s_file_t *)file;
    return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int s_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount,
                   void **out)
{
    s_file_t *f = (s_file_t *)file;
    int rc = s_flush(f);
    return rc != SQLITE_OK
               ? rc
               : f->real->pMethods->xFetch(f->real, offset, amount, out);
}

static int s_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page)
{
    s_file_t *f = (s_file_t *)file;
    return f->real->pMethods->xUnfetch(f->real, offset, page);
}

/* The methods of every version up to 3; a file gets the version of its
 * real file's methods, so SQLite asks this file for no more (shared
 * memory, memory maps) than the real one has. */
static sqlite3_io_methods s_methods[4];
static const sqlite3_io_methods s_methods_all = {
    .iVersion = 3,
    .xClose = s_close,
    .xRead = s_read,
    .xWrite = s_write,
    .xTruncate = s_truncate,
    .xSync = s_sync,
    .xFileSize = s_file_size,
    .xLock = s_lock,
    .xUnlock = s_unlock,
    .xCheckReservedLock = s_check_reserved_lock,
    .xFileControl = s_file_control,
    .xSectorSize = s_sector_size,
    .xDeviceCharacteristics = s_device_characteristics,
    .xShmMap = s_shm_map,
    .xShmLock = s_shm_lock,
    .xShmBarrier = s_shm_barrier,
    .xShmUnmap = s_shm_unmap,
    .xFetch = s_fetch,
    .xUnfetch = s_unfetch,
};

static int s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file,
                  int flags, int *out_flags)
{
    (void)vfs;
    s_file_t *f = (s_file_t *)file;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)(f + 1);
    f->wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = s_real->xOpen(s_real, name, f->real, flags, out_flags);
    /* SQLite closes a file whose methods are set, even after an error. */
    const sqlite3_io_methods *real = f->real->pMethods;
    int version = real ? real->iVersion : 0;
    f->base.pMethods = real ? &s_methods[version < 3 ? version : 3] : NULL;
    return rc;
}

static void s_register(void)
{
    for (int version = 1; version <= 3; version++) {
        s_methods[version] = s_methods_all;
        s_methods[version].iVersion = version;
    }
    s_real = sqlite3_vfs_find(NULL);
    assert(s_real && s_real->iVersion >= 3);
    s_vfs = *s_real;
    s_vfs.zName = "vfleet-wal";
    s_vfs.szOsFile = (int)sizeof(s_file_t) + s_real->szOsFile;
    s_vfs.xOpen = s_open;
    s_vfs.pNext = NULL;
    int rc = sqlite3_vfs_register(&s_vfs, 0);
    assert(rc == SQLITE_OK);
    (void)rc;
}

const char *db_wal_vfs(void)
{
    pthread_once(&s_once, s_register);
    return s_vfs.zName;
}
