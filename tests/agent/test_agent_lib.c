/* test_agent_lib.c - inventory deltas, the printer and the command line. */
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/test_capture.h"

#include "agent_cli.h"
#include "discover.h"
#include "inventory_diff.h"
#include "inventory_print.h"
#include "output.h"
#include "vf_drift.h"
#include "vfp_keys.h"
#include "vfp_log.h"

/* Two PFs with two VFs each, as discovery would fill them. */
static void s_inventory(vfp_inventory_t *inv)
{
    memset(inv, 0, sizeof(*inv));
    snprintf(inv->host.hostname, sizeof(inv->host.hostname), "hv1");
    inv->host.mem_total_kb = 1000000;
    inv->host.mem_available_kb = 800000;
    inv->pf_count = 2;
    inv->pfs = calloc(2, sizeof(*inv->pfs));
    for (int p = 0; p < 2; p++) {
        vfp_pf_t *pf = &inv->pfs[p];
        snprintf(pf->pci_addr, sizeof(pf->pci_addr), "0000:05:00.%d", p);
        snprintf(pf->ifname, sizeof(pf->ifname), "ens2f%d", p);
        pf->numa_node = -1;
        pf->num_vfs = pf->total_vfs = 2;
        pf->vf_count = 2;
        pf->vfs = calloc(2, sizeof(*pf->vfs));
        for (int v = 0; v < 2; v++) {
            pf->vfs[v].index = (uint16_t)v;
            pf->vfs[v].iommu_group = 30 + v;
            pf->vfs[v].iommu_isolated = true;
            pf->vfs[v].settings_known = true;
            pf->vfs[v].spoofchk = VFP_ON;
            pf->vfs[v].trust = VFP_OFF;
        }
    }
}

static void test_diff_nothing(void **state)
{
    vfp_inventory_t a, b;
    vfp_inventory_delta_t delta = {0};
    s_inventory(&a);
    s_inventory(&b);
    b.host.mem_available_kb += 1000; /* a wobble, not a change */
    assert_false(inventory_diff(&a, &b, &delta));
    assert_int_equal(delta.pf_count, 0);
    inventory_diff_delta_clear(&delta);
    discover_inventory_clear(&a);
    discover_inventory_clear(&b);
}

static void test_diff_vf_and_host(void **state)
{
    vfp_inventory_t a, b;
    vfp_inventory_delta_t delta = {0};
    s_inventory(&a);
    s_inventory(&b);
    b.pfs[1].vfs[1].vlan = 100;
    b.host.mem_available_kb = 100000;
    assert_true(inventory_diff(&a, &b, &delta));
    assert_true(delta.has_host);
    assert_int_equal(delta.host.mem_available_kb, 100000);
    assert_int_equal(delta.pf_count, 1);
    assert_string_equal(delta.pfs[0].pci_addr, "0000:05:00.1");
    assert_int_equal(delta.pfs[0].vf_count, 2);
    assert_int_equal(delta.pfs[0].vfs[1].vlan, 100);
    assert_int_equal(delta.removed_count, 0);
    /* the delta encodes: it is a valid protocol message */
    vfp_msg_t *msg = vfp_msg_new(VFP_INVENTORY_DELTA);
    msg->u.delta = delta;
    msg->u.delta.base_generation = 1;
    msg->u.delta.generation = 2;
    vfp_decode_error_t err;
    assert_int_equal(vfp_validate(msg, &err), 0);
    vfp_msg_destroy(&msg); /* owns and frees the delta's arrays */
    discover_inventory_clear(&a);
    discover_inventory_clear(&b);
}

/* Each VF setting the controller compares with its desired state (drift)
 * changed alone makes a delta carrying that VF's PF: a VF set by hand is
 * reported at the next rescan. */
