/* controller.c - the daemon's life: state directory, database lock, sockets,
 * the event loop and a clean stop. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "admin_socket.h"
#include "agents.h"
#include "controller.h"
#include "controller_internal.h"
#include "host_admin.h"
#include "keyring.h"
#include "memory.h"
#include "peer_limit.h"
#include "policy_apply.h"
#include "rollout.h"
#include "sessions.h"
#include "stats.h"
#include "vfp_log.h"
#include "vfp_notify.h"
#include "vfp_transport.h"
#include "vm_admin.h"
#include "vm_index.h"
#include "vm_plan.h"

/* ZeroMQ I/O threads, and the one each socket's connections use
 * (ZMQ_AFFINITY bits): agents on the first, admin clients on the second,
 * so that a flood on the agents endpoint cannot delay the admin API. */
#define S_IO_THREADS 2
#define S_AGENTS_IO 1
#define S_ADMIN_IO 2

/* At most this many queued agent messages are handled per drain, so the
 * liveness timer is never starved by a flood. */
#define S_BATCH_MAX 256

/* A burst that has run this long stops at the next message when an admin
 * write waits, commits, and the drain goes on once the write is served:
 * one host's answer (its delta stored, its VMs settled) then holds a
 * client for about this long, not for the whole burst. */
#define S_YIELD_NS 200000

/* The agent socket is drained on a short timer rather than woken for every
 * message: thousands of heartbeats a second then cost a few wake-ups of
 * both the loop and ZeroMQ's I/O thread instead of one each, for at most
 * this much added latency. */
#define S_DRAIN_MS 5

/* The event log is trimmed by age this often, at most S_TRIM_BATCH rows
 * at a time: a backlog (a lowered --event-max-count) drains over many
 * ticks instead of holding the loop in one long DELETE. The count bound
 * is kept at insertion too (db_event_limit), which keeps up with any rate
 * of events, where S_TRIM_BATCH a second fell behind above some 250
 * placements a second. */
#define S_TRIM_MS 1000

/* The placement side's deferred plans run every S_DRAIN_MS for at most
 * this long (microseconds), and yield to waiting admin writes. */
#define S_BACKGROUND_US 1000

/* A host whose VMs changed is planned this long after the first change:
 * a burst of placements on one host (the pack strategy fills one host
 * after the other) then costs it one plan, one APPLY and one answer of
 * its agent, instead of one every S_DRAIN_MS. What it adds is the time
 * until the VF settings reach the host (vm.create --wait). */
#define S_PLAN_DELAY_MS 20

/* The database's WAL is checkpointed this often by a thread of its own;
 * the loop checkpoints only when the WAL grows beyond the backstop (pages
 * of 4 KiB: 64 MiB). */
#define S_CHECKPOINT_MS 200
#define S_WAL_BACKSTOP_PAGES 16384

/* VM writes that wait are committed together, at most this many, and no
 * more once their placements reach S_WRITE_VMS (a few vm.create.batch
 * requests would otherwise hold the loop, and their answers, for
 * seconds). */
#define S_WRITE_BATCH 64
#define S_WRITE_VMS 500
#define S_TRIM_BATCH 500

struct controller_t {
    controller_config_t cfg;
    char controller_id[VFP_NAME_MAX + 1];
    db_t *db;      /* the loop's connection: every write */
    db_t *db_read; /* the admin thread's read-only connection */
    db_checkpointer_t *checkpointer; /* WAL checkpoints off the loop */
    vfp_log_reminder_t insecure;     /* the --insecure warning, repeated */
    int lock_fd;
    memory_t *memory;   /* resident memory, read every S_DRAIN_MS */
    keyring_t *keyring; /* CURVE; NULL with --insecure */
    zsock_t *agents;
    zsock_t *admin;
    zloop_t *loop;
    sessions_t *sessions;
    agents_t *handlers;
    rollout_t *rollout;
    vm_index_t *vm_index; /* placement's view of free capacity */
    vm_admin_t *vm_admin; /* the VM and cordon verbs */
    admin_t *admin_handlers;
    peer_limit_t *agent_limits; /* the loop's */
    peer_limit_t *admin_limits; /* the admin thread's */
    admin_server_args_t server_args;
    zactor_t *server; /* serves the admin socket */
    int64_t started_ms;
    char ipc_path[4096]; /* admin ipc socket file, "" when tcp */
    bool started;        /* controller_new finished: a stop is recorded */
    bool memory_over;    /* --memory-max tripped; re-armed once below */
};

