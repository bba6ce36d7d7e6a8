/* cli_vm_apply.c - vfleetctl vm apply: the VMs of a VM file made to exist
 * on the controller, declaratively: each one it does not know is created
 * (admin verb vm.create.batch, up to S_BATCH_MAX VMs a request; vm.create
 * each with a controller that lacks it), each one it knows is compared
 * (vm.show) and left alone, since a passthrough VM's NICs and memory
 * cannot change in place. The file is checked offline first, as policy
 * validate checks a policy. */
#include "cli_vm_apply.h"

#include <assert.h>
#include <czmq.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_client.h"
#include "cli_print.h"
#include "vm_file.h"

static const char s_usage[] =
    "usage: vfleetctl [GLOBAL-OPTIONS] vm apply FILE [--wait] [--dry-run]\n"
    "\n"
    "Makes the VMs declared in FILE (a VM file, vfleet-policy(5) \"VM\n"
    "FILES\") exist: each VM the controller does not know is created, each\n"
    "one it knows with the same settings is left alone, so applying the\n"
    "same file twice changes nothing. A VM that exists with other settings\n"
    "is an error: delete it first. FILE is checked first and nothing is\n"
    "sent when it has errors (printed as FILE:LINE:COLUMN: message).\n"
    "Prints one line per VM and a summary; exit 0 when every VM was\n"
    "created or is unchanged, 1 when one was refused or failed or FILE is\n"
    "invalid, 3 for --dry-run when a VM would be created.\n"
    "\n"
    "global options, before or after the verb:\n"
    "  -c, --controller ENDPOINT  -o, --output table|json\n"
    "  --key FILE  --controller-key FILE  --insecure\n"
    "                             tcp:// security (vfleetctl --help)\n"
    "  --timeout DURATION         with --wait: how long to wait for each VM\n"
    "                             to be placed (default 60s); without: for\n"
    "                             each answer (default 5s)\n"
    "options:\n"
    "  --wait           wait until each created VM is placed or failed\n"
    "  --dry-run        only compare: say what would be created, create\n"
    "                   nothing\n";

/* What vm.create waits for when --wait has no --timeout (ADMIN.md). */
#define S_WAIT_DEFAULT_S 60
/* --wait asks vm.show again after this pause, doubled up to the most. */
#define S_POLL_FIRST_MS 10
#define S_POLL_MAX_MS 200
/* VMs in one vm.create.batch: a batch holds the controller's main thread
 * while it is placed (ADMIN.md, about 50 us a VM). */
#define S_BATCH_MAX 100

enum { S_OPT_WAIT = CLI_OPT_VERB, S_OPT_DRY_RUN };

static const struct option s_options[] = {
    CLI_GLOBAL_OPTIONS,
    {"wait", no_argument, NULL, S_OPT_WAIT},
    {"dry-run", no_argument, NULL, S_OPT_DRY_RUN},
    {NULL, 0, NULL, 0}};

/* What became of one VM. */
typedef enum {
    S_CREATED,
    S_UNCHANGED,
    S_WOULD_CREATE, /* --dry-run */
    S_REFUSED,      /* the placement found no host (CONFLICT) */
    S_FAILED,       /* any other error: differs, invalid, not placed */
    S_STOPPED,      /* no answer from the controller: give up */
} s_outcome_t;

static const char *const s_outcome_words[] = {
    [S_CREATED] = "created",
    [S_UNCHANGED] = "unchanged",
    [S_WOULD_CREATE] = "would-create",
    [S_REFUSED] = "refused",
    [S_FAILED] = "failed",
    [S_STOPPED] = "stopped",
};

/* A VM's outcome kept for its turn: lines are printed in file order, a
 * VM waiting in a batch holds back the ones after it, and with --wait
 * every VM is created first, then the created ones are waited for in file
 * order, so that their host rounds overlap instead of following one
 * another. */
typedef struct {
    s_outcome_t outcome;
    bool known;   /* outcome, host and text are set */
    bool pending; /* created, still reserved: waited for at its turn */
    char *host;
    char *text;
} s_line_t;

