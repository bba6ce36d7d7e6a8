/* admin_socket.c - the admin ipc socket's file permissions: the owner
 * only, or the owner and one group (vfleet-controller.8, --admin-group). */
#include "admin_socket.h"

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int admin_socket_group(const char *text, gid_t *gid, char *err, size_t errlen)
{
    struct group *entry = *text ? getgrnam(text) : NULL;
    if (entry) {
        *gid = entry->gr_gid;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long n = strtoul(text, &end, 10);
    if (*text >= '0' && *text <= '9' && !*end && !errno &&
        n < (unsigned long)UINT_MAX) {
        *gid = (gid_t)n;
        return 0;
    }
    snprintf(err, errlen, "unknown group \"%s\" for --admin-group", text);
    return -1;
}

/* Gives path group gid and the mode. */
static int s_chgrp(const char *what, const char *path, gid_t gid, mode_t mode,
                   char *err, size_t errlen)
{
    if (chown(path, (uid_t)-1, gid) != 0) {
        snprintf(err, errlen, "cannot give %s %s to group %lu: %s", what, path,
                 (unsigned long)gid, strerror(errno));
        return -1;
    }
    if (chmod(path, mode) != 0) {
        snprintf(err, errlen, "cannot set %s %s to mode %04o: %s", what, path,
                 (unsigned)mode, strerror(errno));
        return -1;
    }
    return 0;
}

/* Whether the directory holding path is state_dir (by inode, so that
 * "dir/" and "./dir" count). */
static bool s_in_dir(const char *path, const char *state_dir)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", path);
    struct stat parent, state;
    return stat(dirname(copy), &parent) == 0 && stat(state_dir, &state) == 0 &&
           parent.st_dev == state.st_dev && parent.st_ino == state.st_ino;
}

int admin_socket_protect(const char *path, const char *state_dir,
                         const gid_t *group, char *err, size_t errlen)
{
    if (!group) {
        if (chmod(path, 0600) == 0)
            return 0;
        snprintf(err, errlen, "cannot restrict %s to mode 0600: %s", path,
                 strerror(errno));
        return -1;
    }
    /* The directory first: the socket opens to the group last. */
    if (s_in_dir(path, state_dir) &&
        s_chgrp("state directory", state_dir, *group, 0710, err, errlen) != 0)
        return -1;
    return s_chgrp("admin socket", path, *group, 0660, err, errlen);
}
