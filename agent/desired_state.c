/* desired_state.c - the last APPLY on local disk, written atomically. */
#include "desired_state.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_TEMP_FILE ".desired.vfp.tmp"

static int s_path(char *buf, size_t len, const char *dir, const char *name,
                  char *err, size_t errlen)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len) {
        snprintf(err, errlen, "state directory path too long: %s", dir);
        return -1;
    }
    return 0;
}

int desired_state_dir_init(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST) {
        snprintf(err, errlen, "cannot create state directory %s: %s", dir,
                 strerror(errno));
        return -1;
    }
    if (stat(dir, &st)) {
        snprintf(err, errlen, "state directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "state directory %s is not a directory", dir);
        return -1;
    }
    return 0;
}

/* Writes all of data to fd; 0 or an errno. */
static int s_write_all(int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t w = write(fd, data, size);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        data += w;
        size -= (size_t)w;
    }
    return 0;
}

/* A rename is durable only once the directory entry is on disk too. */
static int s_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int err = fsync(fd) ? errno : 0;
    close(fd);
    return err;
}

int desired_state_save(const char *dir, const vfp_apply_t *apply, char *err,
                       size_t errlen)
{
    char temp[PATH_MAX], path[PATH_MAX];
    if (s_path(temp, sizeof(temp), dir, S_TEMP_FILE, err, errlen) ||
        s_path(path, sizeof(path), dir, DESIRED_STATE_FILE, err, errlen))
        return -1;
    /* The message does not own apply's lists here: it is never destroyed. */
    vfp_msg_t msg = {.id = VFP_APPLY, .version = VFP_VERSION};
    msg.u.apply = *apply;
    vfp_decode_error_t derr;
    uint8_t *data = NULL;
    size_t size = 0;
    if (vfp_encode(&msg, &data, &size, &derr)) {
        snprintf(err, errlen,
                 "desired state revision %llu does not encode: "
                 "%s: %s",
                 (unsigned long long)apply->revision, derr.field, derr.text);
        return -1;
    }
    /* The temporary name is ours: whatever holds it (a stale file, a FIFO
     * that would block the open) is removed, and O_EXCL makes sure the
     * file written is the one just created. */
    unlink(temp);
    int fd =
        open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int e = fd < 0 ? errno : s_write_all(fd, data, size);
    if (fd >= 0 && e == 0 && fsync(fd))
        e = errno;
    if (fd >= 0 && close(fd) && e == 0)
        e = errno;
    free(data);
    if (e) {
        snprintf(err, errlen, "cannot write %s: %s", temp, strerror(e));
        if (fd >= 0)
            unlink(temp);
        return -1;
    }
    if (rename(temp, path)) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", temp, path,
                 strerror(errno));
        unlink(temp);
        return -1;
    }
    if ((e = s_sync_dir(dir))) {
        snprintf(err, errlen, "cannot sync state directory %s: %s", dir,
                 strerror(e));
        return -1;
    }
    return 0;
}

/* Opens path for reading only when it is a regular file. O_NONBLOCK keeps
 * a FIFO (or a device) from blocking the open, O_NOFOLLOW keeps a link from
 * pointing the agent elsewhere; a regular file reads the same either way.
 * Returns the descriptor, or -1 with the reason in why (errno ENOENT when
 * there is no file). */
static int s_open_regular(const char *path, char *why, size_t whylen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whylen, "%s",
                 e == ELOOP ? "is a symbolic link, not a regular file"
                            : strerror(e));
        errno = e;
        return -1;
    }
    if (fstat(fd, &st)) {
        snprintf(why, whylen, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "is not a regular file but a %s; refused",
                 S_ISFIFO(st.st_mode)   ? "FIFO"
                 : S_ISDIR(st.st_mode)  ? "directory"
                 : S_ISCHR(st.st_mode)  ? "character device"
                 : S_ISBLK(st.st_mode)  ? "block device"
                 : S_ISSOCK(st.st_mode) ? "socket"
                                        : "special file");
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

/* Reads the whole of fd, at most VFP_MSG_MAX + 1 bytes (one more than any
 * message can be, so an oversized file is seen as such). 0 or an errno. */
static int s_read_all(int fd, uint8_t **data_p, size_t *size_p)
{
    size_t cap = 4096, size = 0;
    uint8_t *data = malloc(cap);
    assert(data);
    for (;;) {
        if (size == cap) {
            if (cap > VFP_MSG_MAX)
                break;
            cap *= 2;
            data = realloc(data, cap);
            assert(data);
        }
        ssize_t r = read(fd, data + size, cap - size);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(data);
            return e;
        }
        if (r == 0)
            break;
        size += (size_t)r;
    }
    *data_p = data;
    *size_p = size;
    return 0;
}

bool desired_state_revision_accepted(uint64_t stored, uint64_t incoming)
{
    return incoming == stored || vfp_revision_newer(incoming, stored);
}

int desired_state_load(const char *dir, bool quarantine, vfp_msg_t **msg_p,
                       char *err, size_t errlen)
{
    char path[PATH_MAX], aside[PATH_MAX], why[512];
    *msg_p = NULL;
    if (s_path(path, sizeof(path), dir, DESIRED_STATE_FILE, err, errlen) ||
        s_path(aside, sizeof(aside), dir, DESIRED_STATE_CORRUPT, err, errlen))
        return -1;
    uint8_t *data = NULL;
    size_t size = 0;
    int fd = s_open_regular(path, why, sizeof(why));
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0) {
        snprintf(err, errlen, "desired state %s %s", path, why);
        return -1;
    }
    int e = s_read_all(fd, &data, &size);
    close(fd);
    if (e) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
        return -1;
    }
    vfp_decode_error_t derr;
    vfp_msg_t *msg = vfp_decode(data, size, &derr);
    free(data);
    if (msg && msg->id == VFP_APPLY) {
        *msg_p = msg;
        return 1;
    }
    if (msg)
        snprintf(why, sizeof(why), "holds a %s message, not an APPLY",
                 vfp_id_name(msg->id));
    else
        snprintf(why, sizeof(why), "does not decode (%zu bytes): %s: %s", size,
                 derr.field, derr.text);
    vfp_msg_destroy(&msg);
    if (!quarantine)
        snprintf(err, errlen, "%s %s", path, why);
    else if (rename(path, aside))
        snprintf(err, errlen, "%s %s; moving it to %s failed: %s", path, why,
                 aside, strerror(errno));
    else
        snprintf(err, errlen, "%s %s; moved aside to %s", path, why, aside);
    return -1;
}