int64_t controller_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void controller_event(db_t *db, const char *kind, const char *host,
                      const char *fmt, ...)
{
    char message[VFP_TEXT_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    db_err_t err;
    if (db_event_add(db, controller_now_ms(), kind, host, message, &err) != 0)
        VFP_LOG_LIMITED(VFP_LOG_WARN, "cannot record event %s: %s", kind,
                        err.text);
}

int controller_lock(const char *db_path, int *fd_p, char *err, size_t errlen)
{
    char path[sizeof(((controller_config_t *)0)->db_path) + 8];
    snprintf(path, sizeof(path), "%s.lock", db_path);
    int fd = *fd_p = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open lock file %s: %s", path,
                 strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;
        char holder[32] = "";
        ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        if (saved == EWOULDBLOCK)
            snprintf(err, errlen,
                     "database %s is in use by another vfleet-controller "
                     "(pid %s, lock %s)",
                     db_path, holder[0] ? holder : "unknown", path);
        else
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(saved));
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
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

/* What a connection may hold, from the configuration; frames over
 * maxmsgsize close the connection. No ZMTP heartbeats: with the receive
 * high-water mark they let any peer abort libzmq 4.3.4 (vfp_transport.h).
 * A stalled connection holds at most its share of the memory bound
 * (docs/SECURITY.md); TCP keepalive closes those whose peer vanished. */
static void s_limit(zsock_t *sock, const controller_config_t *cfg,
                    int maxmsgsize)
{
    vfp_socket_limits_t limits = {
        .maxmsgsize = maxmsgsize,
        .rcvhwm = (int)cfg->peer_queue,
        .sndhwm = (int)cfg->peer_queue,
        .handshake_ms = (int)cfg->peer_timeout_ms,
    };
    vfp_socket_limit_set(sock, &limits);
    int idle_s = (int)(cfg->peer_timeout_ms + 999) / 1000;
    zsock_set_tcp_keepalive(sock, 1);
    zsock_set_tcp_keepalive_idle(sock, idle_s);
    zsock_set_tcp_keepalive_intvl(sock, idle_s);
    zsock_set_tcp_keepalive_cnt(sock, 3);
}

/* Binds a ROUTER; a CURVE server when curve is not NULL. */
static int s_bind(zsock_t **sock_p, const controller_config_t *cfg,
                  keyring_t *curve, const char *what, const char *endpoint,
                  int maxmsgsize, int io_thread, char *err, size_t errlen)
{
    *sock_p = zsock_new(ZMQ_ROUTER);
    assert(*sock_p);
    s_limit(*sock_p, cfg, maxmsgsize);
    if (curve)
        keyring_apply_server(curve, *sock_p);
    zsock_set_affinity(*sock_p, io_thread);
    /* An answer to a peer whose queue is full (it does not read) is
     * dropped, never queued without bound, and never blocks the loop. */
    zsock_set_router_mandatory(*sock_p, 0);
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

/* The agents socket. Reads never wait (receive timeout 0): a burst reads
 * until the queue is empty instead of asking libzmq before each message
 * whether one waits, which costs a system call per message. */
static int s_bind_agents(controller_t *self, char *err, size_t errlen)
{
    if (s_bind(&self->agents, &self->cfg, self->keyring, "agents",
               self->cfg.agents_endpoint, VFP_MSG_MAX, S_AGENTS_IO, err,
               errlen) != 0)
        return -1;
    zsock_set_rcvtimeo(self->agents, 0);
    return 0;
}

static peer_limit_t *s_peer_limit_new(const controller_config_t *cfg,
                                      const char *what, uint32_t rate)
{
    peer_limit_config_t limits = {
        .what = what,
        .msgs_per_s = rate,
        .bytes_per_s = (uint64_t)cfg->peer_bandwidth << 20,
        .table_max = PEER_LIMIT_TABLE_MAX,
    };
    return peer_limit_new(&limits);
}

static int s_vm_replan(void *arg, const char *host);
static void s_vm_answer(void *arg, zframe_t **client, vfp_msg_t **reply);

static void s_hook_state(void *arg, const char *host)
{
    controller_t *self = arg;
    vm_index_host_state(self->vm_index, host);
}

/* A host that joins is indexed at once; a delta only marks it stale. */
static void s_hook_inventory(void *arg, const char *host, bool full)
{
    controller_t *self = arg;
    if (full)
        vm_index_host_refresh(self->vm_index, host);
    else
        vm_index_host_stale(self->vm_index, host);
}

static bool s_hook_delta_matters(void *arg, const char *host,
                                 const vfp_inventory_delta_t *delta)
{
    controller_t *self = arg;
    return vm_index_delta_matters(self->vm_index, host, delta);
}

static void s_hook_result(void *arg, const char *host)
{
    controller_t *self = arg;
    vm_admin_result(self->vm_admin, host);
}

/* The placement index, built from the database, and the verbs over it;
 * agents keep it current. */
static int s_open_placement(controller_t *self, char *err, size_t errlen)
{
    self->vm_index = vm_index_new(self->db);
    db_err_t dberr;
    if (vm_index_load(self->vm_index, &dberr) != 0) {
        snprintf(err, errlen, "cannot build the placement index: %s",
                 dberr.text);
        return -1;
    }
    vm_admin_config_t vm_cfg = {.replan = s_vm_replan,
                                .answer = s_vm_answer,
                                .arg = self,
                                .plan_delay_ms = S_PLAN_DELAY_MS};
    self->vm_admin = vm_admin_new(self->db, self->vm_index, &vm_cfg);
    int recovered = vm_admin_recover(self->vm_admin, &dberr);
    if (recovered < 0) {
        snprintf(err, errlen, "cannot read the reserved VMs: %s", dberr.text);
        return -1;
    }
    if (recovered > 0)
        vfp_log_info("placement: %d hosts have reserved VMs not yet planned; "
                     "planning them",
                     recovered);
    agents_hooks_t hooks = {.host_state = s_hook_state,
                            .host_inventory = s_hook_inventory,
                            .delta_matters = s_hook_delta_matters,
                            .host_result = s_hook_result,
                            .arg = self};
    agents_set_hooks(self->handlers, &hooks);
    return 0;
}

/* Opens both database connections and builds the handlers over them. */
static int s_open(controller_t *self, char *err, size_t errlen)
{
    db_err_t dberr;
    self->db = db_open(self->cfg.db_path, &dberr);
    if (self->db && db_set_synchronous_full(
                        self->db, self->cfg.synchronous_full, &dberr) != 0)
        db_destroy(&self->db);
    if (self->db)
        self->db_read = db_open_readonly(self->cfg.db_path, &dberr);
    /* The loop never runs a checkpoint's fsync itself unless the thread
     * falls S_WAL_BACKSTOP_PAGES behind. */
    if (self->db && self->db_read &&
        db_wal_autocheckpoint(self->db, S_WAL_BACKSTOP_PAGES, &dberr) == 0)
        self->checkpointer =
            db_checkpointer_start(self->cfg.db_path, S_CHECKPOINT_MS, &dberr);
    if (!self->db || !self->db_read || !self->checkpointer) {
        snprintf(err, errlen, "%s", dberr.text);
        return -1;
    }
    db_event_limit(self->db, self->cfg.event_max_count);
    self->sessions = sessions_new();
    self->agent_limits =
        s_peer_limit_new(&self->cfg, "agent", self->cfg.peer_rate);
    self->admin_limits =
        s_peer_limit_new(&self->cfg, "admin client", self->cfg.admin_rate);
    agents_config_t agents_cfg = {.heartbeat_ms = self->cfg.heartbeat_ms,
                                  .dead_after = self->cfg.dead_after,
                                  .controller_id = self->controller_id,
                                  .limits = self->agent_limits,
                                  .keyed = self->keyring != NULL};
    self->handlers = agents_new(self->db, self->sessions, &agents_cfg);
    self->rollout = rollout_new(self->db, self->sessions, NULL);
    agents_set_rollout(self->handlers, self->rollout);
    admin_config_t admin_cfg = {.controller_id = self->controller_id,
                                .started_ms = self->started_ms,
                                .heartbeat_ms = self->cfg.heartbeat_ms};
    self->admin_handlers = admin_new(self->db_read, self->sessions, &admin_cfg);
    if (agents_load(self->handlers, err, errlen) != 0 ||
        rollout_load(self->rollout, err, errlen) != 0)
        return -1;
    return s_open_placement(self, err, errlen);
}

/* Binds the admin socket. The admin ipc socket is the admin credential:
 * only the owner may connect, from the moment it exists, and then the
 * --admin-group too. Over tcp, admin clients need a key (CURVE) unless
 * --insecure. */
static int s_bind_admin(controller_t *self, char *err, size_t errlen)
{
    const char *endpoint = self->cfg.admin_endpoint;
    if (strncmp(endpoint, "ipc://", 6) == 0)
        snprintf(self->ipc_path, sizeof(self->ipc_path), "%s", endpoint + 6);
    mode_t old_mask = umask(0077);
    keyring_t *curve = self->ipc_path[0] ? NULL : self->keyring;
    int rc = s_bind(&self->admin, &self->cfg, curve, "admin", endpoint,
                    VFP_REQUEST_MSG_MAX, S_ADMIN_IO, err, errlen);
    umask(old_mask);
    if (rc != 0)
        return -1;
    const gid_t *group = self->cfg.admin_group[0] ? &self->cfg.admin_gid : NULL;
    if (self->ipc_path[0] &&
        admin_socket_protect(self->ipc_path, self->cfg.state_dir, group, err,
                             errlen) != 0)
        return -1;
    return 0;
}

/* --insecure is said at start and again every hour, so it cannot scroll
 * out of an operator's sight. */
static void s_remind_insecure(controller_t *self)
{
    if (self->cfg.insecure)
        vfp_log_remind(
            &self->insecure, zclock_mono(),
            "running with --insecure: agents and admin clients are not "
            "authenticated");
}

/* The controller's keys and the authenticator, before any socket binds;
 * none with --insecure. */
static int s_keys(controller_t *self, char *err, size_t errlen)
{
    if (self->cfg.insecure)
        return 0;
    self->keyring = keyring_new(self->cfg.keys_dir, err, errlen);
    return self->keyring ? 0 : -1;
}

controller_t *controller_new(const controller_config_t *cfg, char *err,
                             size_t errlen)
{
    zsys_set_io_threads(S_IO_THREADS);
    controller_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->cfg = *cfg;
    self->lock_fd = -1;
    self->memory = memory_new();
    self->started_ms = controller_now_ms();
    char hostname[VFP_NAME_MAX + 1] = "controller";
    gethostname(hostname, sizeof(hostname) - 1);
    snprintf(self->controller_id, sizeof(self->controller_id), "%s", hostname);

    if (s_mkdir(cfg->state_dir, err, errlen) != 0 ||
        controller_lock(self->cfg.db_path, &self->lock_fd, err, errlen) != 0 ||
        s_keys(self, err, errlen) != 0 || s_open(self, err, errlen) != 0 ||
        s_bind_agents(self, err, errlen) != 0 ||
        s_bind_admin(self, err, errlen) != 0 ||
        (cfg->metrics_endpoint[0] &&
         stats_start(cfg->metrics_endpoint, cfg->db_path, err, errlen) != 0))
        goto fail;
    self->insecure.interval_ms = VFP_LOG_REMIND_MS;
    s_remind_insecure(self);
    vfp_log_info("controller %s: agents on %s, admin on %s, database %s, %s%s",
                 self->controller_id, cfg->agents_endpoint, cfg->admin_endpoint,
                 cfg->db_path, cfg->insecure ? "plaintext" : "CURVE keys in ",
                 cfg->insecure ? "" : cfg->keys_dir);
    controller_event(self->db, "controller-start", NULL, "vfleet-controller %s",
                     VFLEET_VERSION);
    self->started = true;
    return self;
fail:
    controller_destroy(&self);
    return NULL;
}

/* Sends what the handlers answered. */
static void s_send_all(controller_t *self, zlistx_t *out)
{
    for (agents_out_t *item = zlistx_first(out); item;
         item = zlistx_next(out)) {
        vfp_decode_error_t err;
        if (vfp_send(self->agents, item->to, item->msg, &err) == 0)
            continue;
        /* An agent that stops reading fills its queue: one line per
         * message it is sent would be its choice of log volume. */
        int errnum = errno;
        if (err.code != VFP_OK)
            VFP_LOG_LIMITED(VFP_LOG_WARN, "cannot encode %s: %s: %s",
                            vfp_id_name(item->msg->id), err.field, err.text);
        else
            VFP_LOG_LIMITED(VFP_LOG_WARN, "cannot send %s to an agent: %s",
                            vfp_id_name(item->msg->id), strerror(errnum));
    }
    zlistx_purge(out);
}

/* Whether a message came with a key no longer authorised (revoked while
 * its connection stays open): it is dropped unread. */
static bool s_key_revoked(controller_t *self, zframe_t *routing_id,
                          const vfp_keys_peer_t *key)
{
    if (!self->keyring ||
        keyring_authorised(self->keyring, key->keyed ? key->public_z85 : NULL))
        return false;
    peer_limit_warnx(self->agent_limits, routing_id,
                     "message from a key that is not authorised (revoked); "
                     "dropped");
    return true;
}

static bool s_admin_waiting(controller_t *self)
{
    return zsock_events(zactor_sock(self->server)) & ZMQ_POLLIN;
}

/* Handles up to `max` queued agent messages as one burst: one
 * transaction, then the answers. Returns how many were read; *yielded
 * says the burst ended early for an admin write (S_YIELD_NS). */
static int s_drain(controller_t *self, int max, bool *yielded)
{
    uint64_t started = stats_clock_ns();
    zlistx_t *out = agents_outbox_new();
    int count = 0;
    *yielded = false;
    while (count < max) {
        if (count > 0 && stats_clock_ns() - started >= S_YIELD_NS &&
            s_admin_waiting(self)) {
            *yielded = true;
            break;
        }
        zframe_t *routing_id = NULL;
        vfp_decode_error_t err;
        bool dropped;
        vfp_keys_peer_t key;
        vfp_msg_t *msg =
            peer_limit_recv_keyed(self->agent_limits, self->agents, &routing_id,
                                  &key, &err, &dropped);
        bool received = dropped || msg || err.code != VFP_OK;
        if (received && !dropped && s_key_revoked(self, routing_id, &key)) {
            vfp_msg_destroy(&msg);
            zframe_destroy(&routing_id);
            dropped = true;
        }
        if (msg || (received && !dropped))
            stats_agent_message(msg ? msg->id : 0);
        if (msg)
            agents_handle(self->handlers, routing_id, &key, msg, out);
        else if (received && routing_id)
            agents_handle_undecodable(self->handlers, routing_id, &err, out);
        vfp_msg_destroy(&msg);
        zframe_destroy(&routing_id);
        if (!received)
            break;
        count++;
    }
    /* A stop signal lets the burst finish and commit before the loop
     * ends. */
    agents_commit(self->handlers, out);
    s_send_all(self, out);
    zlistx_destroy(&out);
    /* Idle drains run every S_DRAIN_MS; only bursts are timed. */
    if (count > 0)
        stats_agent_burst(started);
    return count;
}

/* Closes the agents socket with every connection on it and binds it
 * again: libzmq cannot close one peer of a ROUTER. Agents reconnect and
 * say HELLO again (NOT_WELCOME); the admin API is untouched. */
static void s_rebind_agents(controller_t *self)
{
    zsock_destroy(&self->agents);
    malloc_trim(0);
    /* libzmq closes the old listener in its I/O thread, a moment later. */
    char err[512];
    for (int tries = 0; s_bind_agents(self, err, sizeof(err)) != 0; tries++) {
        zsock_destroy(&self->agents);
        if (tries == 500)
            vfp_fatalx("%s", err);
        zclock_sleep(10);
    }
}

static bool s_authorised(void *arg, const char *key)
{
    return keyring_authorised(arg, key);
}

/* Revocation without a restart: once the key directory changed, the
 * sessions of keys no longer authorised are forgotten, and their
 * connections closed by closing every agent connection (the cost: each
 * agent reconnects once per revocation of a connected key; the ZAP handler
 * refuses the revoked key's next handshake). */
static void s_keys_check(controller_t *self)
{
    if (!self->keyring || !keyring_refresh(self->keyring, zclock_mono()))
        return;
    size_t revoked = agents_revoke(self->handlers, s_authorised, self->keyring);
    if (revoked == 0)
        return;
    s_rebind_agents(self);
    vfp_log_warnx("%zu agent sessions' keys were revoked: closed every agent "
                  "connection; the others reconnect",
                  revoked);
}

/* The safety valve of --memory-max. libzmq bounds each frame and each
 * connection's queue in whole messages, but not the frames of one
 * multipart message that never ends: a peer can grow this process
 * without bound before any vfp message is read (docs/SECURITY.md). Past
 * the limit (counted once freed heap is handed back, memory.h), the agents
 * socket is closed with every connection on it and bound again; agents
 * reconnect and say HELLO again (NOT_WELCOME), the admin API is untouched. It
 * trips again only after the process was back under the limit: memory that
 * closing the agents' connections did not free must not turn into a loop of
 * reconnects. */
static void s_memory_check(controller_t *self)
{
    if (self->cfg.memory_max == 0) /* 0: no limit */
        return;
    uint64_t limit = (uint64_t)self->cfg.memory_max << 20;
    uint64_t rss = memory_check(self->memory, limit);
    if (rss <= limit || self->memory_over) {
        self->memory_over = rss > limit;
        return;
    }
    self->memory_over = true;
    s_rebind_agents(self);
    vfp_log_error("resident memory %llu MiB was over --memory-max %u MiB: "
                  "closed every agent connection (now %llu MiB)",
                  (unsigned long long)(rss >> 20), self->cfg.memory_max,
                  (unsigned long long)(memory_rss(self->memory) >> 20));
    controller_event(self->db, "controller-memory", NULL,
                     "resident memory %llu MiB over --memory-max %u MiB; "
                     "agent connections closed",
                     (unsigned long long)(rss >> 20), self->cfg.memory_max);
}

static int s_on_admin_write(zloop_t *loop, zsock_t *reader, void *arg);

/* Drains up to `max` queued agent messages in bursts, serving the admin
 * writes that wait between them; stops once the socket is empty. */
static void s_drain_serving(controller_t *self, zloop_t *loop, long max)
{
    long total = 0;
    while (total < max) {
        bool yielded;
        int want = max - total < S_BATCH_MAX ? (int)(max - total) : S_BATCH_MAX;
        int got = s_drain(self, want, &yielded);
        total += got;
        if (!yielded && got < S_BATCH_MAX)
            break;
        s_on_admin_write(loop, zactor_sock(self->server), self);
    }
}

static int s_on_drain(zloop_t *loop, int timer_id, void *arg)
{
    (void)timer_id;
    controller_t *self = arg;
    s_memory_check(self);
    s_keys_check(self);
    s_drain_serving(self, loop, S_BATCH_MAX);
    return 0;
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    s_remind_insecure(arg);
    (void)timer_id;
    controller_t *self = arg;
    /* Liveness is judged only on what has arrived: a heartbeat waiting in
     * the socket must not count as missed, so everything is drained first.
     * The bound only keeps a flood beyond the controller's capacity from
     * stopping the clock. Admin writes that arrive meanwhile are served
     * between bursts: a burst of agent answers (thousands of placements'
     * APPLYs) must not hold a client for seconds. */
    s_drain_serving(self, loop, 1000L * S_BATCH_MAX);
    agents_check_liveness(self->handlers, zclock_mono());
    zlistx_t *out = agents_outbox_new();
    rollout_tick(self->rollout, out);
    s_send_all(self, out);
    zlistx_destroy(&out);
    vm_admin_expire(self->vm_admin, zclock_mono());
    return 0;
}

/* Whether a write request asked for a dry run (nothing stored). */
static bool s_dry_run(const vfp_msg_t *request)
{
    const vfp_request_t *req = &request->u.request;
    for (uint32_t i = 0; i < req->param_count; i++)
        if (strcmp(req->params[i].key, "dry_run") == 0)
            return strcmp(req->params[i].value, "true") == 0;
    return false;
}

/* Hands the answer to a write request, started at started, to the admin
 * actor. Counted first: a client that scrapes the metrics once it has its
 * answer must find it counted. */
static void s_write_answer(zsock_t *reader, zframe_t **client,
                           vfp_msg_t **reply_p, const vfp_msg_t *request,
                           uint64_t started)
{
    stats_admin_request(request->u.request.verb, started);
    admin_write_answer(reader, client, reply_p);
}

/* policy.apply and policy.rollback: hosts whose desired state changed get
 * it, and hosts with drift are checked against the stored policy. */
static void s_policy_write(controller_t *self, zsock_t *reader,
                           zframe_t **client, const vfp_msg_t *request,
                           uint64_t started)
{
    policy_apply_changed_t changed = {0};
    vfp_msg_t *reply =
        policy_apply_handle(self->db, request, controller_now_ms(), &changed);
    bool ok =
        reply && reply->id == VFP_REPLY && reply->u.reply.status == VFP_OK;
    bool stored = ok && !s_dry_run(request);
    stats_policy_apply(!ok                       ? "refused"
                       : !stored                 ? "dry_run"
                       : changed.revision_stored ? "stored"
                                                 : "unchanged");
    s_write_answer(reader, client, &reply, request, started);
    zlistx_t *out = agents_outbox_new();
    if (changed.count > 0)
        vfp_log_info("%s: %zu hosts have a new desired state",
                     request->u.request.verb, changed.count);
    for (size_t i = 0; i < changed.count; i++)
        rollout_desired_changed(self->rollout, changed.hosts[i], out);
    if (stored) {
        rollout_policy_changed(self->rollout, out);
        vm_index_policy_changed(self->vm_index);
    }
    s_send_all(self, out);
    zlistx_destroy(&out);
    policy_apply_changed_clear(&changed);
}

typedef struct {
    controller_t *self;
    zlistx_t *out;
} s_replan_arg_t;

static bool s_replan(void *arg, const char *host)
{
    s_replan_arg_t *replan = arg;
    bool changed =
        rollout_replan(replan->self->rollout, host, "after a label change",
                       replan->out) == ROLLOUT_PLAN_CHANGED;
    vm_index_host_refresh(replan->self->vm_index, host);
    return changed;
}

/* A host whose VMs changed: planned and sent at once. */
static int s_vm_replan(void *arg, const char *host)
{
    controller_t *self = arg;
    zlistx_t *out = agents_outbox_new();
    rollout_plan_t planned =
        rollout_replan(self->rollout, host, "for its VMs", out);
    s_send_all(self, out);
    zlistx_destroy(&out);
    return (int)planned;
}

static void s_vm_answer(void *arg, zframe_t **client, vfp_msg_t **reply)
{
    controller_t *self = arg;
    admin_write_answer_later(zactor_sock(self->server), client, reply);
}

/* plan: the placement index is the main thread's. */
static void s_plan(controller_t *self, zsock_t *reader, zframe_t **client,
                   const vfp_msg_t *request, uint64_t started)
{
    vfp_msg_t *reply = vm_plan_handle(self->vm_index, request);
    s_write_answer(reader, client, &reply, request, started);
}

/* A reply a run of VM writes holds until its transaction commits, and
 * what the metrics count when it is answered. */
typedef struct {
    zframe_t *client;
    vfp_msg_t *reply;
    char verb[VFP_NAME_MAX + 1];
    uint64_t started;
} s_held_t;

/* The held replies of a run whose commit failed: nothing of it is
 * stored, each client is told so, and the placement index, which took
 * the run's decisions, is built again from the database. */
static void s_vm_writes_lost(controller_t *self, s_held_t *held, size_t count,
                             const db_err_t *err)
{
    VFP_LOG_LIMITED(VFP_LOG_ERROR, "cannot commit %zu VM writes: %s", count,
                    err->text);
    for (size_t i = 0; i < count; i++) {
        vfp_reply_t *r = &held[i].reply->u.reply;
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
        r->status = VFP_ERR_INTERNAL;
        snprintf(r->error, sizeof(r->error),
                 "the database could not store it; nothing was stored");
    }
    db_err_t lerr;
    if (vm_index_reload(self->vm_index, &lerr) != 0)
        vfp_log_error("cannot rebuild the placement index: %s", lerr.text);
}

/* The VM and cordon verbs: as many as wait, up to S_WRITE_BATCH, in one
 * transaction (group commit: each still all or nothing on its own), each
 * answered once it is committed (or parked until the agent confirms).
 * The hosts they changed are planned and sent later (s_on_background).
 * Returns a request of another kind received meanwhile, to run next. */
static vfp_msg_t *s_vm_writes(controller_t *self, zsock_t *reader,
                              zframe_t **client, vfp_msg_t *request,
                              zframe_t **next_client)
{
    s_held_t held[S_WRITE_BATCH];
    size_t count = 0;
    db_err_t err;
    bool batch = db_batch_begin(self->db, &err) == 0;
    vfp_msg_t *next = NULL;
    while (request) {
        uint64_t started = stats_clock_ns();
        vfp_msg_t *reply = vm_admin_handle(self->vm_admin, request, client);
        if (reply) {
            held[count] = (s_held_t){*client, reply, "", started};
            memcpy(held[count++].verb, request->u.request.verb,
                   sizeof(request->u.request.verb));
        } else {
            /* Parked until its VM settles: the answer comes later. */
            stats_admin_request(request->u.request.verb, started);
            admin_write_parked(reader);
        }
        *client = NULL;
        vfp_msg_destroy(&request);
        if (count == S_WRITE_BATCH ||
            vm_admin_decided(self->vm_admin) >= S_WRITE_VMS)
            break;
        /* NULL at once when no other write waits. */
        request = admin_write_recv(reader, client);
        if (request && !vm_admin_is_verb(request->u.request.verb)) {
            next = request;
            *next_client = *client;
            *client = NULL;
            request = NULL;
        }
    }
    size_t reserved = vm_admin_take_reserved(self->vm_admin);
    if (batch && db_batch_commit(self->db, &err) != 0)
        s_vm_writes_lost(self, held, count, &err);
    else
        while (reserved-- > 0)
            stats_placement("reserved", 0);
    /* Timed up to here: the answer waited for the group commit. */
    for (size_t i = 0; i < count; i++) {
        stats_admin_request(held[i].verb, held[i].started);
        admin_write_answer(reader, &held[i].client, &held[i].reply);
    }
    return next;
}

/* The placement side's deferred work: hosts whose VMs changed are planned
 * and sent, stale hosts re-indexed, at least one per tick, then while
 * no admin write waits and the tick's budget lasts. */
static int s_on_background(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    controller_t *self = arg;
    zsock_t *pipe = zactor_sock(self->server);
    int64_t end = zclock_usecs() + S_BACKGROUND_US;
    do {
        if (!vm_admin_flush_one(self->vm_admin, zclock_mono()) &&
            !vm_index_refresh_one(self->vm_index) &&
            !vm_admin_sweep_one(self->vm_admin))
            break;
    } while (zclock_usecs() < end && !(zsock_events(pipe) & ZMQ_POLLIN));
    return 0;
}

/* host.label: the host is planned with its new labels before the answer,
 * which says whether its desired state changed. */
static void s_host_write(controller_t *self, zsock_t *reader, zframe_t **client,
                         const vfp_msg_t *request, uint64_t started)
{
    s_replan_arg_t arg = {.self = self, .out = agents_outbox_new()};
    vfp_msg_t *reply = host_admin_handle(self->db, request, s_replan, &arg);
    s_write_answer(reader, client, &reply, request, started);
    s_send_all(self, arg.out);
    zlistx_destroy(&arg.out);
}

/* A write verb the admin actor forwarded: run on this thread, which owns
 * the write connection, and hand the REPLY back. */
static int s_on_admin_write(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    controller_t *self = arg;
    zframe_t *client = NULL;
    vfp_msg_t *request = admin_write_recv(reader, &client);
    while (request) {
        uint64_t started = stats_clock_ns();
        zframe_t *next_client = NULL;
        vfp_msg_t *next = NULL;
        if (vm_admin_is_verb(request->u.request.verb)) {
            next = s_vm_writes(self, reader, &client, request, &next_client);
            request = next;
            client = next_client;
            continue;
        }
        if (host_admin_is_verb(request->u.request.verb))
            s_host_write(self, reader, &client, request, started);
        else if (vm_plan_is_verb(request->u.request.verb))
            s_plan(self, reader, &client, request, started);
        else
            s_policy_write(self, reader, &client, request, started);
        vfp_msg_destroy(&request);
    }
    return 0;
}

/* Write requests the loop did not reach are answered before the admin
 * actor stops, so their clients do not wait out a timeout. */
static void s_refuse_queued_writes(controller_t *self)
{
    zsock_t *pipe = zactor_sock(self->server);
    while (zsock_events(pipe) & ZMQ_POLLIN) {
        zframe_t *client = NULL;
        vfp_msg_t *request = admin_write_recv(pipe, &client);
        if (!request)
            continue;
        uint64_t started = stats_clock_ns();
        vfp_msg_t *reply = vfp_msg_new(VFP_REPLY);
        reply->version = request->version;
        reply->request_id = request->request_id;
        reply->u.reply.status = VFP_ERR_INTERNAL;
        snprintf(reply->u.reply.error, sizeof(reply->u.reply.error),
                 "the controller is stopping; nothing was stored");
        s_write_answer(pipe, &client, &reply, request, started);
        vfp_msg_destroy(&request);
    }
}

static int s_on_trim(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    controller_t *self = arg;
    db_err_t err;
    int64_t before = controller_now_ms() - self->cfg.event_max_age_ms;
    if (db_event_trim(self->db, before, self->cfg.event_max_count, S_TRIM_BATCH,
                      &err) < 0)
        VFP_LOG_LIMITED(VFP_LOG_WARN, "cannot trim the event log: %s",
                        err.text);
    return 0;
}

static int s_on_watchdog(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    vfp_notify_watchdog();
    return 0;
}

/* The loop's timers and readers: draining agents, liveness, the event
 * log's retention, admin writes and, under systemd, the watchdog. */
static int s_timers(controller_t *self)
{
    /* Liveness is checked twice per interval, so a host is marked down at
     * most half an interval late. */
    size_t tick = self->cfg.heartbeat_ms / 2;
    if (tick < 10)
        tick = 10;
    int64_t watchdog_ms = vfp_notify_watchdog_interval_ms();
    if (zloop_timer(self->loop, S_DRAIN_MS, 0, s_on_drain, self) < 0 ||
        zloop_timer(self->loop, tick, 0, s_on_tick, self) < 0 ||
        zloop_timer(self->loop, S_TRIM_MS, 0, s_on_trim, self) < 0 ||
        zloop_timer(self->loop, S_DRAIN_MS, 0, s_on_background, self) < 0 ||
        zloop_reader(self->loop, zactor_sock(self->server), s_on_admin_write,
                     self) < 0)
        return -1;
    if (watchdog_ms > 0 && zloop_timer(self->loop, (size_t)watchdog_ms, 0,
                                       s_on_watchdog, self) < 0)
        return -1;
    return 0;
}

int controller_run(controller_t *self)
{
    self->server_args.sock = self->admin;
    self->server_args.admin = self->admin_handlers;
    self->server_args.limits = self->admin_limits;
    /* The admin endpoint is CURVE exactly when it is not ipc. */
    self->server_args.keys_dir =
        self->keyring && !self->ipc_path[0] ? keyring_dir(self->keyring) : NULL;
    self->server = zactor_new(admin_server_actor, &self->server_args);
    assert(self->server);
    self->loop = zloop_new();
    assert(self->loop);
    if (s_timers(self) != 0) {
        vfp_log_error("cannot set up the event loop");
        return -1;
    }
    vfp_notify_ready("serving agents and admin clients");
    zloop_start(self->loop);
    vfp_notify_stopping();
    vfp_log_info("stopping");
    return 0;
}

void controller_destroy(controller_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    controller_t *self = *self_p;
    /* The loop reads the actor's pipe: it goes first. */
    zloop_destroy(&self->loop);
    if (self->server) {
        s_refuse_queued_writes(self);
        vm_admin_destroy(&self->vm_admin);
    }
    zactor_destroy(&self->server);
    stats_stop();
    if (self->started) {
        agents_flush(self->handlers);
        controller_event(self->db, "controller-stop", NULL, "clean shutdown");
    }
    zsock_destroy(&self->admin);
    zsock_destroy(&self->agents);
    keyring_destroy(&self->keyring);
    admin_destroy(&self->admin_handlers);
    agents_destroy(&self->handlers);
    rollout_destroy(&self->rollout);
    vm_admin_destroy(&self->vm_admin);
    vm_index_destroy(&self->vm_index);
    peer_limit_destroy(&self->admin_limits);
    peer_limit_destroy(&self->agent_limits);
    sessions_destroy(&self->sessions);
    db_checkpointer_stop(&self->checkpointer);
    db_destroy(&self->db_read);
    db_destroy(&self->db);
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    memory_destroy(&self->memory);
    free(self);
    *self_p = NULL;
}
