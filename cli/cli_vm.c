/* cli_vm.c - vfleetctl's VM verbs: vm create (the request body from the
 * options, the wait for placement, a refusal with its closest hosts), vm
 * delete, show, migrate, power, xml, evacuate and nic add|remove, the vms
 * listing, and host cordon, uncordon and drain, over the admin API
 * (controller/ADMIN.md). */
#include "cli_vm.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cli_admin.h"
#include "cli_client.h"
#include "cli_print.h"
#include "cli_vm_apply.h"
#include "cli_vm_xml.h"
#include "vfp.h"
#include "vm_file.h"

/* The usage below gives the bounds in words. */
static_assert(POLICY_VM_VCPUS_MAX == 65536, "usage: --vcpus 1 to 65536");
static_assert(POLICY_VM_NICS_MAX == 8, "usage: --nic 1 to 8");
static_assert(POLICY_RESERVE_MAX_MIB == 16ULL << 20, "usage: --memory to 16T");

static const char s_usage[] =
    "usage: vfleetctl [GLOBAL-OPTIONS] vm create NAME --memory SIZE"
    " --vcpus N --nic NET[,mac=MAC]\n"
    "                 [--nic ...] [--host HOST] [--group GROUP]"
    " [--numa none|preferred|required]\n"
    "                 [--separate-pfs] [--wait] [--timeout DURATION]\n"
    "       vfleetctl [GLOBAL-OPTIONS] vm delete NAME\n"
    "       vfleetctl [GLOBAL-OPTIONS] vm show NAME\n"
    "       vfleetctl [GLOBAL-OPTIONS] vm migrate NAME HOST\n"
    "       vfleetctl [GLOBAL-OPTIONS] vm power NAME on|off\n"
    "       vfleetctl [GLOBAL-OPTIONS] vm xml NAME\n"
    "       vfleetctl [GLOBAL-OPTIONS] vm evacuate NAME --cold [--host HOST]\n"
    "       vfleetctl [GLOBAL-OPTIONS] vm nic add NAME NETWORK [--mac MAC]\n"
    "       vfleetctl [GLOBAL-OPTIONS] vm nic remove NAME INDEX\n"
    "       vfleetctl [GLOBAL-OPTIONS] vm apply FILE [--wait] [--dry-run]\n"
    "       vfleetctl [GLOBAL-OPTIONS] vms [--host H] [--state S] [PAGING]\n"
    "\n"
    "A VM with SR-IOV VFs is pinned to its host: no live migration, no HA\n"
    "restart elsewhere, no snapshots; vm migrate prints why and exits 1.\n"
    "vm xml prints the libvirt domain of a VM that holds its VFs.\n"
    "vm evacuate --cold re-places a powered-off VM (or one whose host is\n"
    "down) on another host, its MACs kept. vm nic add and remove change\n"
    "the NICs of a powered-off VM; NIC INDEX counts from 0. These print\n"
    "the VM as vm show does. vm apply creates the VMs of a VM file that\n"
    "the controller does not know (vfleetctl vm apply --help).\n"
    "\n"
    "global options, before or after the verb:\n"
    "  -c, --controller ENDPOINT  -o, --output table|json\n"
    "  --key FILE  --controller-key FILE  --insecure\n"
    "                             tcp:// security (vfleetctl --help)\n"
    "  --timeout DURATION         wait this long for each answer (default\n"
    "                             5s); vm create --wait: for the placement\n"
    "                             (default 60s)\n"
    "vm create:\n"
    "  --memory SIZE    memory, all of it reserved: a whole number of MiB,\n"
    "                   or with K, M, G or T (binary; KiB, MiB, GiB, TiB)\n"
    "  --vcpus N        virtual CPUs, 1 to 65536\n"
    "  --nic NET[,mac=MAC]\n"
    "                   a NIC on network NET (1 to 8, in order), with\n"
    "                   this MAC instead of one from the policy's pools\n"
    "  --host HOST      place it on HOST only\n"
    "  --group GROUP    anti-affinity group: not on a host running another\n"
    "                   VM of GROUP\n"
    "  --numa none|preferred|required\n"
    "                   every VF on PFs of one NUMA node\n"
    "  --separate-pfs   each NIC on a different PF\n"
    "  --wait           answer when the host applied the VFs (placed) or\n"
    "                   refused them (failed); exit 4 unless placed\n"
    "vm evacuate:\n"
    "  --cold           required: a passthrough VM only moves cold\n"
    "  --host HOST      go to HOST (default: the best other host)\n"
    "vm nic add:\n"
    "  --mac MAC        this MAC instead of one from the policy's pools\n"
    "paging, PAGING above (vms):\n"
    "  --all            fetch every page (the default)\n"
    "  --limit N        fetch one page of at most N rows\n"
    "  --after CURSOR   start after the cursor such a hint printed\n"
    "vms filters:\n"
    "  --host H         only VMs on this host\n"
    "  --state S        only VMs in state reserved, placed, failed or\n"
    "                   host-down\n";

