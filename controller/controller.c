/* controller.c - the daemon's life: state directory, database lock, sockets,
 * the event loop and a clean stop. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "controller_int.h"
#include "vfp_log.h"
#include "vfp_transport.h"

int64_t controller_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void controller_event(controller_t *self, const char *kind, const char *host,
                      const char *fmt, ...)
{
    char message[VFP_TEXT_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    db_err_t err;
    if (db_event_add(self->db, controller_now_ms(), kind, host, message,
                     &err) != 0)
        vfp_log_warnx("cannot record event %s: %s", kind, err.text);
}

/* One controller per database: an exclusive flock on DB.lock, held for the
 * process's life and released by the kernel even after kill -9. */
static int s_lock(controller_t *self, char *err, size_t errlen)
{
    char path[sizeof(self->cfg.db_path) + 8];
    snprintf(path, sizeof(path), "%s.lock", self->cfg.db_path);
    self->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->lock_fd < 0) {
        snprintf(err, errlen, "cannot open lock file %s: %s", path,
                 strerror(errno));
        return -1;
    }
    if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;
        char holder[32] = "";
        ssize_t n = pread(self->lock_fd, holder, sizeof(holder) - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        if (saved == EWOULDBLOCK)
            snprintf(err, errlen,
                     "database %s is in use by another vfleet-controller "
                     "(pid %s, lock %s)",
                     self->cfg.db_path, holder[0] ? holder : "unknown", path);
        else
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(saved));
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(self->lock_fd, 0) != 0 ||
        pwrite(self->lock_fd, pid, (size_t)len, 0) != len)
        vfp_log_warn("cannot write pid to %s", path);
    return 0;
}

static int s_mkdir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        snprintf(err, errlen, "state directory %s is not a directory", dir);
        return -1;
    }
    snprintf(err, errlen, "cannot create state directory %s: %s", dir,
             strerror(errno));
    return -1;
}

static int s_bind(zsock_t **sock_p, const char *what, const char *endpoint,
                  char *err, size_t errlen)
{
    *sock_p = zsock_new(ZMQ_ROUTER);
    assert(*sock_p);
    vfp_socket_limit(*sock_p);
    /* Peers that vanish must not leave unbounded queues behind. */
    zsock_set_router_mandatory(*sock_p, 0);
    zsock_set_sndhwm(*sock_p, 10000);
    zsock_set_linger(*sock_p, 0);
    /* Thousands of agents reconnect at once after a controller restart;
     * ZeroMQ's default backlog of 100 drops most of their SYNs and makes
     * them wait out TCP's retransmission timers. */
    zsock_set_backlog(*sock_p, 4096);
    if (zsock_bind(*sock_p, "%s", endpoint) < 0) {
        snprintf(err, errlen, "cannot bind the %s endpoint %s: %s", what,
                 endpoint, zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

controller_t *controller_new(const controller_config_t *cfg, char *err,
                             size_t errlen)
{
    if (!cfg->insecure) {
        snprintf(err, errlen,
                 "CURVE security is not available in this build; start with "
                 "--insecure to run without authentication (demo and tests "
                 "only)");
        return NULL;
    }
    controller_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->cfg = *cfg;
    self->lock_fd = -1;
    self->started_ms = controller_now_ms();
    char hostname[VFP_NAME_MAX + 1] = "controller";
    gethostname(hostname, sizeof(hostname) - 1);
    snprintf(self->controller_id, sizeof(self->controller_id), "%s", hostname);

    if (s_mkdir(cfg->state_dir, err, errlen) != 0 ||
        s_lock(self, err, errlen) != 0)
        goto fail;
    db_err_t dberr;
    self->db = db_open(cfg->db_path, &dberr);
    if (!self->db) {
        snprintf(err, errlen, "%s", dberr.text);
        goto fail;
    }
    if (agents_load(self, err, errlen) != 0 ||
        s_bind(&self->agents, "agents", cfg->agents_endpoint, err, errlen) != 0)
        goto fail;

    /* The admin ipc socket is the admin credential: only the owner may
     * connect, from the moment it exists. */
    if (strncmp(cfg->admin_endpoint, "ipc://", 6) == 0)
        snprintf(self->ipc_path, sizeof(self->ipc_path), "%s",
                 cfg->admin_endpoint + 6);
    mode_t old_mask = umask(0077);
    int rc = s_bind(&self->admin, "admin", cfg->admin_endpoint, err, errlen);
    umask(old_mask);
    if (rc != 0)
        goto fail;
    if (self->ipc_path[0] && chmod(self->ipc_path, 0600) != 0) {
        snprintf(err, errlen, "cannot restrict %s to mode 0600: %s",
                 self->ipc_path, strerror(errno));
        goto fail;
    }
    vfp_log_warnx("running with --insecure: agents and admin clients are not "
              "authenticated");
    vfp_log_info("controller %s: agents on %s, admin on %s, database %s",
             self->controller_id, cfg->agents_endpoint, cfg->admin_endpoint,
             cfg->db_path);
    controller_event(self, "controller-start", NULL, "vfleet-controller %s",
                     VFLEET_VERSION);
    self->started = true;
    return self;
fail:
    controller_destroy(&self);
    return NULL;
}

int controller_run(controller_t *self)
{
    self->loop = zloop_new();
    assert(self->loop);
    /* Liveness is checked twice per interval, so a host is marked down at
     * most half an interval late. */
    size_t tick = self->cfg.heartbeat_ms / 2;
    if (tick < 10)
        tick = 10;
    if (zloop_timer(self->loop, AGENTS_DRAIN_MS, 0, agents_on_drain, self) <
            0 ||
        zloop_reader(self->loop, self->admin, admin_on_message, self) != 0 ||
        zloop_timer(self->loop, tick, 0, agents_on_tick, self) < 0) {
        vfp_log_error("cannot set up the event loop");
        return -1;
    }
    zloop_start(self->loop);
    vfp_log_info("stopping");
    return 0;
}

void controller_destroy(controller_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    controller_t *self = *self_p;
    zloop_destroy(&self->loop);
    if (self->started) {
        agents_flush(self);
        controller_event(self, "controller-stop", NULL, "clean shutdown");
    }
    zsock_destroy(&self->admin);
    zsock_destroy(&self->agents);
    zhashx_destroy(&self->routes);
    zhashx_destroy(&self->hosts);
    db_destroy(&self->db);
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    free(self);
    *self_p = NULL;
}
