/* controller.h - vfleet-controller: agent sessions, liveness and the admin
 * API around the inventory database. */
#ifndef VFLEET_CONTROLLER_H
#define VFLEET_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vfp_config.h"
#include "vfp_log.h"

#define CONTROLLER_CONFIG_DEFAULT VFP_CONFIG_DIR "/controller.conf"

/* Event retention defaults (--event-max-age, --event-max-count). */
#define CONTROLLER_EVENT_MAX_AGE_MS (30LL * 86400000LL)
#define CONTROLLER_EVENT_MAX_COUNT 1000000LL
#define CONTROLLER_EVENT_MAX_COUNT_LIMIT 1000000000LL

typedef struct {
    char agents_endpoint[256]; /* ROUTER for agents */
    char admin_endpoint[4352]; /* ROUTER for vfleetctl */
    char admin_group[256];     /* --admin-group as given; "" for none */
    gid_t admin_gid;           /* that group */
    char state_dir[4000];      /* leaves room for the file names inside */
    char db_path[4096];
    char keys_dir[4096];   /* --keys: CURVE key directory (README.md, Keys) */
    uint32_t heartbeat_ms; /* interval agents are told to use */
    uint32_t dead_after;   /* missed intervals before a host is down */
    bool insecure;         /* no CURVE: demo and tests only */
    /* What one peer may cost (docs/SECURITY.md, "Memory bound"). */
    uint32_t peer_queue;      /* messages queued per connection, each way */
    uint32_t peer_rate;       /* messages a second per agent connection */
    uint32_t admin_rate;      /* requests a second per admin connection */
    uint32_t peer_bandwidth;  /* MiB a second per peer */
    uint32_t peer_timeout_ms; /* handshake timeout, TCP keepalive idle */
    uint32_t memory_max;      /* MiB resident before agents are cut; 0 off */
    vfp_log_level_t log_level;
    bool use_syslog;
    int64_t event_max_age_ms;   /* events older than this are trimmed */
    int64_t event_max_count;    /* and all but the newest this many */
    char metrics_endpoint[256]; /* --metrics; "" serves none */
    bool synchronous_full;      /* --synchronous full: fsync every commit */
    char config_path[4096];     /* the configuration file read */
    bool config_given;          /* by --config: it must exist */
    char backup_file[4096];     /* --backup FILE: write a copy, then exit */
    char restore_file[4096];    /* --restore FILE: put it in place, exit */
} controller_config_t;

typedef struct controller_t controller_t;

/* Parses the command line into cfg: defaults, then the configuration file
 * (--config FILE, else CONTROLLER_CONFIG_DEFAULT if it exists), then the
 * command line, which wins. Returns 0 to run, 1 when --help or --version
 * was printed (exit 0), -1 on a usage or configuration error (message in
 * err, "FILE:LINE: ..." for the file; exit 2). */
int controller_options_parse(int argc, char **argv, controller_config_t *cfg,
                             char *err, size_t errlen);

/* Prints the usage text to stdout. */
void controller_usage(void);

/* One controller per database: an exclusive flock on DB.lock, held by the
 * process until it closes *fd_p or exits (released by the kernel even
 * after kill -9), with its pid written in the file. *fd_p is -1 or the
 * open file, to close, when the lock is refused (the holder's pid in
 * err). */
int controller_lock(const char *db_path, int *fd_p, char *err, size_t errlen);

/* --backup FILE, --restore FILE: the one-shot commands. Each prints what it
 * did on stdout and returns 0, or -1 with the reason in err (exit 1). */
int controller_backup(const controller_config_t *cfg, char *err, size_t errlen);
int controller_restore(const controller_config_t *cfg, char *err,
                       size_t errlen);

/* Creates the state directory, locks and opens the database, binds both
 * sockets. Returns NULL with the reason in err (the daemon exits 1). */
controller_t *controller_new(const controller_config_t *cfg, char *err,
                             size_t errlen);

/* Serves agents and admin clients until SIGINT/SIGTERM. Returns 0 on a
 * clean stop, -1 when the loop failed. */
int controller_run(controller_t *self);

/* Flushes liveness, records the stop, closes the db, releases the lock;
 * accepts NULL. */
void controller_destroy(controller_t **self_p);

#endif