static const char s_host_usage[] =
    "usage: vfleetctl [GLOBAL-OPTIONS] host cordon NAME\n"
    "       vfleetctl [GLOBAL-OPTIONS] host uncordon NAME\n"
    "       vfleetctl [GLOBAL-OPTIONS] host drain NAME\n"
    "\n"
    "cordon: no new VM is placed on host NAME; uncordon undoes it. drain\n"
    "cordons it and lists its VMs: they are pinned, nothing is moved; the\n"
    "ones to power off first are named.\n"
    "\n"
    "global options, before or after the verb:\n"
    "  -c, --controller ENDPOINT  -o, --output table|json\n"
    "  --key FILE  --controller-key FILE  --insecure\n"
    "                             tcp:// security (vfleetctl --help)\n"
    "  --timeout DURATION         wait this long for the answer (default 5s)\n";

enum {
    S_OPT_WAIT = CLI_VM_OPT_NEXT,
    S_OPT_COLD,
    S_OPT_HOST,
    S_OPT_MAC,
};

static const struct option s_create_options[] = {
    CLI_GLOBAL_OPTIONS,
    CLI_VM_REQUEST_OPTIONS,
    {"wait", no_argument, NULL, S_OPT_WAIT},
    CLI_END_OPTIONS};
static const struct option s_evacuate_options[] = {
    CLI_GLOBAL_OPTIONS,
    {"cold", no_argument, NULL, S_OPT_COLD},
    {"host", required_argument, NULL, S_OPT_HOST},
    CLI_END_OPTIONS};
static const struct option s_nic_options[] = {
    CLI_GLOBAL_OPTIONS,
    {"mac", required_argument, NULL, S_OPT_MAC},
    CLI_END_OPTIONS};
static const struct option s_plain_options[] = {CLI_GLOBAL_OPTIONS,
                                                CLI_END_OPTIONS};
static const struct option s_vms_options[] = {
    CLI_GLOBAL_OPTIONS, CLI_PAGING_OPTIONS, CLI_HOST_OPTION, CLI_STATE_OPTION,
    CLI_END_OPTIONS};

/* ---- what is printed --------------------------------------------------- */

static const cli_column_t s_vm_fields[] = {
    {"name", "name", CLI_CELL_TEXT, NULL},
    {"state", "state", CLI_CELL_TEXT, NULL},
    {"host", "host", CLI_CELL_DASH, NULL},
};
static const cli_column_t s_vm_more_fields[] = {
    {"vcpus", "vcpus", CLI_CELL_TEXT, NULL},
    {"power", "power", CLI_CELL_TEXT, NULL},
    {"group", "group", CLI_CELL_DASH, NULL},
    {"numa", "numa", CLI_CELL_TEXT, NULL},
};

/* "vlan_shown" is filled in by s_print_vm: a trunk is not VLAN 0. */
static const cli_column_t s_nic_cols[] = {
    {"NIC", "index", CLI_CELL_TEXT, NULL},
    {"NETWORK", "network", CLI_CELL_TEXT, NULL},
    {"MAC", "mac", CLI_CELL_TEXT, NULL},
    {"PF", "pf_ifname", CLI_CELL_DASH, NULL},
    {"VF", "vf", CLI_CELL_TEXT, NULL},
    {"PCI", "vf_pci", CLI_CELL_DASH, NULL},
    {"VLAN", "vlan_shown", CLI_CELL_TEXT, NULL},
};

