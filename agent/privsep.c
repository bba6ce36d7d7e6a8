/* privsep.c - forks the privileged writer process and is the network
 * process's end of its channel. */
#include "privsep.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "privdrop.h"
#include "writer_msg.h"
#include "writer_serve.h"

struct privsep_t {
    int fd;
    pid_t pid; /* 0 once reaped */
    int status;
    uint64_t kernel_writes;
    char ready[256]; /* what the writer kept, as it said when up */
};

/* ---- the writer process ---------------------------------------------- */

/* Nothing of the network process's descriptors but the channel (as fd 3)
 * and stdin, stdout and stderr stays open in the writer. */
static int s_child_fds(int fd)
{
    if (fd != 3 && (dup2(fd, 3) < 0 || close(fd) < 0))
        return -1;
    return close_range(4, ~0U, 0);
}

/* The writer process's life: its privileges, its writer, READY, then
 * requests until the channel closes. Never returns. */
static void s_child(int fd, pid_t parent, const privsep_opts_t *opts)
{
    char why[256] = "";
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent)
        _exit(0);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    closelog(); /* its descriptor is about to be closed */
    if (s_child_fds(fd))
        _exit(1);
    fd = 3;
    vfp_log_init("vfleet-agent-writer", opts->log_level, opts->use_syslog);
    vf_writer_t *writer = NULL;
    if (privdrop_writer(why, sizeof(why)) == 0)
        writer = vf_writer_new_kernel(opts->sysfs_root, opts->kernel, why,
                                      sizeof(why));
    writer_msg_rep_t ready = {.type = WRITER_MSG_READY,
                              .len = sizeof(ready),
                              .refused = writer ? 0 : EIO};
    if (writer)
        snprintf(ready.why, sizeof(ready.why), "uid %u, %s",
                 (unsigned)geteuid(),
                 privdrop_effective() ? "CAP_NET_ADMIN" : "no capabilities");
    else
        snprintf(ready.why, sizeof(ready.why), "%s", why);
    if (send(fd, &ready, sizeof(ready), MSG_NOSIGNAL) < 0 || !writer)
        _exit(1);
    int rc = writer_serve_run(fd, writer);
    vf_writer_destroy(&writer);
    _exit(rc ? 1 : 0);
}

/* ---- the network process's end --------------------------------------- */

/* Sends req and receives its checked answer. 0, or -1 with why. */
static int s_call(privsep_t *self, const writer_msg_req_t *req,
                  writer_msg_rep_t *rep, char *why, size_t whylen)
{
    if (req && send(self->fd, req, sizeof(*req), MSG_NOSIGNAL) < 0) {
        snprintf(why, whylen, "writer process: %s", strerror(errno));
        return -1;
    }
    union {
        writer_msg_rep_t rep;
        unsigned char bytes[sizeof(writer_msg_rep_t) + 1];
    } in;
    ssize_t n;
    do
        n = recv(self->fd, &in, sizeof(in), MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        snprintf(why, whylen, "writer process: %s",
                 n ? strerror(errno) : "gone");
        return -1;
    }
    uint32_t type = req ? req->type : WRITER_MSG_READY;
    if (writer_msg_check_rep(&in, (size_t)n, type, why, whylen))
        return -1;
    *rep = in.rep;
    self->kernel_writes = rep->kernel_writes;
    return 0;
}

privsep_t *privsep_start(const privsep_opts_t *opts, char *why, size_t whylen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
        snprintf(why, whylen, "writer channel: %s", strerror(errno));
        return NULL;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        s_child(sv[1], parent, opts);
    }
    close(sv[1]);
    if (pid < 0) {
        snprintf(why, whylen, "writer process: fork: %s", strerror(errno));
        close(sv[0]);
        return NULL;
    }
    privsep_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->fd = sv[0];
    self->pid = pid;
    writer_msg_rep_t ready;
    int rc = s_call(self, NULL, &ready, why, whylen);
    if (rc == 0 && ready.refused) {
        snprintf(why, whylen, "writer process: %s", ready.why);
        rc = -1;
    }
    if (rc)
        privsep_destroy(&self);
    else
        snprintf(self->ready, sizeof(self->ready), "%s", ready.why);
    return self;
}

/* Reaps the writer, waiting up to a second for it to end by itself (it
 * does once the channel closes), then killing it. */
