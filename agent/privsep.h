/* privsep.h - the agent's privilege separation: at start the process forks
 * a small writer process that alone keeps CAP_NET_ADMIN and writes the
 * kernel (writer_serve.h); this network process, which talks to the
 * controller and decodes its messages, then gives up root (privdrop.h)
 * and sends each APPLY item over a local channel (writer_msg.h). */
#ifndef VFLEET_PRIVSEP_H
#define VFLEET_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vf_apply.h"
#include "vf_kernel.h"
#include "vfp_log.h"

typedef struct privsep_t privsep_t;

typedef struct {
    const char *sysfs_root; /* the writer's, as vf_writer_new_kernel takes */
    vf_kernel_t kernel;
    vfp_log_level_t log_level; /* the writer logs as vfleet-agent-writer */
    bool use_syslog;
} privsep_opts_t;

/* Forks the writer process over a socketpair(AF_UNIX, SOCK_SEQPACKET) and
 * waits for it to say it is up. The writer closes every other descriptor,
 * ignores SIGINT, SIGTERM and SIGHUP (the network process stops it by
 * closing the channel), is killed should this process die
 * (PR_SET_PDEATHSIG), keeps only CAP_NET_ADMIN (privdrop_writer) and then
 * opens its vf_writer_t. Call it before this process has threads or other
 * sockets. Returns NULL with why when the writer is not up. */
privsep_t *privsep_start(const privsep_opts_t *opts, char *why, size_t whylen);

/* Closes the channel, which ends the writer, and reaps it. Accepts NULL;
 * sets *self_p to NULL. */
void privsep_destroy(privsep_t **self_p);

/* The channel's descriptor: it turns readable only when the writer is
 * gone (the writer never speaks unasked). */
int privsep_fd(const privsep_t *self);

pid_t privsep_pid(const privsep_t *self);

/* What the writer kept, as it said once up: "uid 0, CAP_NET_ADMIN", or
 * "uid 1000, no capabilities" when it had none to keep. */
const char *privsep_writer_kept(const privsep_t *self);

/* How the writer ended ("exited with status 1", "killed by signal 9"),
 * reaping it; call when privsep_fd turns readable. */
void privsep_describe_exit(privsep_t *self, char *why, size_t whylen);

/* The writer's vf_writer_kernel_writes as of its last answer. */
uint64_t privsep_kernel_writes(const privsep_t *self);

/* vf_apply_run_ops through the channel (ctx: a privsep_t). An item the
 * writer refuses, or one it cannot be asked (the writer gone), fails
 * with that errno and the reason, as vf_writer_fail_vf reports. */
extern const vf_apply_ops_t privsep_apply_ops;

#endif
