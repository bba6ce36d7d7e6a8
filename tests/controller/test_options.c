/* test_options.c - unit tests for vfleet-controller's command line:
 * defaults, derived paths, durations and the errors it reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller.h"

static int s_parse(controller_config_t *cfg, char *err, size_t errlen, ...)
{
    char *argv[16] = {"vfleet-controller"};
    int argc = 1;
    va_list ap;
    va_start(ap, errlen);
    for (char *arg; (arg = va_arg(ap, char *)) != NULL && argc < 15;)
        argv[argc++] = arg;
    va_end(ap);
    err[0] = '\0';
    return controller_options_parse(argc, argv, cfg, err, errlen);
}

static void test_defaults(void **state)
{
    controller_config_t cfg;
    char err[256];
    assert_int_equal(s_parse(&cfg, err, sizeof(err), NULL), 0);
    assert_string_equal(cfg.agents_endpoint, "tcp://*:7450");
    assert_string_equal(cfg.state_dir, "/var/lib/vfleet");
    assert_string_equal(cfg.db_path, "/var/lib/vfleet/vfleet.db");
    assert_string_equal(cfg.admin_endpoint, "ipc:///var/lib/vfleet/admin.sock");
    assert_string_equal(cfg.keys_dir, "/var/lib/vfleet/keys");
    assert_int_equal(cfg.heartbeat_ms, 2000);
    assert_int_equal(cfg.dead_after, 3);
    assert_false(cfg.insecure);
    assert_int_equal(cfg.log_level, VFP_LOG_INFO);
    assert_false(cfg.use_syslog);
}

static void test_state_dir_moves_db_and_admin(void **state)
{
    controller_config_t cfg;
    char err[256];
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--state-dir", "/srv/vf",
                             "--insecure", "--syslog", "--log-level", "debug",
                             NULL),
                     0);
    assert_string_equal(cfg.db_path, "/srv/vf/vfleet.db");
    assert_string_equal(cfg.admin_endpoint, "ipc:///srv/vf/admin.sock");
    assert_string_equal(cfg.keys_dir, "/srv/vf/keys");
    assert_true(cfg.insecure);
    assert_true(cfg.use_syslog);
    assert_int_equal(cfg.log_level, VFP_LOG_DEBUG);
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--state-dir", "/srv/vf",
                             "--db", "/data/x.db", "--admin",
                             "tcp://127.0.0.1:7451", NULL),
                     0);
    assert_string_equal(cfg.db_path, "/data/x.db");
    assert_string_equal(cfg.admin_endpoint, "tcp://127.0.0.1:7451");
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--state-dir", "/srv/vf",
                             "--keys", "/etc/vfleet/keys", NULL),
                     0);
    assert_string_equal(cfg.keys_dir, "/etc/vfleet/keys");
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--keys", "", NULL), -1);
    assert_string_equal(err, "invalid path \"\" for --keys");
}

static void test_heartbeat_durations(void **state)
{
    controller_config_t cfg;
    char err[256];
    const struct {
        const char *text;
        uint32_t ms;
    } good[] = {{"2s", 2000}, {"500ms", 500}, {"1.5", 1500}, {"3", 3000}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(s_parse(&cfg, err, sizeof(err), "--heartbeat-interval",
                                 good[i].text, NULL),
                         0);
        assert_int_equal(cfg.heartbeat_ms, good[i].ms);
    }
    const char *bad[] = {"0", "-1s", "2m", "fast", "", "0.1ms", "3601s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(s_parse(&cfg, err, sizeof(err), "--heartbeat-interval",
                                 bad[i], NULL),
                         -1);
        assert_non_null(strstr(err, "invalid --heartbeat-interval"));
    }
}

static void test_errors_name_the_option(void **state)
{
    controller_config_t cfg;
    char err[256];
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--dead-after", "0", NULL),
                     -1);
    assert_non_null(strstr(err, "--dead-after \"0\""));
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--dead-after", "3x", NULL), -1);
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--log-level", "loud", NULL), -1);
    assert_non_null(strstr(err, "--log-level \"loud\""));
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--agents", "localhost", NULL), -1);
    assert_non_null(strstr(err, "endpoint \"localhost\" for --agents"));
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--bogus", NULL), -1);
    assert_non_null(strstr(err, "unknown option \"--bogus\""));
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--db", NULL), -1);
    assert_non_null(strstr(err, "--db needs a value"));
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "extra", NULL), -1);
    assert_non_null(strstr(err, "unexpected argument \"extra\""));
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--db", "", NULL), -1);
}

static void test_event_retention(void **state)
{
    controller_config_t cfg;
    char err[256];
    assert_int_equal(s_parse(&cfg, err, sizeof(err), NULL), 0);
    assert_int_equal(cfg.event_max_age_ms, 30LL * 86400000);
    assert_int_equal(cfg.event_max_count, 1000000);
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--event-max-age", "12h",
                             "--event-max-count", "500", NULL),
                     0);
    assert_int_equal(cfg.event_max_age_ms, 12LL * 3600000);
    assert_int_equal(cfg.event_max_count, 500);
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--event-max-age", "1y", NULL), -1);
    assert_non_null(strstr(err, "invalid --event-max-age \"1y\""));
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--event-max-count", "0", NULL), -1);
    assert_non_null(strstr(err, "invalid --event-max-count \"0\""));
}

/* Writes a configuration file; the caller unlinks it. */
static void s_write(char *path, const char *text)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* Defaults, then the file, then the command line. */
static void test_config_file_precedence(void **state)
{
    char path[] = "/tmp/vfleet-controller-conf-XXXXXX";
    s_write(path, "# test\n"
                  "insecure = true\n"
                  "state-dir = /srv/from-file\n"
                  "dead-after = 7\n"
                  "event-max-age = 2d\n"
                  "log-level = debug\n");
    controller_config_t cfg;
    char err[256];
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--config", path,
                             "--dead-after", "9", NULL),
                     0);
    assert_true(cfg.insecure);
    assert_string_equal(cfg.state_dir, "/srv/from-file");
    assert_string_equal(cfg.db_path, "/srv/from-file/vfleet.db");
    assert_int_equal(cfg.dead_after, 9);
    assert_int_equal(cfg.event_max_age_ms, 2LL * 86400000);
    assert_int_equal(cfg.log_level, VFP_LOG_DEBUG);
    assert_int_equal(cfg.heartbeat_ms, 2000);
    /* The command line wins wherever it appears relative to --config. */
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--log-level", "warn",
                             "--config", path, NULL),
                     0);
    assert_int_equal(cfg.log_level, VFP_LOG_WARN);
    assert_int_equal(cfg.dead_after, 7);
    unlink(path);
}

