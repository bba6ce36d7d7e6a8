/* admin_socket.h - the admin ipc socket's file permissions, which are
 * its only credential: mode 0600, or 0660 for one group (--admin-group). */
#ifndef VFLEET_ADMIN_SOCKET_H
#define VFLEET_ADMIN_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The group named by text (a group name, else a number as chown takes
 * it) in *gid. Returns -1 with the reason in err for an unknown group. */
int admin_socket_group(const char *text, gid_t *gid, char *err, size_t errlen);

/* Sets the mode of the bound ipc socket `path`: 0600 when group is NULL;
 * else 0660 with group *group, and when the socket lies in state_dir
 * (the default), that directory 0710 with the same group, so the group
 * can reach the socket but not list or read the state. Returns -1 with
 * the reason in err. */
int admin_socket_protect(const char *path, const char *state_dir,
                         const gid_t *group, char *err, size_t errlen);

#endif