static const cli_column_t s_vms_cols[] = {
    {"NAME", "name", CLI_CELL_TEXT, NULL},
    {"STATE", "state", CLI_CELL_TEXT, NULL},
    {"HOST", "host", CLI_CELL_DASH, NULL},
    {"MEMORY-MIB", "memory_mib", CLI_CELL_TEXT, NULL},
    {"VCPUS", "vcpus", CLI_CELL_TEXT, NULL},
    {"POWER", "power", CLI_CELL_TEXT, NULL},
    {"NICS", "nics", CLI_CELL_COUNT, NULL},
    {"GROUP", "group", CLI_CELL_DASH, NULL},
};

static const cli_column_t s_drain_cols[] = {
    {"VM", "name", CLI_CELL_TEXT, NULL},
    {"STATE", "state", CLI_CELL_TEXT, NULL},
    {"POWER", "power", CLI_CELL_TEXT, NULL},
};

static const cli_listing_t s_vms = {"vms", s_vms_options, s_usage,
                                    "vms", s_vms_cols,    CLI_NCOLS(s_vms_cols),
                                    NULL,  NULL};

static void s_print_vm(json_t *vm)
{
    cli_print_fields(vm, s_vm_fields, CLI_NCOLS(s_vm_fields));
    char memory[32];
    snprintf(memory, sizeof(memory), "%" JSON_INTEGER_FORMAT " MiB",
             json_integer_value(json_object_get(vm, "memory_mib")));
    cli_print_line("memory", memory);
    cli_print_fields(vm, s_vm_more_fields, CLI_NCOLS(s_vm_more_fields));
    const char *error = json_string_value(json_object_get(vm, "error"));
    if (error && error[0])
        cli_print_line("error", error);
    json_t *nics = json_deep_copy(json_object_get(vm, "nics"));
    if (!json_is_array(nics)) {
        json_decref(nics);
        nics = json_array();
    }
    size_t i;
    json_t *nic;
    json_array_foreach(nics, i, nic)
    {
        json_t *vlan = json_object_get(nic, "vlan");
        if (json_is_true(json_object_get(nic, "trunk")))
            json_object_set_new(nic, "vlan_shown", json_string("trunk"));
        else
            json_object_set(nic, "vlan_shown", vlan ? vlan : json_null());
    }
    putchar('\n');
    cli_print_table(nics, s_nic_cols, CLI_NCOLS(s_nic_cols));
    json_decref(nics);
    const char *pinned = json_string_value(json_object_get(vm, "pinned"));
    if (pinned && pinned[0]) {
        char *text = cli_print_escape(pinned);
        printf("\npinned: %s\n", text);
        free(text);
    }
}

/* ---- memory sizes ------------------------------------------------------ */

/* The largest size taken, in KiB: a VM file's most (16T), checked before
 * the shift so that it cannot overflow. */
#define S_SIZE_MAX_KIB (POLICY_RESERVE_MAX_MIB << 10)