static void test_config_file_errors(void **state)
{
    char path[] = "/tmp/vfleet-controller-conf-XXXXXX";
    s_write(path, "insecure = true\n\ndead-after = 0\n");
    controller_config_t cfg;
    char err[512], want[512];
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--config", path, NULL),
                     -1);
    snprintf(want, sizeof(want),
             "%s:3: invalid --dead-after \"0\" (a number from 1 to 1000)",
             path);
    assert_string_equal(err, want);
    /* A bad file is reported even when the command line sets the key. */
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--config", path,
                             "--dead-after", "2", NULL),
                     -1);
    unlink(path);
    /* --help needs no readable file. */
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--config", path, "--version", NULL),
        1);
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--config", path, NULL),
                     -1);
    snprintf(want, sizeof(want), "cannot read %s: No such file or directory",
             path);
    assert_string_equal(err, want);
}

/* The per-peer limits: defaults, values, and refusals that name them. */
static void test_peer_limits(void **state)
{
    (void)state;
    controller_config_t cfg;
    char err[512];
    assert_int_equal(s_parse(&cfg, err, sizeof(err), NULL), 0);
    assert_int_equal(cfg.peer_queue, 4);
    assert_int_equal(cfg.peer_rate, 200);
    assert_int_equal(cfg.admin_rate, 1000);
    assert_int_equal(cfg.peer_bandwidth, 64);
    assert_int_equal(cfg.peer_timeout_ms, 30000);
    assert_int_equal(cfg.memory_max, 4096);
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--peer-queue", "2",
                             "--peer-rate", "50", "--admin-rate", "7",
                             "--peer-bandwidth", "1", "--peer-timeout",
                             "1500ms", "--memory-max", "0", NULL),
                     0);
    assert_int_equal(cfg.peer_queue, 2);
    assert_int_equal(cfg.peer_rate, 50);
    assert_int_equal(cfg.admin_rate, 7);
    assert_int_equal(cfg.peer_bandwidth, 1);
    assert_int_equal(cfg.peer_timeout_ms, 1500);
    assert_int_equal(cfg.memory_max, 0);
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--peer-queue", "0", NULL),
                     -1);
    assert_non_null(strstr(err, "--peer-queue \"0\" (a number from 1 to "
                                "10000)"));
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--peer-rate", "-5", NULL),
                     -1);
    assert_non_null(strstr(err, "--peer-rate \"-5\""));
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--peer-bandwidth", "4097", NULL), -1);
    assert_non_null(strstr(err, "--peer-bandwidth \"4097\""));
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--peer-timeout", "50ms", NULL), -1);
    assert_non_null(strstr(err, "--peer-timeout \"50ms\""));
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--memory-max", "x", NULL),
                     -1);
    assert_non_null(strstr(err, "--memory-max \"x\" (a number from 0 to "
                                "1048576)"));
}

