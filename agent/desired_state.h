/* desired_state.h - the last desired state (APPLY) the agent received, kept
 * on local disk so the agent re-applies it after a restart. */
#ifndef VFLEET_DESIRED_STATE_H
#define VFLEET_DESIRED_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfp.h"

#define DESIRED_STATE_DIR "/var/lib/vfleet-agent"
#define DESIRED_STATE_FILE "desired.vfp"
#define DESIRED_STATE_CORRUPT "desired.vfp.corrupt"

/* Creates dir with mode 0700 when it is missing. Returns 0, or -1 with the
 * reason in err (dir exists but is not a directory, mkdir refused, ...). */
int desired_state_dir_init(const char *dir, char *err, size_t errlen);

/* Stores `apply` as one encoded APPLY message in dir/desired.vfp,
 * atomically: a temporary file in dir is written and fsync'd, renamed over
 * the old file, and dir is fsync'd. On failure the previous file is left
 * as it was. Returns 0, or -1 with the reason in err. */
int desired_state_save(const char *dir, const vfp_apply_t *apply, char *err,
                       size_t errlen);

/* Whether an APPLY with revision `incoming` may replace the stored one
 * with revision `stored`: the same revision (applied again) or a newer
 * one (vfp_revision_newer). */
bool desired_state_revision_accepted(uint64_t stored, uint64_t incoming);

/* Loads dir/desired.vfp. Returns 1 and *msg_p (an APPLY message; the
 * caller destroys it) when the file holds one, 0 when there is no file,
 * and -1 with the reason in err when it cannot be read or does not decode
 * to an APPLY. A desired.vfp that is not a regular file (a FIFO, a
 * device, a directory, a symbolic link) is refused at once, never opened
 * for a blocking read, and left where it is. With quarantine, a file that does
 * not decode is renamed to dir/desired.vfp.corrupt (err says so) so it is never
 * used again. */
int desired_state_load(const char *dir, bool quarantine, vfp_msg_t **msg_p,
                       char *err, size_t errlen);

#endif