static void test_diff_each_vf_setting(void **state)
{
    (void)state;
    for (int field = 0; field < 9; field++) {
        vfp_inventory_t a, b;
        vfp_inventory_delta_t delta = {0};
        s_inventory(&a);
        s_inventory(&b);
        vfp_vf_t *vf = &b.pfs[1].vfs[0];
        switch (field) {
        case 0:
            vf->mac[5] = 1;
            break;
        case 1:
            vf->vlan = 7;
            break;
        case 2:
            vf->qos = 2;
            break;
        case 3:
            vf->vlan_proto = VFP_VLAN_PROTO_8021AD;
            break;
        case 4:
            vf->spoofchk = VFP_OFF;
            break;
        case 5:
            vf->trust = VFP_ON;
            break;
        case 6:
            vf->link_state = VFP_LINK_DISABLE;
            break;
        case 7:
            vf->min_tx_rate = 10;
            break;
        default:
            vf->max_tx_rate = 100;
            break;
        }
        assert_true(inventory_diff(&a, &b, &delta));
        assert_int_equal(delta.pf_count, 1);
        assert_string_equal(delta.pfs[0].pci_addr, "0000:05:00.1");
        assert_int_equal(delta.removed_count, 0);
        inventory_diff_delta_clear(&delta);
        discover_inventory_clear(&a);
        discover_inventory_clear(&b);
    }
}

static void test_diff_removed_and_added(void **state)
{
    vfp_inventory_t a, b;
    vfp_inventory_delta_t delta = {0};
    s_inventory(&a);
    s_inventory(&b);
    snprintf(b.pfs[0].pci_addr, sizeof(b.pfs[0].pci_addr), "0000:06:00.0");
    assert_true(inventory_diff(&a, &b, &delta));
    assert_false(delta.has_host);
    assert_int_equal(delta.pf_count, 1);
    assert_string_equal(delta.pfs[0].pci_addr, "0000:06:00.0");
    assert_int_equal(delta.removed_count, 1);
    assert_string_equal(delta.removed[0], "0000:05:00.0");
    inventory_diff_delta_clear(&delta);
    assert_null(delta.pfs);
    discover_inventory_clear(&a);
    discover_inventory_clear(&b);
}

static void test_copy_is_deep(void **state)
{
    vfp_inventory_t a, b;
    s_inventory(&a);
    inventory_diff_copy(&b, &a);
    a.pfs[0].vfs[0].vlan = 5;
    assert_int_equal(b.pfs[0].vfs[0].vlan, 0);
    assert_true(a.pfs != b.pfs && a.pfs[0].vfs != b.pfs[0].vfs);
    discover_inventory_clear(&a);
    discover_inventory_clear(&b);
}

static char *s_print(const vfp_inventory_t *inv, bool json)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    output_t *out = output_new(f, json);
    inventory_print(out, inv, NULL);
    output_destroy(&out);
    fclose(f);
    return text;
}

static void test_print_table_and_json(void **state)
{
    vfp_inventory_t inv;
    s_inventory(&inv);
    inv.pfs[0].vfs[1].vlan = 1000;
    inv.pfs[0].vfs[1].qos = 3;
    inv.pfs[0].vfs[1].mac[0] = 0xfa;
    inv.pfs[0].vfs[1].link_state = VFP_LINK_DISABLE;
    inv.pfs[1].vfs[0].settings_known = false;
    char *table = s_print(&inv, false);
    assert_non_null(strstr(table, "    vf 1 driver none iommu_group 31 "
                                  "isolated\n        mac fa:00:00:00:00:00, "
                                  "vlan 1000, qos 3, vlan-protocol 802.1Q, "
                                  "spoofchk on, trust off, "
                                  "link-state disable, min_tx_rate 0, "
                                  "max_tx_rate 0\n"));
    assert_non_null(strstr(table, "settings unknown"));
    free(table);

    char *text = s_print(&inv, true);
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    assert_non_null(doc);
    json_t *vf = json_array_get(
        json_object_get(json_array_get(json_object_get(doc, "pfs"), 0), "vfs"),
        1);
    assert_int_equal(json_integer_value(json_object_get(vf, "vlan")), 1000);
    assert_string_equal(json_string_value(json_object_get(vf, "link_state")),
                        "disable");
    /* PROTOCOL.md and ADMIN.md spell it link_state: no "link-state" key. */
    assert_null(json_object_get(vf, "link-state"));
    assert_string_equal(json_string_value(json_object_get(vf, "vlan_protocol")),
                        "802.1Q");
    assert_string_equal(json_string_value(json_object_get(vf, "mac")),
                        "fa:00:00:00:00:00");
    assert_true(json_is_false(json_object_get(
        json_object_get(json_object_get(doc, "host"), "iommu"), "ready")));
    json_decref(doc);
    free(text);
    discover_inventory_clear(&inv);
}