static void s_reap(privsep_t *self)
{
    for (int i = 0; self->pid && i <= 100; i++) {
        pid_t got = waitpid(self->pid, &self->status, i < 100 ? WNOHANG : 0);
        if (got == self->pid || (got < 0 && errno != EINTR))
            self->pid = 0;
        else if (i == 99)
            kill(self->pid, SIGKILL);
        else if (got == 0)
            nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
}

void privsep_destroy(privsep_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    privsep_t *self = *self_p;
    if (self->fd >= 0)
        close(self->fd);
    s_reap(self);
    free(self);
    *self_p = NULL;
}

int privsep_fd(const privsep_t *self)
{
    return self->fd;
}

pid_t privsep_pid(const privsep_t *self)
{
    return self->pid;
}

const char *privsep_writer_kept(const privsep_t *self)
{
    return self->ready;
}

void privsep_describe_exit(privsep_t *self, char *why, size_t whylen)
{
    pid_t pid = self->pid;
    s_reap(self);
    if (WIFSIGNALED(self->status))
        snprintf(why, whylen, "writer process %d killed by signal %d", (int)pid,
                 WTERMSIG(self->status));
    else
        snprintf(why, whylen, "writer process %d exited with status %d",
                 (int)pid, WEXITSTATUS(self->status));
}

uint64_t privsep_kernel_writes(const privsep_t *self)
{
    return self->kernel_writes;
}

/* ---- the writer's calls through the channel -------------------------- */

/* The answer to req, or its refusal or the channel's failure as an errno
 * with why ("writer refused: ..."). */
static int s_ask(privsep_t *self, const writer_msg_req_t *req,
                 writer_msg_rep_t *rep, char *why, size_t whylen)
{
    if (s_call(self, req, rep, why, whylen))
        return EPIPE;
    if (rep->refused) {
        snprintf(why, whylen, "writer refused: %s", rep->why);
        return rep->refused;
    }
    return 0;
}

static int s_apply_vf(void *ctx, const char *pf_ifname,
                      const vfp_apply_vf_t *desired, vfp_result_t *results,
                      size_t max_results, size_t *n_results)
{
    writer_msg_req_t req;
    writer_msg_rep_t rep;
    char why[400];
    writer_msg_apply_vf(&req, pf_ifname, desired);
    int err = s_ask(ctx, &req, &rep, why, sizeof(why));
    if (err) {
        *n_results = vf_writer_fail_vf(pf_ifname, desired, err, why, results,
                                       max_results);
        return -1;
    }
    size_t n = rep.result_count < max_results ? rep.result_count : max_results;
    memcpy(results, rep.results, n * sizeof(*results));
    *n_results = n;
    return rep.rc ? -1 : 0;
}

static int s_set_num_vfs(void *ctx, const char *pf_ifname, uint16_t num_vfs,
                         const bool *in_use, size_t in_use_len,
                         vfp_result_t *result)
{
    writer_msg_req_t req;
    writer_msg_rep_t rep;
    char why[400];
    writer_msg_num_vfs(&req, pf_ifname, num_vfs, in_use, in_use_len);
    int err = s_ask(ctx, &req, &rep, why, sizeof(why));
    if (err) {
        vf_writer_result(result, VFP_ITEM_NUM_VFS, pf_ifname, 0, "num_vfs", err,
                         "%s", why);
        return -1;
    }
    *result = rep.results[0];
    return rep.rc ? -1 : 0;
}

static int s_set_hugepages(void *ctx, uint32_t size_kb, uint64_t pages,
                           vfp_result_t *result)
{
    writer_msg_req_t req;
    writer_msg_rep_t rep;
    char why[400], attr[32];
    writer_msg_hugepages(&req, size_kb, pages);
    int err = s_ask(ctx, &req, &rep, why, sizeof(why));
    if (err) {
        snprintf(attr, sizeof(attr), "%ukB", size_kb);
        vf_writer_result(result, VFP_ITEM_HUGEPAGES, "", 0, attr, err, "%s",
                         why);
        return -1;
    }
    *result = rep.results[0];
    return rep.rc ? -1 : 0;
}

const vf_apply_ops_t privsep_apply_ops = {
    .apply_vf = s_apply_vf,
    .set_num_vfs = s_set_num_vfs,
    .set_hugepages = s_set_hugepages,
};
