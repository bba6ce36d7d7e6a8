/* vfp_config.h - the daemons' configuration files: "key = value" lines
 * whose keys are the long options of the command line, turned into
 * arguments for the daemon's own option parser so that a value means the
 * same in both places. */
#ifndef VFLEET_VFP_CONFIG_H
#define VFLEET_VFP_CONFIG_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

/* Where the daemons look when no --config is given. */
#define VFP_CONFIG_DIR "/etc/vfleet"

typedef struct vfp_config_t vfp_config_t;

/* Reads PATH with inih. Each "key = value" must name a long option of
 * `options` (NULL-terminated, getopt_long's table) that is not in
 * `refused` (NULL-terminated names that only make sense on a command
 * line); a flag takes true/yes/on or false/no/off. A missing file is an
 * empty configuration unless `required`. Returns the configuration, or
 * NULL with "PATH:LINE: reason" (or "PATH: reason") in err. */
vfp_config_t *vfp_config_load(const char *path, bool required,
                              const struct option *options,
                              const char *const *refused, char *err,
                              size_t errlen);

/* The file's settings as a command line: argv[0] is the file name, then
 * one "--key=value" or "--flag" per setting in file order, then NULL. The
 * strings live as long as the configuration. */
int vfp_config_argc(const vfp_config_t *self);
char **vfp_config_argv(vfp_config_t *self);

/* Prefixes err (which holds a parser's message about argv[index]) with
 * "PATH:LINE: ". */
void vfp_config_blame(const vfp_config_t *self, int index, char *err,
                      size_t errlen);

/* Frees the configuration; accepts NULL. */
void vfp_config_destroy(vfp_config_t **self_p);

#endif