static int s_parse(agent_cli_t *cli, char *err, ...)
{
    char *argv[16] = {"vfleet-agent"};
    int argc = 1;
    va_list ap;
    va_start(ap, err);
    for (char *a; (a = va_arg(ap, char *)) && argc < 15;)
        argv[argc++] = a;
    va_end(ap);
    return agent_cli_parse(argc, argv, cli, err, 256);
}

static void test_cli(void **state)
{
    agent_cli_t cli;
    char err[256];
    assert_int_equal(s_parse(&cli, err, "--discover", "--json", NULL), 0);
    assert_int_equal(cli.mode, AGENT_DISCOVER);
    assert_true(cli.json);
    assert_string_equal(cli.session.state_dir, "/var/lib/vfleet-agent");
    assert_false(cli.state_dir_given);
    assert_int_equal(
        s_parse(&cli, err, "--discover", "--state-dir", "/srv/st", NULL), 0);
    assert_string_equal(cli.session.state_dir, "/srv/st");
    assert_true(cli.state_dir_given);
    assert_int_equal(s_parse(&cli, err, "--discover", "--state-dir", "", NULL),
                     -1);
    assert_string_equal(err, "--state-dir: empty directory name");
    assert_int_equal(s_parse(&cli, err, "--controller", "tcp://c:7450", NULL),
                     -1);
    assert_non_null(strstr(err, "/etc/vfleet/agent.key_secret"));
    assert_non_null(strstr(err, "--insecure"));
    assert_int_equal(s_parse(&cli, err, "--controller", "tcp://c:7450",
                             "--insecure", "--heartbeat-interval", "250ms",
                             "--rescan", "3", "--hostname", "hv9", NULL),
                     0);
    assert_int_equal(cli.mode, AGENT_RUN);
    assert_int_equal(cli.session.heartbeat_ms, 250);
    assert_int_equal(cli.session.rescan_ms, 3000);
    assert_string_equal(cli.warning, "");
    assert_string_equal(cli.session.discover.hostname, "hv9");
    assert_int_equal(s_parse(&cli, err, "--controller", "tcp://c:7450",
                             "--insecure", "--heartbeat-interval", "2s",
                             "--rescan", "1.5s", NULL),
                     0);
    assert_int_equal(cli.session.heartbeat_ms, 2000);
    assert_int_equal(cli.session.rescan_ms, 1500);
    /* The old spelling still works, with a warning to say it is old. */
    assert_int_equal(s_parse(&cli, err, "--controller", "tcp://c:7450",
                             "--insecure", "--heartbeat", "0.25", NULL),
                     0);
    assert_int_equal(cli.session.heartbeat_ms, 250);
    assert_string_equal(cli.warning, "--heartbeat is deprecated; use "
                                     "--heartbeat-interval 0.25");
    assert_int_equal(s_parse(&cli, err, "--controller", "tcp://c:7450",
                             "--insecure", "--heartbeat-interval", "fast",
                             NULL),
                     -1);
    assert_string_equal(err,
                        "--heartbeat-interval: 'fast' is not a time such "
                        "as 2s, 500ms or 1.5 (seconds), from 1ms to 3600s");
    assert_int_equal(s_parse(&cli, err, "--controller", "tcp://c:7450",
                             "--insecure", "--heartbeat", "2h", NULL),
                     -1);
    assert_non_null(strstr(err, "--heartbeat: '2h' is not a time"));
    assert_int_equal(
        s_parse(&cli, err, "--discover", "--heartbeat-interval", "1s", NULL),
        -1);
    assert_string_equal(err, "--discover takes no --heartbeat-interval: it is "
                             "an option of a run with a controller");
    assert_int_equal(s_parse(&cli, err, "--discover", "--key", "/etc/k", NULL),
                     -1);
    assert_non_null(strstr(err, "--discover takes no --key:"));
    assert_int_equal(s_parse(&cli, err, "--bogus", NULL), -1);
    assert_string_equal(err, "unknown option '--bogus'");
    assert_int_equal(s_parse(&cli, err, "--controller", NULL), -1);
    assert_string_equal(err, "option --controller needs a value");
    assert_int_equal(
        s_parse(&cli, err, "--controller", "ipc:///x", "--insecure", NULL), -1);
    assert_int_equal(s_parse(&cli, err, NULL), -1);
}