int cli_vm_size_parse(const char *text, uint64_t *mib)
{
    static const char units[] = "KMGT"; /* KiB << 0, 10, 20, 30 */
    if (!isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 10; /* a plain number is MiB */
    if (*end) {
        const char *unit = strchr(units, toupper((unsigned char)*end));
        if (!unit || (end[1] && strcasecmp(end + 1, "iB") != 0))
            return -1;
        shift = 10 * (unsigned)(unit - units);
    }
    if (n > (S_SIZE_MAX_KIB >> shift))
        return -1;
    unsigned long long kib = n << shift;
    if (kib < 1024 || kib % 1024)
        return -1;
    *mib = kib / 1024;
    return 0;
}

/* ---- one request, one VM ----------------------------------------------- */

/* Parses global options anywhere and exactly `want` operands. Returns -1
 * to go on, else an exit status. */
static int s_operands(cli_t *cli, int argc, char **argv, int want,
                      const char *what, const char *usage)
{
    optind = 0;
    int opt = cli_next_option(cli, argc, argv, s_plain_options, usage);
    if (opt == CLI_NEXT_HELP) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (opt != CLI_NEXT_END)
        return CLI_EXIT_USAGE;
    if (argc - optind != want)
        return cli_usage_error(usage, "%s: expected %s", argv[0], what);
    return -1;
}

/* Sends req; *body_p gets the reply. Returns an exit status. */
static int s_call(cli_t *cli, const cli_request_t *req, json_t **body_p)
{
    cli_client_t *client = cli_client_new(cli);
    if (!client)
        return CLI_EXIT_ERROR;
    int status = cli_client_call(client, req, body_p);
    cli_client_destroy(&client);
    return status;
}

/* Prints a VM reply as JSON or as vm show does. */
static int s_print_reply(const cli_t *cli, json_t *body)
{
    if (cli->output == CLI_OUTPUT_JSON)
        return cli_print_json(body);
    s_print_vm(body);
    return CLI_EXIT_OK;
}

/* vm delete | show | power | migrate: the VM's name, then the operand
 * named second (power's state, migrate's host), if any. */
static int s_vm_verb(cli_t *cli, int argc, char **argv, const char *verb,
                     const char *second, const char *what)
{
    int status = s_operands(cli, argc, argv, second ? 2 : 1, what, s_usage);
    if (status >= 0)
        return status;
    cli_request_t req;
    cli_request_init(&req, verb);
    if (cli_request_set(&req, "name", argv[optind]) != 0 ||
        (second && cli_request_set(&req, second, argv[optind + 1]) != 0))
        return CLI_EXIT_ERROR;
    json_t *body = NULL;
    status = s_call(cli, &req, &body);
    if (status == CLI_EXIT_OK && strcmp(verb, "vm.delete") == 0 &&
        cli->output == CLI_OUTPUT_TABLE) {
        char *name = cli_print_escape(argv[optind]);
        printf("deleted vm %s\n", name);
        free(name);
    } else if (status == CLI_EXIT_OK) {
        status = s_print_reply(cli, body);
    }
    json_decref(body);
    return status;
}

static int s_delete(cli_t *cli, int argc, char **argv)
{
    return s_vm_verb(cli, argc, argv, "vm.delete", NULL, "one NAME");
}

static int s_show(cli_t *cli, int argc, char **argv)
{
    return s_vm_verb(cli, argc, argv, "vm.show", NULL, "one NAME");
}

static int s_power(cli_t *cli, int argc, char **argv)
{
    return s_vm_verb(cli, argc, argv, "vm.power", "state", "NAME on|off");
}

static int s_migrate(cli_t *cli, int argc, char **argv)
{
    return s_vm_verb(cli, argc, argv, "vm.migrate", "host", "NAME HOST");
}

static int s_xml(cli_t *cli, int argc, char **argv)
{
    int status = s_operands(cli, argc, argv, 1, "one NAME", s_usage);
    if (status >= 0)
        return status;
    cli_request_t req;
    cli_request_init(&req, "vm.show");
    if (cli_request_set(&req, "name", argv[optind]) != 0)
        return CLI_EXIT_ERROR;
    json_t *body = NULL;
    status = s_call(cli, &req, &body);
    char why[512];
    if (status == CLI_EXIT_OK &&
        cli_vm_xml_write(body, stdout, why, sizeof(why)) != 0) {
        char *text = cli_print_escape(why);
        cli_error("vm xml: %s", text);
        free(text);
        status = CLI_EXIT_ERROR;
    }
    json_decref(body);
    return status;
}

/* ---- VM requests: vm create's and plan's options ---------------------- */

/* NET[,mac=MAC] into the body's nics. */
static int s_nic_option(json_t *body, const char *arg, const char *verb,
                        const char *usage)
{
    const char *comma = strchr(arg, ',');
    size_t net_len = comma ? (size_t)(comma - arg) : strlen(arg);
    const char *mac = comma ? comma + 1 : NULL;
    if (net_len == 0 ||
        (mac && (strncmp(mac, "mac=", 4) != 0 || !mac[4] || strchr(mac, ','))))
        return cli_usage_error(usage, "%s: --nic '%s' is not NET[,mac=MAC]",
                               verb, arg);
    char network[POLICY_NAME_MAX + 1] = "";
    if (net_len < sizeof(network))
        memcpy(network, arg, net_len);
    if (!policy_name_valid(network))
        return cli_usage_error(usage,
                               "%s: --nic '%s': '%.*s' is not a network "
                               "name",
                               verb, arg, (int)net_len, arg);
    uint8_t octets[6];
    const char *why = mac ? vfp_mac_parse_nic(mac + 4, octets) : NULL;
    if (why)
        return cli_usage_error(usage, "%s: --nic '%s': mac %s %s", verb, arg,
                               mac + 4, why);
    json_t *nics = json_object_get(body, "nics");
    if (!nics) {
        nics = json_array();
        json_object_set_new(body, "nics", nics);
    }
    if (json_array_size(nics) == POLICY_VM_NICS_MAX)
        return cli_usage_error(usage,
                               "%s: at most %d --nic: a VM has 1 to %d "
                               "NICs",
                               verb, POLICY_VM_NICS_MAX, POLICY_VM_NICS_MAX);
    json_t *nic = json_pack("{s:s%}", "network", arg, net_len);
    assert(nic);
    if (mac)
        json_object_set_new(nic, "mac", json_string(mac + 4));
    json_array_append_new(nics, nic);
    return 0;
}

static int s_vcpus_option(json_t *body, const char *arg, const char *verb,
                          const char *usage)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(arg, &end, 10);
    if (!isdigit((unsigned char)arg[0]) || *end || errno || n == 0 ||
        n > POLICY_VM_VCPUS_MAX)
        return cli_usage_error(usage,
                               "%s: --vcpus '%s' is not a number from 1 to %d",
                               verb, arg, POLICY_VM_VCPUS_MAX);
    json_object_set_new(body, "vcpus", json_integer((json_int_t)n));
    return 0;
}

