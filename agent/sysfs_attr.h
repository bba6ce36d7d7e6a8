/* sysfs_attr.h - reading sysfs/procfs attributes and links with reasons. */
#ifndef VFLEET_SYSFS_ATTR_H
#define VFLEET_SYSFS_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every reader returns 0, or -1 with a one-line reason in why[0..whylen)
 * that names the file and what was wrong ("sriov_numvfs: not a number:
 * 'x1'"). The reason never contains the root, so expected outputs of
 * recorded trees do not depend on where a test put the tree. */

/* Reads a whole small attribute, strips trailing whitespace. */
int sysfs_attr_read_str(const char *dir, const char *name, char *buf,
                        size_t len, char *why, size_t whylen);

/* Reads a decimal integer in [min, max]. */
int sysfs_attr_read_long(const char *dir, const char *name, long min, long max,
                         long *value, char *why, size_t whylen);

/* Reads an unsigned number in base 16 written as "0x1af4" or bare "1af4". */
int sysfs_attr_read_hex(const char *dir, const char *name, unsigned long max,
                        unsigned long *value, char *why, size_t whylen);

/* Reads the last path component of symlink dir/name (e.g. the driver name
 * of a "driver" link). Works on dangling links. */
int sysfs_attr_link_target(const char *dir, const char *name, char *buf,
                           size_t len, char *why, size_t whylen);

/* True when dir/name exists (following links). */
bool sysfs_attr_exists(const char *dir, const char *name);

/* Sorted list of entry names in a directory (no "." or ".."). Returns the
 * count, or -1 with why set. *names_p is a NULL-terminated array the caller
 * frees with sysfs_attr_names_free. When numeric_suffix_of is non-NULL, only
 * names starting with it and followed by digits are kept, ordered by number
 * ("virtfn2" before "virtfn10"); otherwise they are ordered with strcmp. */
int sysfs_attr_dir_list(const char *dir, const char *numeric_suffix_of,
                        char ***names_p, char *why, size_t whylen);
void sysfs_attr_names_free(char ***names_p);

#endif