typedef struct {
    cli_t *cli;
    cli_client_t *client;
    const char *path;
    const policy_vm_file_t *file;
    bool wait;
    bool dry_run;
    bool lost;   /* --wait: the controller stopped answering */
    bool single; /* no vm.create.batch: one vm.create per VM */
    bool halted; /* a line said the run stopped: none after it */
    uint32_t wait_s;
    size_t counts[S_STOPPED + 1];
    json_t *results;           /* -o json: one object per VM */
    s_line_t *lines;           /* one per VM of the file */
    size_t at;                 /* the VM whose outcome is recorded */
    size_t shown;              /* lines printed */
    size_t queue[S_BATCH_MAX]; /* the next batch: indexes into the file */
    size_t queued;
} s_apply_t;

/* A VM's outcome: a line on stdout, or a row of the JSON. */
static s_outcome_t s_emit(s_apply_t *a, const policy_vm_t *vm,
                          s_outcome_t outcome, const char *host,
                          const char *text)
{
    a->counts[outcome]++;
    if (a->cli->output == CLI_OUTPUT_JSON) {
        json_array_append_new(
            a->results,
            json_pack("{s:s, s:s, s:o, s:s}", "name", vm->name, "result",
                      s_outcome_words[outcome], "host",
                      host ? json_string(host) : json_null(), "message", text));
        return outcome;
    }
    char *escaped = cli_print_escape(text);
    printf("%s: %s\n", vm->name, escaped);
    free(escaped);
    return outcome;
}

static char *s_dup(const char *text)
{
    char *copy = text ? strdup(text) : NULL;
    assert(!text || copy);
    return copy;
}