static int s_memory_option(json_t *body, const char *arg, const char *verb,
                           const char *usage)
{
    uint64_t mib;
    if (cli_vm_size_parse(arg, &mib) != 0)
        return cli_usage_error(usage,
                               "%s: --memory '%s' is not a size from 1 MiB to "
                               "16T in whole MiB (4096, 4G, 512MiB)",
                               verb, arg);
    json_object_set_new(body, "memory_mib", json_integer((json_int_t)mib));
    return 0;
}

/* The modes are the VM file's (policy_vm_numa_name), as vm.create takes
 * them. */
static int s_numa_option(json_t *body, const char *arg, const char *verb,
                         const char *usage)
{
    for (int numa = POLICY_VM_NUMA_NONE; numa <= POLICY_VM_NUMA_REQUIRED;
         numa++)
        if (strcmp(arg, policy_vm_numa_name((policy_vm_numa_t)numa)) == 0) {
            json_object_set_new(body, "numa", json_string(arg));
            return 0;
        }
    return cli_usage_error(
        usage, "%s: --numa '%s' is not none, preferred or required", verb, arg);
}

int cli_vm_request_option(json_t *body, int opt, const char *arg,
                          const char *verb, const char *usage)
{
    switch (opt) {
    case CLI_VM_OPT_MEMORY:
        return s_memory_option(body, arg, verb, usage);
    case CLI_VM_OPT_VCPUS:
        return s_vcpus_option(body, arg, verb, usage);
    case CLI_VM_OPT_NIC:
        return s_nic_option(body, arg, verb, usage);
    case CLI_VM_OPT_HOST:
        json_object_set_new(body, "host", json_string(arg));
        return 0;
    case CLI_VM_OPT_GROUP:
        json_object_set_new(body, "group", json_string(arg));
        return 0;
    case CLI_VM_OPT_NUMA:
        return s_numa_option(body, arg, verb, usage);
    case CLI_VM_OPT_SEPARATE_PFS:
        json_object_set_new(body, "separate_pfs", json_true());
        return 0;
    default:
        assert(!"a VM request option without a case");
        return CLI_EXIT_USAGE;
    }
}

int cli_vm_request_check(const json_t *body, const char *verb,
                         const char *usage)
{
    const char *missing = !json_object_get(body, "memory_mib") ? "--memory"
                          : !json_object_get(body, "vcpus")    ? "--vcpus"
                          : json_array_size(json_object_get(body, "nics")) == 0
                              ? "--nic"
                              : NULL;
    if (missing)
        return cli_usage_error(usage, "%s: %s is required", verb, missing);
    return 0;
}

/* One line of a refusal, escaped. */
static void s_refusal_line(FILE *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_refusal_line(FILE *out, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    char *text = cli_print_escape(line);
    fprintf(out, "%s\n", text);
    free(text);
}

void cli_vm_print_refusal(const json_t *detail, FILE *out)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(detail, "closest"), i, item)
    {
        const char *host = json_string_value(json_object_get(item, "host"));
        const char *rule = json_string_value(json_object_get(item, "rule"));
        const char *why = json_string_value(json_object_get(item, "reason"));
        s_refusal_line(out, "closest host %s (%s): %s", host ? host : "?",
                       rule ? rule : "?", why ? why : "");
    }
    json_array_foreach(json_object_get(detail, "reasons"), i, item)
    {
        const char *rule = json_string_value(json_object_get(item, "rule"));
        const char *example =
            json_string_value(json_object_get(item, "example"));
        json_int_t hosts = json_integer_value(json_object_get(item, "hosts"));
        s_refusal_line(out,
                       "%" JSON_INTEGER_FORMAT " %s refused by rule %s%s%s",
                       hosts, hosts == 1 ? "host" : "hosts", rule ? rule : "?",
                       example ? ", such as: " : "", example ? example : "");
    }
}