/* --controller: a host and a port of 1 to 65535, refused at once rather
 * than retried in silence by libzmq. */
static void test_cli_controller_endpoint(void **state)
{
    static const char *const bad[] = {
        "tcp://", "tcp://ctl", "tcp://:7450", "tcp://ctl:0", "tcp://ctl:65536",
        "tcp://ctl:99999", "tcp://ctl:74a",
        "tcp://ctl:", "tcp://ctl:0000007450", "udp://ctl:7450",
        /* a host libzmq cannot connect to */
        "tcp://*:7450", "tcp://bad_host!:7450", "tcp://-ctl:7450",
        "tcp://[]:7450", "tcp://[::1:7450", NULL};
    static const char *const good[] = {"tcp://ctl:7450", "tcp://10.0.0.1:1",
                                       "tcp://[::1]:65535",
                                       "tcp://ctl-1.example.org:7450", NULL};
    agent_cli_t cli;
    char err[256];
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(
            s_parse(&cli, err, "--controller", bad[i], "--insecure", NULL), -1);
        assert_non_null(strstr(err, "is not tcp://HOST:PORT"));
    }
    for (int i = 0; good[i]; i++) {
        assert_int_equal(
            s_parse(&cli, err, "--controller", good[i], "--insecure", NULL), 0);
        agent_cli_release(&cli);
    }
}

/* --metrics: off by default, kept as given, a bad endpoint named. */
/* The keys are read at start: a secret key others may read is refused,
 * naming the file and its mode; good keys are loaded for the session. */
