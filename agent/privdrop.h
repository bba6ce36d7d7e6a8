/* privdrop.h - what each of the agent's two processes keeps of root: the
 * writer process CAP_NET_ADMIN (and uid 0), the network process nothing. */
#ifndef VFLEET_PRIVDROP_H
#define VFLEET_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The user the network process runs as when started as root. */
#define PRIVDROP_USER_DEFAULT "vfleet"

/* The writer process: keeps uid 0 (sriov_numvfs and nr_hugepages are
 * root-owned 0644 files, written as their owner) and of its capabilities
 * CAP_NET_ADMIN alone, when it has it; drops the others from the bounding
 * set when it may (CAP_SETPCAP), clears the ambient and inheritable sets,
 * and sets no_new_privs. Returns 0, or -1 with why. */
int privdrop_writer(char *why, size_t whylen);

/* The network process. Started as root: state_dir (created 0700 if
 * missing) and the files directly in it are given to `user`, then the
 * process changes to that user's uid and gid with no supplementary groups.
 * When the user does not exist: an error if user_given, else a warning and
 * the process keeps uid 0. Either way every capability is dropped and
 * no_new_privs set; not started as root, only that (logged at info).
 * Returns 0, or -1 with why. */
int privdrop_network(const char *user, bool user_given, const char *state_dir,
                     char *why, size_t whylen);

/* The effective capability set of this process (bit n: capability n). */
uint64_t privdrop_effective(void);

#endif