/* Sends req; prints the VM it answers as vm show does, or a refusal's
 * details after its error text (-o json: the refusal's body too). */
static int s_call_vm(cli_t *cli, const cli_request_t *req)
{
    cli_client_t *client = cli_client_new(cli);
    if (!client)
        return CLI_EXIT_ERROR;
    json_t *body = NULL, *detail = NULL;
    int status = cli_client_call_detail(client, req, &body, &detail);
    cli_client_destroy(&client);
    if (status == CLI_EXIT_OK) {
        status = s_print_reply(cli, body);
    } else if (detail) {
        cli_vm_print_refusal(detail, stderr);
        if (cli->output == CLI_OUTPUT_JSON)
            cli_print_json(detail);
    }
    json_decref(body);
    json_decref(detail);
    return status;
}

/* ---- vm create --------------------------------------------------------- */

typedef struct {
    cli_t *cli;
    json_t *body; /* the vm.create body being built */
    const char *name;
    bool wait;
} s_create_t;

/* Returns -1 to go on, else an exit status. */
static int s_create_parse(s_create_t *c, int argc, char **argv)
{
    optind = 0;
    for (;;) {
        int opt =
            cli_next_option(c->cli, argc, argv, s_create_options, s_usage);
        if (opt == CLI_NEXT_END)
            break;
        if (opt == CLI_NEXT_HELP) {
            fputs(s_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (opt == CLI_NEXT_USAGE)
            return CLI_EXIT_USAGE;
        if (opt == S_OPT_WAIT) {
            c->wait = true;
            continue;
        }
        int status =
            cli_vm_request_option(c->body, opt, optarg, "vm create", s_usage);
        if (status != 0)
            return status;
    }
    if (argc - optind != 1)
        return cli_usage_error(s_usage, "vm create: expected one NAME");
    c->name = argv[optind];
    json_object_set_new(c->body, "name", json_string(c->name));
    int status = cli_vm_request_check(c->body, "vm create", s_usage);
    return status ? status : -1;
}

/* --wait: the controller answers once the VM is placed or failed, or
 * after the wait; an answer takes up to that long, plus the usual time. */
static int s_create_wait(s_create_t *c, cli_request_t *req,
                         cli_client_t *client)
{
    uint32_t wait_ms =
        c->cli->timeout_set ? c->cli->timeout_ms : CLI_VM_WAIT_DEFAULT_MS;
    char secs[16];
    snprintf(secs, sizeof(secs), "%u", (wait_ms + 999) / 1000);
    if (cli_request_set(req, "wait", "true") != 0 ||
        cli_request_set(req, "timeout", secs) != 0)
        return CLI_EXIT_ERROR;
    cli_client_set_timeout(client, wait_ms + CLI_TIMEOUT_DEFAULT_MS);
    return cli_client_check_reachable(client) == 0 ? CLI_EXIT_OK
                                                   : CLI_EXIT_ERROR;
}

/* What the answer's state means for the exit status. */
static int s_create_outcome(const s_create_t *c, json_t *vm)
{
    const char *state = json_string_value(json_object_get(vm, "state"));
    if (!c->wait || (state && strcmp(state, "placed") == 0))
        return CLI_EXIT_OK;
    char *name = cli_print_escape(c->name);
    char *text = cli_print_escape(state ? state : "?");
    cli_error("vm %s was not placed: it is %s", name, text);
    free(name);
    free(text);
    return CLI_EXIT_INCOMPLETE;
}

static int s_create_send(s_create_t *c)
{
    cli_request_t req;
    cli_request_init(&req, "vm.create");
    char *text = json_dumps(c->body, JSON_COMPACT);
    assert(text);
    req.body = text;
    req.body_len = strlen(text);
    cli_client_t *client = cli_client_new(c->cli);
    int status = client ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    if (status == CLI_EXIT_OK && c->wait)
        status = s_create_wait(c, &req, client);
    json_t *body = NULL, *detail = NULL;
    if (status == CLI_EXIT_OK)
        status = cli_client_call_detail(client, &req, &body, &detail);
    cli_client_destroy(&client);
    free(text);
    if (status == CLI_EXIT_OK) {
        status = s_print_reply(c->cli, body);
        if (status == CLI_EXIT_OK)
            status = s_create_outcome(c, body);
    } else if (detail) {
        cli_vm_print_refusal(detail, stderr);
        if (c->cli->output == CLI_OUTPUT_JSON)
            cli_print_json(detail);
    }
    json_decref(body);
    json_decref(detail);
    return status;
}

static int s_create(cli_t *cli, int argc, char **argv)
{
    s_create_t c = {cli, json_pack("{s:[]}", "nics"), NULL, false};
    int status = s_create_parse(&c, argc, argv);
    if (status < 0)
        status = s_create_send(&c);
    json_decref(c.body);
    return status;
}

/* ---- vm evacuate, vm nic add | remove ---------------------------------- */

/* The options of vm evacuate or vm nic into req's parameters, and exactly
 * `want` operands; vm evacuate's --cold is `required`, since without it
 * the controller refuses. Returns -1 to go on, else an exit status. */
static int s_move_parse(cli_t *cli, int argc, char **argv,
                        const struct option *options, cli_request_t *req,
                        int want, const char *what, bool cold_required)
{
    optind = 0;
    bool cold = false;
    for (;;) {
        int opt = cli_next_option(cli, argc, argv, options, s_usage);
        if (opt == CLI_NEXT_END)
            break;
        if (opt == CLI_NEXT_HELP) {
            fputs(s_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (opt == CLI_NEXT_USAGE)
            return CLI_EXIT_USAGE;
        cold = cold || opt == S_OPT_COLD;
        if (opt != S_OPT_COLD &&
            cli_request_set(req, opt == S_OPT_MAC ? "mac" : "host", optarg) !=
                0)
            return CLI_EXIT_ERROR;
    }
    if (argc - optind != want)
        return cli_usage_error(s_usage, "%s: expected %s", argv[0], what);
    if (cold_required && !cold)
        return cli_usage_error(s_usage,
                               "%s: --cold is required: passthrough VMs are "
                               "pinned to their host and only move cold, "
                               "powered off (vm power NAME off) or with "
                               "their host down",
                               argv[0]);
    return -1;
}

static int s_evacuate(cli_t *cli, int argc, char **argv)
{
    cli_request_t req;
    cli_request_init(&req, "vm.evacuate");
    int status = s_move_parse(cli, argc, argv, s_evacuate_options, &req, 1,
                              "one NAME", true);
    if (status >= 0)
        return status;
    if (cli_request_set(&req, "name", argv[optind]) != 0 ||
        cli_request_set(&req, "cold", "true") != 0)
        return CLI_EXIT_ERROR;
    return s_call_vm(cli, &req);
}

static int s_nic_add(cli_t *cli, int argc, char **argv)
{
    cli_request_t req;
    cli_request_init(&req, "vm.nic.add");
    int status = s_move_parse(cli, argc, argv, s_nic_options, &req, 2,
                              "NAME NETWORK", false);
    if (status >= 0)
        return status;
    if (cli_request_set(&req, "name", argv[optind]) != 0 ||
        cli_request_set(&req, "network", argv[optind + 1]) != 0)
        return CLI_EXIT_ERROR;
    return s_call_vm(cli, &req);
}

static int s_nic_remove(cli_t *cli, int argc, char **argv)
{
    cli_request_t req;
    cli_request_init(&req, "vm.nic.remove");
    int status = s_move_parse(cli, argc, argv, s_plain_options, &req, 2,
                              "NAME INDEX", false);
    if (status >= 0)
        return status;
    const char *index = argv[optind + 1];
    if (!isdigit((unsigned char)index[0]) ||
        strspn(index, "0123456789") != strlen(index))
        return cli_usage_error(s_usage,
                               "%s: INDEX '%s' is not a NIC index "
                               "(0, 1, ...)",
                               argv[0], index);
    if (cli_request_set(&req, "name", argv[optind]) != 0 ||
        cli_request_set(&req, "index", index) != 0)
        return CLI_EXIT_ERROR;
    return s_call_vm(cli, &req);
}

static int s_nic(cli_t *cli, int argc, char **argv)
{
    int at = cli_find_subverb(argc, argv);
    if (at < argc && strcmp(argv[at], "add") == 0)
        return cli_run_subverb(cli, argc, argv, at, s_nic_add);
    if (at < argc && strcmp(argv[at], "remove") == 0)
        return cli_run_subverb(cli, argc, argv, at, s_nic_remove);
    if (at < argc)
        return cli_usage_error(s_usage, "vm nic: unknown command '%s'",
                               argv[at]);
    int status = s_operands(cli, argc, argv, 0, "", s_usage);
    return status >= 0
               ? status
               : cli_usage_error(s_usage, "vm nic: expected add or remove");
}

/* ---- dispatch ---------------------------------------------------------- */

int cli_vm(cli_t *cli, int argc, char **argv)
{
    static const struct {
        const char *name;
        cli_verb_fn *run;
    } subverbs[] = {
        {"create", s_create},    {"delete", s_delete},     {"show", s_show},
        {"migrate", s_migrate},  {"power", s_power},       {"xml", s_xml},
        {"apply", cli_vm_apply}, {"evacuate", s_evacuate}, {"nic", s_nic},
    };
    int at = cli_find_subverb(argc, argv);
    if (at == argc) {
        int status = s_operands(cli, argc, argv, 0, "", s_usage);
        return status >= 0
                   ? status
                   : cli_usage_error(s_usage, "vm: expected create, delete, "
                                              "show, migrate, power, xml, "
                                              "apply, evacuate or nic");
    }
    for (size_t i = 0; i < sizeof(subverbs) / sizeof(*subverbs); i++)
        if (strcmp(argv[at], subverbs[i].name) == 0)
            return cli_run_subverb(cli, argc, argv, at, subverbs[i].run);
    return cli_usage_error(s_usage, "vm: unknown command '%s'", argv[at]);
}

int cli_vms(cli_t *cli, int argc, char **argv)
{
    return cli_listing_run(cli, argc, argv, &s_vms);
}

/* ---- host cordon | uncordon | drain ------------------------------------ */

static void s_print_drain(json_t *body)
{
    putchar('\n');
    cli_print_table(json_object_get(body, "vms"), s_drain_cols,
                    CLI_NCOLS(s_drain_cols));
    char names[4096] = "";
    size_t used = 0, i;
    json_t *name;
    json_array_foreach(json_object_get(body, "power_off_first"), i, name)
    {
        int n = snprintf(names + used, sizeof(names) - used, "%s%s",
                         used ? " " : "",
                         json_is_string(name) ? json_string_value(name) : "");
        if (n < 0 || (size_t)n >= sizeof(names) - used)
            break;
        used += (size_t)n;
    }
    putchar('\n');
    cli_print_line("power off first", used ? names : "-");
    fputs("its VMs are pinned to the host: nothing is moved\n", stdout);
}

static int s_host_verb(cli_t *cli, int argc, char **argv, const char *verb)
{
    int status = s_operands(cli, argc, argv, 1, "one host NAME", s_host_usage);
    if (status >= 0)
        return status;
    cli_request_t req;
    cli_request_init(&req, verb);
    if (cli_request_set(&req, "name", argv[optind]) != 0)
        return CLI_EXIT_ERROR;
    json_t *body = NULL;
    status = s_call(cli, &req, &body);
    if (status == CLI_EXIT_OK && cli->output == CLI_OUTPUT_JSON) {
        status = cli_print_json(body);
    } else if (status == CLI_EXIT_OK) {
        json_t *host = json_object_get(body, "host");
        cli_print_line("host", json_is_string(host) ? json_string_value(host)
                                                    : argv[optind]);
        cli_print_line("cordoned",
                       json_is_true(json_object_get(body, "cordoned")) ? "yes"
                                                                       : "no");
        if (strcmp(verb, "host.drain") == 0)
            s_print_drain(body);
    }
    json_decref(body);
    return status;
}

int cli_host_cordon(cli_t *cli, int argc, char **argv)
{
    return s_host_verb(cli, argc, argv, "host.cordon");
}

int cli_host_uncordon(cli_t *cli, int argc, char **argv)
{
    return s_host_verb(cli, argc, argv, "host.uncordon");
}

int cli_host_drain(cli_t *cli, int argc, char **argv)
{
    return s_host_verb(cli, argc, argv, "host.drain");
}