/* --metrics: off by default, an endpoint kept as given, a bad one named. */
static void test_metrics_endpoint(void **state)
{
    (void)state;
    controller_config_t cfg;
    char err[512];
    assert_int_equal(s_parse(&cfg, err, sizeof(err), NULL), 0);
    assert_string_equal(cfg.metrics_endpoint, "");
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--metrics",
                             "tcp://127.0.0.1:9650/metrics", NULL),
                     0);
    assert_string_equal(cfg.metrics_endpoint, "tcp://127.0.0.1:9650/metrics");
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--metrics", "127.0.0.1:9650", NULL),
        -1);
    assert_non_null(strstr(err, "--metrics: invalid metrics endpoint "
                                "\"127.0.0.1:9650\" (tcp://HOST:PORT[/PATH]"));
}

/* --admin-group: a group name or number; an unknown one and a tcp admin
 * endpoint are errors that say so. */
static void test_admin_group(void **state)
{
    (void)state;
    controller_config_t cfg;
    char err[256];
    struct group *mine = getgrgid(getgid());
    assert_non_null(mine);
    char name[256];
    snprintf(name, sizeof(name), "%s", mine->gr_name);
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--admin-group", name, NULL), 0);
    assert_string_equal(cfg.admin_group, name);
    assert_int_equal(cfg.admin_gid, getgid());
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--admin-group", "4321", NULL), 0);
    assert_int_equal(cfg.admin_gid, 4321);
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--admin-group",
                             "no-such-group-vf", NULL),
                     -1);
    assert_string_equal(err,
                        "unknown group \"no-such-group-vf\" for --admin-group");
    assert_int_equal(s_parse(&cfg, err, sizeof(err), "--admin-group", name,
                             "--admin", "tcp://127.0.0.1:7451", NULL),
                     -1);
    assert_string_equal(err, "--admin-group is for an ipc:// admin endpoint, "
                             "not tcp://127.0.0.1:7451");
    assert_int_equal(s_parse(&cfg, err, sizeof(err), NULL), 0);
    assert_string_equal(cfg.admin_group, "");
}

/* --synchronous: normal by default, full asked for, anything else named. */
static void test_synchronous(void **state)
{
    (void)state;
    controller_config_t cfg;
    char err[512];
    assert_int_equal(s_parse(&cfg, err, sizeof(err), NULL), 0);
    assert_false(cfg.synchronous_full);
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--synchronous", "full", NULL), 0);
    assert_true(cfg.synchronous_full);
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--synchronous", "normal", NULL), 0);
    assert_false(cfg.synchronous_full);
    assert_int_equal(
        s_parse(&cfg, err, sizeof(err), "--synchronous", "FULL", NULL), -1);
    assert_string_equal(err, "invalid --synchronous \"FULL\" (normal or full)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_state_dir_moves_db_and_admin),
        cmocka_unit_test(test_heartbeat_durations),
        cmocka_unit_test(test_errors_name_the_option),
        cmocka_unit_test(test_event_retention),
        cmocka_unit_test(test_config_file_precedence),
        cmocka_unit_test(test_config_file_errors),
        cmocka_unit_test(test_peer_limits),
        cmocka_unit_test(test_metrics_endpoint),
        cmocka_unit_test(test_admin_group),
        cmocka_unit_test(test_synchronous),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