static void test_cli_keys(void **state)
{
    (void)state;
    char dir[] = "/tmp/agent-keys-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char keys[64], secret[96], public_key[96];
    snprintf(keys, sizeof(keys), "%s/k", dir);
    char why[512];
    assert_int_equal(vfp_keys_init(keys, false, why, sizeof(why)), 0);
    snprintf(secret, sizeof(secret), "%s/controller.key_secret", keys);
    snprintf(public_key, sizeof(public_key), "%s/controller.key", keys);
    agent_cli_t cli;
    char err[256];
    assert_int_equal(s_parse(&cli, err, "--controller", "tcp://c:7450", "--key",
                             secret, "--controller-key", public_key, NULL),
                     0);
    assert_non_null(cli.session.cert);
    assert_non_null(cli.session.controller_cert);
    agent_cli_release(&cli);
    assert_null(cli.session.cert);
    assert_int_equal(chmod(secret, 0644), 0);
    assert_int_equal(s_parse(&cli, err, "--controller", "tcp://c:7450", "--key",
                             secret, "--controller-key", public_key, NULL),
                     -1);
    assert_non_null(strstr(err, secret));
    assert_non_null(strstr(err, "mode 0644"));
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_cli_metrics(void **state)
{
    (void)state;
    agent_cli_t cli;
    char err[256];
    assert_int_equal(
        s_parse(&cli, err, "--controller", "tcp://c:7450", "--insecure", NULL),
        0);
    assert_null(cli.metrics);
    assert_int_equal(s_parse(&cli, err, "--controller", "tcp://c:7450",
                             "--insecure", "--metrics", "tcp://*:9651", NULL),
                     0);
    assert_string_equal(cli.metrics, "tcp://*:9651");
    assert_int_equal(s_parse(&cli, err, "--controller", "tcp://c:7450",
                             "--insecure", "--metrics", "tcp://*:0", NULL),
                     -1);
    assert_non_null(strstr(err, "--metrics: invalid metrics endpoint "
                                "\"tcp://*:0\""));
}

/* The file's settings come first, the command line wins, and the file's
 * run options do not stop --discover. */
static void test_cli_config_file(void **state)
{
    char path[] = "/tmp/vfleet-agent-conf-XXXXXX";
    const char text[] = "controller = tcp://from-file:7450\n"
                        "insecure = yes\n"
                        "rescan = 30s\n"
                        "hostname = file-host\n";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
    close(fd);
    agent_cli_t cli;
    char err[256];
    assert_int_equal(
        s_parse(&cli, err, "--config", path, "--hostname", "cli-host", NULL),
        0);
    assert_int_equal(cli.mode, AGENT_RUN);
    assert_string_equal(cli.session.endpoint, "tcp://from-file:7450");
    assert_true(cli.insecure);
    assert_int_equal(cli.session.rescan_ms, 30000);
    assert_string_equal(cli.session.discover.hostname, "cli-host");
    agent_cli_release(&cli);
    assert_int_equal(s_parse(&cli, err, "--discover", "--config", path, NULL),
                     0);
    assert_int_equal(cli.mode, AGENT_DISCOVER);
    assert_string_equal(cli.session.discover.hostname, "file-host");
    agent_cli_release(&cli);

    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    const char bad[] = "rescan = 30s\njson = true\n";
    assert_int_equal(write(fd, bad, sizeof(bad) - 1), sizeof(bad) - 1);
    close(fd);
    char want[256];
    snprintf(want, sizeof(want), "%s:2: json is a command-line option only",
             path);
    assert_int_equal(s_parse(&cli, err, "--discover", "--config", path, NULL),
                     -1);
    assert_string_equal(err, want);
    unlink(path);
    assert_int_equal(s_parse(&cli, err, "--discover", "--config", path, NULL),
                     -1);
    assert_non_null(strstr(err, "cannot read /tmp/vfleet-agent-conf-"));
}

typedef struct {
    vfp_apply_t apply;
    vfp_inventory_t scan;
    char *logged;
} s_drift_log_t;

/* The same differences logged twice. */
static void s_drift_twice(void *arg)
{
    s_drift_log_t *d = arg;
    assert_int_equal(vf_drift_log(&d->apply, &d->scan, &d->logged), 300);
    assert_int_equal(vf_drift_log(&d->apply, &d->scan, &d->logged), 300);
}

/* An APPLY naming 300 PFs the host lacks: 300 differences, logged as 10
 * lines and one that counts the rest (each was a line: a controller could
 * fill the agent's log at will). The same differences again log nothing. */
static void test_drift_log_is_bounded(void **state)
{
    (void)state;
    vfp_log_init("test", VFP_LOG_INFO, false);
    s_drift_log_t d = {.apply = {.revision = 3, .pf_count = 300}};
    d.apply.pfs = calloc(d.apply.pf_count, sizeof(*d.apply.pfs));
    assert_non_null(d.apply.pfs);
    for (uint32_t i = 0; i < d.apply.pf_count; i++)
        snprintf(d.apply.pfs[i].pf, sizeof(d.apply.pfs[i].pf), "0000:%02x:00.0",
                 i % 256);
    const char *text = test_capture_stderr(s_drift_twice, &d);
    assert_int_equal(test_capture_lines(text), 11);
    assert_non_null(strstr(text, "drift: and 290 more differences"));
    free(d.logged);
    free(d.apply.pfs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff_nothing),
        cmocka_unit_test(test_drift_log_is_bounded),
        cmocka_unit_test(test_diff_vf_and_host),
        cmocka_unit_test(test_diff_each_vf_setting),
        cmocka_unit_test(test_diff_removed_and_added),
        cmocka_unit_test(test_copy_is_deep),
        cmocka_unit_test(test_print_table_and_json),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_cli_controller_endpoint),
        cmocka_unit_test(test_cli_config_file),
        cmocka_unit_test(test_cli_metrics),
        cmocka_unit_test(test_cli_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