/* Records the outcome of the VM a->at, printed at its turn (s_flush). */
static s_outcome_t s_report(s_apply_t *a, s_outcome_t outcome, const char *host,
                            const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static s_outcome_t s_report(s_apply_t *a, s_outcome_t outcome, const char *host,
                            const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    s_line_t *line = &a->lines[a->at];
    /* host may be the line's own, from a pending line: copied first. */
    char *copy = s_dup(host);
    free(line->host);
    free(line->text);
    *line = (s_line_t){
        .outcome = outcome, .known = true, .host = copy, .text = s_dup(text)};
    return outcome;
}

/* ---- comparing with what the controller holds -------------------------- */

/* Appends one difference to buf, after a ", " when it holds one already. */
static void s_differ(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_differ(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used > 0 && used + 2 < size) {
        memcpy(buf + used, ", ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/* A text member of the VM object, "" when absent or null. */
static const char *s_text(const json_t *obj, const char *key)
{
    const char *text = json_string_value(json_object_get(obj, key));
    return text ? text : "";
}

static const char *s_or_none(const char *text)
{
    return text && text[0] ? text : "(none)";
}

/* "[vlan1, trunk]" */
static void s_network_list(const char *const *networks, size_t count, char *buf,
                           size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < count && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                                 networks[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* The NICs: networks in order, then each fixed MAC. */
static void s_compare_nics(const policy_vm_t *vm, const json_t *nics, char *buf,
                           size_t size)
{
    size_t stored = json_array_size(nics);
    bool same = stored == vm->nic_count;
    for (size_t i = 0; same && i < stored; i++)
        same = strcmp(s_text(json_array_get(nics, i), "network"),
                      vm->nics[i].network) == 0;
    if (!same) {
        const char *had[POLICY_VM_NICS_MAX], *want[POLICY_VM_NICS_MAX];
        size_t had_count =
            stored < POLICY_VM_NICS_MAX ? stored : POLICY_VM_NICS_MAX;
        for (size_t i = 0; i < had_count; i++)
            had[i] = s_text(json_array_get(nics, i), "network");
        for (size_t i = 0; i < vm->nic_count; i++)
            want[i] = vm->nics[i].network;
        char from[256], to[256];
        s_network_list(had, had_count, from, sizeof(from));
        s_network_list(want, vm->nic_count, to, sizeof(to));
        s_differ(buf, size, "nics %s -> %s", from, to);
        return;
    }
    for (size_t i = 0; i < stored; i++) {
        const char *mac = s_text(json_array_get(nics, i), "mac");
        if (vm->nics[i].mac && strcasecmp(mac, vm->nics[i].mac) != 0)
            s_differ(buf, size, "nic %zu mac %s -> %s", i, s_or_none(mac),
                     vm->nics[i].mac);
    }
}

/* Writes what differs between the file's VM and the controller's into
 * buf ("" when nothing does). The controller may round memory up to whole
 * hugepages: up to the next GiB counts as the same. */
static void s_compare(const policy_vm_t *vm, const json_t *obj, char *buf,
                      size_t size)
{
    buf[0] = '\0';
    json_int_t memory = json_integer_value(json_object_get(obj, "memory_mib"));
    uint64_t rounded = (vm->memory_mib + 1023) / 1024 * 1024;
    if (memory < 0 || (uint64_t)memory < vm->memory_mib ||
        (uint64_t)memory > rounded)
        s_differ(buf, size, "memory %lld MiB -> %llu MiB", (long long)memory,
                 (unsigned long long)vm->memory_mib);
    json_int_t vcpus = json_integer_value(json_object_get(obj, "vcpus"));
    if (vcpus != (json_int_t)vm->vcpus)
        s_differ(buf, size, "vcpus %lld -> %u", (long long)vcpus, vm->vcpus);
    s_compare_nics(vm, json_object_get(obj, "nics"), buf, size);
    const char *pin = s_text(obj, "pin");
    if (strcmp(pin, vm->host ? vm->host : "") != 0)
        s_differ(buf, size, "host %s -> %s", s_or_none(pin),
                 s_or_none(vm->host));
    const char *group = s_text(obj, "group");
    if (strcmp(group, vm->group ? vm->group : "") != 0)
        s_differ(buf, size, "group %s -> %s", s_or_none(group),
                 s_or_none(vm->group));
    const char *numa = s_text(obj, "numa");
    const char *want = policy_vm_numa_name(vm->numa);
    if (strcmp(numa[0] ? numa : "none", want) != 0)
        s_differ(buf, size, "numa %s -> %s", numa, want);
    bool separate = json_is_true(json_object_get(obj, "separate_pfs"));
    if (separate != vm->separate_pfs)
        s_differ(buf, size, "separate_pfs %s -> %s",
                 separate ? "true" : "false",
                 vm->separate_pfs ? "true" : "false");
}

/* The controller holds a VM of that name: the same, or an error. */
static s_outcome_t s_existing(s_apply_t *a, const policy_vm_t *vm,
                              const json_t *obj)
{
    char differences[1024];
    s_compare(vm, obj, differences, sizeof(differences));
    const char *host = json_string_value(json_object_get(obj, "host"));
    if (differences[0])
        return s_report(a, S_FAILED, host,
                        "exists with different settings (%s); delete it "
                        "first: a passthrough VM's NICs and memory cannot "
                        "change in place",
                        differences);
    if (strcmp(s_text(obj, "state"), "failed") == 0)
        return s_report(a, S_FAILED, host,
                        "exists but failed: %s; delete it and apply again "
                        "to place it",
                        s_text(obj, "error"));
    return s_report(a, S_UNCHANGED, host, "unchanged");
}

/* ---- creating ---------------------------------------------------------- */

json_t *cli_vm_apply_request(const policy_vm_t *vm)
{
    json_t *nics = json_array();
    for (size_t i = 0; i < vm->nic_count; i++) {
        json_t *nic = json_pack("{s:s}", "network", vm->nics[i].network);
        if (vm->nics[i].mac)
            json_object_set_new(nic, "mac", json_string(vm->nics[i].mac));
        json_array_append_new(nics, nic);
    }
    json_t *doc = json_pack("{s:s, s:I, s:I, s:o, s:s, s:b}", "name", vm->name,
                            "memory_mib", (json_int_t)vm->memory_mib, "vcpus",
                            (json_int_t)vm->vcpus, "nics", nics, "numa",
                            policy_vm_numa_name(vm->numa), "separate_pfs",
                            vm->separate_pfs);
    assert(doc);
    if (vm->host)
        json_object_set_new(doc, "host", json_string(vm->host));
    if (vm->group)
        json_object_set_new(doc, "group", json_string(vm->group));
    return doc;
}

/* Sends verb with doc (taken) as its body; the client's status, the
 * answer in *reply. */
static int s_exchange(s_apply_t *a, const char *verb, json_t *doc,
                      cli_reply_t *reply)
{
    char *body = json_dumps(doc, JSON_COMPACT);
    assert(body);
    json_decref(doc);
    cli_request_t req;
    cli_request_init(&req, verb);
    req.body = body;
    req.body_len = strlen(body);
    int status = cli_client_exchange(a->client, &req, reply);
    free(body);
    return status;
}

/* What became of a VM created with --wait, from its vm.show: placed or
 * failed, or still reserved when the wait ran out. */
static s_outcome_t s_created(s_apply_t *a, const json_t *obj)
{
    const char *host = json_string_value(json_object_get(obj, "host"));
    const char *state = s_text(obj, "state");
    if (strcmp(state, "placed") == 0)
        return s_report(a, S_CREATED, host, "created on %s, placed",
                        s_or_none(host));
    if (strcmp(state, "failed") == 0)
        return s_report(a, S_FAILED, host, "created, but failed: %s",
                        s_text(obj, "error"));
    return s_report(a, S_FAILED, host,
                    "created on %s, but not placed within %u s",
                    s_or_none(host), a->wait_s);
}

/* --wait: asks vm.show until the created VM is no longer reserved, or
 * its wait ran out. */
static s_outcome_t s_wait_placed(s_apply_t *a, const policy_vm_t *vm,
                                 const char *host)
{
    int64_t deadline = zclock_mono() + (int64_t)a->wait_s * 1000;
    int64_t pause = S_POLL_FIRST_MS;
    for (;;) {
        if (a->lost)
            return s_report(a, S_STOPPED, host,
                            "created on %s; error: no answer from the "
                            "controller",
                            s_or_none(host));
        cli_request_t req;
        cli_request_init(&req, "vm.show");
        cli_request_set(&req, "name", vm->name);
        cli_reply_t reply;
        if (cli_client_exchange(a->client, &req, &reply) != CLI_EXIT_OK) {
            a->lost = true;
            continue;
        }
        bool reserved = reply.status == VFP_OK &&
                        strcmp(s_text(reply.body, "state"), "reserved") == 0;
        bool done = !reserved || zclock_mono() >= deadline;
        s_outcome_t outcome = S_FAILED;
        if (reply.status != VFP_OK)
            outcome =
                s_report(a, S_FAILED, host, "created on %s, then: error: %s",
                         s_or_none(host), reply.error);
        else if (done)
            outcome = s_created(a, reply.body);
        cli_reply_clear(&reply);
        if (done)
            return outcome;
        int64_t left = deadline - zclock_mono();
        zclock_sleep((int)(left < pause ? (left > 0 ? left : 0) : pause));
        pause = pause * 2 < S_POLL_MAX_MS ? pause * 2 : S_POLL_MAX_MS;
    }
}

/* A VM created while --wait creates: waited for at its turn. */
static s_outcome_t s_pending(s_apply_t *a, const char *host)
{
    s_line_t *line = &a->lines[a->at];
    free(line->host);
    free(line->text);
    *line = (s_line_t){.outcome = S_CREATED,
                       .known = true,
                       .pending = true,
                       .host = s_dup(host)};
    return S_CREATED;
}

/* The controller created the VM, reserved on host. */
static s_outcome_t s_made(s_apply_t *a, const char *host)
{
    if (a->wait)
        return s_pending(a, host);
    return s_report(a, S_CREATED, host, "created on %s", s_or_none(host));
}

/* One vm.create, for a controller without vm.create.batch. */
static s_outcome_t s_create(s_apply_t *a, const policy_vm_t *vm)
{
    cli_reply_t reply;
    int status = s_exchange(a, "vm.create", cli_vm_apply_request(vm), &reply);
    if (status != CLI_EXIT_OK)
        return s_report(a, S_STOPPED, NULL,
                        "error: no answer from the controller");
    const char *host = json_string_value(json_object_get(reply.body, "host"));
    s_outcome_t outcome;
    if (reply.status == VFP_OK)
        outcome = s_made(a, host);
    else if (reply.status == VFP_ERR_CONFLICT)
        outcome = s_report(a, S_REFUSED, NULL, "refused: %s", reply.error);
    else
        outcome = s_report(a, S_FAILED, NULL, "error: %s", reply.error);
    cli_reply_clear(&reply);
    return outcome;
}

/* vm.show of vm into *reply; false after recording that the run stopped
 * (at the first VM still waiting in a batch, since the ones queued before
 * vm were not created). */
static bool s_show(s_apply_t *a, const policy_vm_t *vm, cli_reply_t *reply)
{
    cli_request_t req;
    cli_request_init(&req, "vm.show");
    cli_request_set(&req, "name", vm->name);
    if (cli_client_exchange(a->client, &req, reply) == CLI_EXIT_OK)
        return true;
    if (a->queued)
        a->at = a->queue[0];
    a->queued = 0;
    s_report(a, S_STOPPED, NULL, "error: no answer from the controller");
    return false;
}

/* A VM of the file: compared when the controller knows it, else queued
 * for the next batch (or created at once without batches). False when
 * the run stopped. */
static bool s_apply_vm(s_apply_t *a, const policy_vm_t *vm)
{
    cli_reply_t reply;
    if (!s_show(a, vm, &reply))
        return false;
    s_outcome_t outcome = S_CREATED;
    if (reply.status == VFP_OK)
        s_existing(a, vm, reply.body);
    else if (reply.status != VFP_ERR_NOT_FOUND)
        s_report(a, S_FAILED, NULL, "error: %s", reply.error);
    else if (a->dry_run)
        s_report(a, S_WOULD_CREATE, NULL, "would be created");
    else if (a->single)
        outcome = s_create(a, vm);
    else
        a->queue[a->queued++] = a->at;
    cli_reply_clear(&reply);
    return outcome != S_STOPPED;
}

/* ---- creating in batches ----------------------------------------------- */

/* {"vms": [each queued VM's vm.create body]}. */
static json_t *s_batch_body(const s_apply_t *a)
{
    json_t *vms = json_array();
    for (size_t i = 0; i < a->queued; i++)
        json_array_append_new(vms,
                              cli_vm_apply_request(&a->file->vms[a->queue[i]]));
    return json_pack("{s:o}", "vms", vms);
}

/* Whether error is vm.create's CONFLICT for a VM that exists already. */
static bool s_says_exists(const char *error, const char *name)
{
    size_t len = strlen(name);
    return strncmp(error, "vm ", 3) == 0 &&
           strncmp(error + 3, name, len) == 0 &&
           strcmp(error + 3 + len, " exists") == 0;
}

/* The batch found vm exists (another client made it since vm.show said
 * it did not): compared, as a VM the controller knows. */
static s_outcome_t s_recheck(s_apply_t *a, const policy_vm_t *vm)
{
    cli_reply_t reply;
    if (!s_show(a, vm, &reply))
        return S_STOPPED;
    s_outcome_t outcome =
        reply.status == VFP_OK
            ? s_existing(a, vm, reply.body)
            : s_report(a, S_FAILED, NULL, "error: %s", reply.error);
    cli_reply_clear(&reply);
    return outcome;
}

/* One VM's result in the batch's answer, read as vm.create's answer with
 * its status would be. */
static s_outcome_t s_batch_result(s_apply_t *a, const policy_vm_t *vm,
                                  const json_t *result)
{
    const char *status = s_text(result, "status");
    const char *error = s_text(result, "error");
    const json_t *made = json_object_get(result, "vm");
    if (strcmp(status, "OK") == 0)
        return s_made(a, json_string_value(json_object_get(made, "host")));
    if (strcmp(status, "CONFLICT") != 0)
        return s_report(a, S_FAILED, NULL, "error: %s", error);
    if (s_says_exists(error, vm->name))
        return s_recheck(a, vm);
    return s_report(a, S_REFUSED, NULL, "refused: %s", error);
}

/* The answer's results, one per queued VM in order; false when the run
 * stopped. An answer that does not hold one result per VM, named after
 * it, fails every VM of the batch. */
static bool s_batch_results(s_apply_t *a, size_t count, const json_t *body)
{
    const json_t *results = json_object_get(body, "results");
    bool matches = json_array_size(results) == count;
    for (size_t i = 0; matches && i < count; i++)
        matches = strcmp(s_text(json_array_get(results, i), "name"),
                         a->file->vms[a->queue[i]].name) == 0;
    for (size_t i = 0; i < count; i++) {
        const policy_vm_t *vm = &a->file->vms[a->queue[i]];
        a->at = a->queue[i];
        if (!matches)
            s_report(a, S_FAILED, NULL,
                     "error: the controller's vm.create.batch answer does "
                     "not hold this VM's result in its place (%zu results "
                     "for %zu VMs)",
                     json_array_size(results), count);
        else if (s_batch_result(a, vm, json_array_get(results, i)) == S_STOPPED)
            return false;
    }
    return true;
}

/* A whole-batch answer: each VM as one vm.create answered with it (a
 * controller without vm.create.batch gets one vm.create each, then and
 * from now on); false when the run stopped. */
static bool s_batch_answer(s_apply_t *a, size_t count, const cli_reply_t *reply)
{
    if (reply->status == VFP_OK)
        return s_batch_results(a, count, reply->body);
    a->single = a->single || reply->status == VFP_ERR_UNKNOWN_VERB;
    for (size_t i = 0; i < count; i++) {
        const policy_vm_t *vm = &a->file->vms[a->queue[i]];
        a->at = a->queue[i];
        if (!a->single)
            s_report(a, S_FAILED, NULL, "error: %s", reply->error);
        else if (s_create(a, vm) == S_STOPPED)
            return false;
    }
    return true;
}

/* Creates the queued VMs with one vm.create.batch (a busy answer is sent
 * again, as every request is); false when the run stopped. */
static bool s_send_batch(s_apply_t *a)
{
    size_t count = a->queued;
    if (count == 0)
        return true;
    cli_reply_t reply;
    int status = s_exchange(a, "vm.create.batch", s_batch_body(a), &reply);
    a->queued = 0;
    if (status != CLI_EXIT_OK) {
        a->at = a->queue[0];
        s_report(a, S_STOPPED, NULL, "error: no answer from the controller");
        return false;
    }
    bool go_on = s_batch_answer(a, count, &reply);
    cli_reply_clear(&reply);
    return go_on;
}

/* ---- the verb ---------------------------------------------------------- */

/* The options and FILE; -1 to go on, else an exit status. */
static int s_parse(s_apply_t *a, int argc, char **argv)
{
    optind = 0;
    for (;;) {
        int opt = cli_next_option(a->cli, argc, argv, s_options, s_usage);
        if (opt == CLI_NEXT_END)
            break;
        if (opt == CLI_NEXT_HELP) {
            fputs(s_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (opt == CLI_NEXT_USAGE)
            return CLI_EXIT_USAGE;
        if (opt == S_OPT_WAIT)
            a->wait = true;
        else
            a->dry_run = true;
    }
    if (optind + 1 != argc)
        return cli_usage_error(s_usage, "vm apply: expected one FILE");
    a->path = argv[optind];
    a->wait_s = S_WAIT_DEFAULT_S;
    if (a->cli->timeout_set)
        a->wait_s = (a->cli->timeout_ms + 999) / 1000;
    return -1;
}

static void s_summary(s_apply_t *a, size_t total)
{
    size_t *n = a->counts;
    if (a->cli->output == CLI_OUTPUT_JSON) {
        json_t *doc = json_pack(
            "{s:s, s:b, s:o, s:I, s:I, s:I, s:I, s:I}", "file", a->path,
            "dry_run", a->dry_run, "vms", json_incref(a->results), "created",
            (json_int_t)n[S_CREATED], "unchanged", (json_int_t)n[S_UNCHANGED],
            "would_create", (json_int_t)n[S_WOULD_CREATE], "refused",
            (json_int_t)n[S_REFUSED], "failed",
            (json_int_t)(n[S_FAILED] + n[S_STOPPED]));
        cli_print_json(doc);
        json_decref(doc);
        return;
    }
    size_t done = 0;
    for (size_t i = 0; i <= S_STOPPED; i++)
        done += n[i];
    if (a->dry_run)
        printf("%s: %zu VMs: %zu would be created, %zu unchanged, %zu "
               "failed (dry run: nothing was changed)\n",
               a->path, total, n[S_WOULD_CREATE], n[S_UNCHANGED],
               n[S_FAILED] + n[S_STOPPED]);
    else
        printf("%s: %zu VMs: %zu created, %zu unchanged, %zu refused, %zu "
               "failed\n",
               a->path, total, n[S_CREATED], n[S_UNCHANGED], n[S_REFUSED],
               n[S_FAILED] + n[S_STOPPED]);
    if (done < total)
        printf("%s: stopped: %zu VMs not applied\n", a->path, total - done);
}

policy_vm_file_t *cli_vm_apply_load(const char *path)
{
    policy_errors_t *errs = policy_errors_new();
    assert(errs);
    policy_vm_file_t *file = policy_vm_file_parse_file(path, errs);
    if (!file)
        policy_errors_print(errs, stderr);
    policy_errors_destroy(&errs);
    return file;
}

/* Prints the lines whose outcome is known, in file order, up to the first
 * that is not, and none after one that stopped the run. A created VM that
 * --wait waits for is asked after first, until placed or failed. */
static void s_flush(s_apply_t *a)
{
    while (!a->halted && a->shown < a->file->vm_count &&
           a->lines[a->shown].known) {
        size_t i = a->shown++;
        s_line_t *line = &a->lines[i];
        const policy_vm_t *vm = &a->file->vms[i];
        a->halted = line->outcome == S_STOPPED;
        if (line->pending) {
            a->at = i;
            s_wait_placed(a, vm, line->host);
        }
        s_emit(a, vm, line->outcome, line->host, line->text);
    }
}

/* Every VM in file order: compared, or created in batches of up to
 * S_BATCH_MAX; without --wait each line is printed once known. */
static void s_apply_all(s_apply_t *a)
{
    bool go_on = true;
    for (size_t i = 0; go_on && i < a->file->vm_count; i++) {
        a->at = i;
        go_on = s_apply_vm(a, &a->file->vms[i]);
        if (go_on && a->queued == S_BATCH_MAX)
            go_on = s_send_batch(a);
        if (!a->wait)
            s_flush(a);
    }
    if (go_on)
        s_send_batch(a);
    s_flush(a);
}

static void s_lines_free(s_apply_t *a)
{
    for (size_t i = 0; i < a->file->vm_count; i++) {
        free(a->lines[i].host);
        free(a->lines[i].text);
    }
    free(a->lines);
    a->lines = NULL;
}

static int s_run(s_apply_t *a, const policy_vm_file_t *file)
{
    a->client = cli_client_new(a->cli);
    if (!a->client)
        return CLI_EXIT_ERROR;
    /* --timeout is the wait for each VM: each answer gets the default. */
    if (a->wait)
        cli_client_set_timeout(a->client, CLI_TIMEOUT_DEFAULT_MS);
    a->file = file;
    a->lines = calloc(file->vm_count, sizeof(*a->lines));
    assert(a->lines);
    s_apply_all(a);
    s_lines_free(a);
    cli_client_destroy(&a->client);
    s_summary(a, file->vm_count);
    size_t *n = a->counts;
    if (n[S_REFUSED] + n[S_FAILED] + n[S_STOPPED] > 0)
        return CLI_EXIT_ERROR;
    return n[S_WOULD_CREATE] > 0 ? CLI_EXIT_CHANGES : CLI_EXIT_OK;
}

int cli_vm_apply(cli_t *cli, int argc, char **argv)
{
    s_apply_t a = {.cli = cli};
    int status = s_parse(&a, argc, argv);
    if (status >= 0)
        return status;
    policy_vm_file_t *file = cli_vm_apply_load(a.path);
    if (!file)
        return CLI_EXIT_ERROR;
    a.results = json_array();
    status = s_run(&a, file);
    json_decref(a.results);
    policy_vm_file_destroy(&file);
    return status;
}
