/* cli_keys.c - vfleetctl keys: the controller's CURVE key directory
 * (init, add-host, add-admin, revoke, list). Files only, on the
 * controller host: the controller need not run, and it notices an
 * authorised key added or removed without a restart. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_print.h"
#include "vfp_keys.h"

static const char s_usage[] =
    "usage: vfleetctl keys init [--force] [--keys DIR]\n"
    "       vfleetctl keys add-host NAME [--public Z85KEY] [--out FILE] "
    "[--keys DIR]\n"
    "       vfleetctl keys add-admin NAME [--read-only] [--public Z85KEY] "
    "[--out FILE]\n"
    "                                [--keys DIR]\n"
    "       vfleetctl keys revoke NAME [--host | --admin] [--keys DIR]\n"
    "       vfleetctl [GLOBAL-OPTIONS] keys list [--keys DIR]\n"
    "\n"
    "The controller's key directory (default " VFP_KEYS_DEFAULT_DIR "):\n"
    "init creates the controller's key pair; add-host and add-admin\n"
    "authorise a key for one host name or one admin, generating a pair (the\n"
    "secret certificate goes to --out, default ./NAME.key_secret, mode 0600)\n"
    "or importing a public key with --public; revoke removes a key, and the\n"
    "running controller drops its sessions; list shows every authorised key.\n"
    "\n"
    "options:\n"
    "  --keys DIR       the key directory\n"
    "  --force          init: replace an existing controller key pair\n"
    "  --public Z85KEY  add-*: authorise this public key (no secret written)\n"
    "  --out FILE       add-*: where the generated secret certificate goes\n"
    "  --read-only      add-admin: the admin may only read (role read-only)\n"
    "  --host, --admin  revoke: which kind of key NAME is, when both exist\n";

enum {
    S_OPT_KEYS = CLI_OPT_VERB,
    S_OPT_FORCE,
    S_OPT_PUBLIC,
    S_OPT_OUT,
    S_OPT_READ_ONLY,
    S_OPT_HOST,
    S_OPT_ADMIN,
};

static const struct option s_options[] = {
    CLI_GLOBAL_OPTIONS,
    {"keys", required_argument, NULL, S_OPT_KEYS},
    {"force", no_argument, NULL, S_OPT_FORCE},
    {"public", required_argument, NULL, S_OPT_PUBLIC},
    {"out", required_argument, NULL, S_OPT_OUT},
    {"read-only", no_argument, NULL, S_OPT_READ_ONLY},
    {"host", no_argument, NULL, S_OPT_HOST},
    {"admin", no_argument, NULL, S_OPT_ADMIN},
    {NULL, 0, NULL, 0}};

typedef struct {
    const char *dir;
    const char *public_z85;
    const char *out;
    bool force, read_only, host, admin;
    const char *subverb;
    const char *name;
    int operands;
} s_args_t;

static void s_set(s_args_t *args, int opt, const char *arg)
{
    switch (opt) {
    case S_OPT_KEYS:
        args->dir = arg;
        break;
    case S_OPT_FORCE:
        args->force = true;
        break;
    case S_OPT_PUBLIC:
        args->public_z85 = arg;
        break;
    case S_OPT_OUT:
        args->out = arg;
        break;
    case S_OPT_READ_ONLY:
        args->read_only = true;
        break;
    case S_OPT_HOST:
        args->host = true;
        break;
    default:
        args->admin = true;
        break;
    }
}

/* Returns -1 to go on, else an exit status. */
static int s_parse(cli_t *cli, int argc, char **argv, s_args_t *args)
{
    *args = (s_args_t){.dir = VFP_KEYS_DEFAULT_DIR};
    optind = 0;
    for (int opt; (opt = cli_next_option(cli, argc, argv, s_options,
                                         s_usage)) != CLI_NEXT_END;) {
        if (opt == CLI_NEXT_HELP) {
            fputs(s_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (opt == CLI_NEXT_USAGE)
            return CLI_EXIT_USAGE;
        s_set(args, opt, optarg);
    }
    args->operands = argc - optind;
    args->subverb = optind < argc ? argv[optind] : NULL;
    args->name = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (!args->subverb)
        return cli_usage_error(s_usage, "keys: no subverb given");
    return -1;
}

/* Options given that the subverb does not take, a wrong operand count, or
 * a NAME no key may have: a usage error's status, else -1. */
static int s_only(const s_args_t *args, bool force, bool add, bool read_only,
                  bool kind, int operands)
{
    if ((args->force && !force) || ((args->public_z85 || args->out) && !add) ||
        (args->read_only && !read_only) ||
        ((args->host || args->admin) && !kind))
        return cli_usage_error(s_usage, "keys %s: option not taken here",
                               args->subverb);
    if (args->operands != operands)
        return cli_usage_error(s_usage, "keys %s: %s", args->subverb,
                               operands == 2 ? "expected one NAME"
                                             : "takes no operand");
    if (args->host && args->admin)
        return cli_usage_error(s_usage, "keys revoke: --host or --admin");
    if (args->public_z85 && args->out)
        return cli_usage_error(s_usage,
                               "keys %s: --out is for a generated "
                               "pair, not with --public",
                               args->subverb);
    char why[256];
    if (operands == 2 && vfp_keys_name_check(args->name, why, sizeof(why)) != 0)
        return cli_usage_error(s_usage, "keys %s: invalid name %s: %s",
                               args->subverb, args->name, why);
    return -1;
}

static int s_init(const s_args_t *args)
{
    int status = s_only(args, true, false, false, false, 1);
    if (status >= 0)
        return status;
    char err[1024];
    if (vfp_keys_init(args->dir, args->force, err, sizeof(err)) != 0) {
        cli_error("keys init: %s", err);
        return CLI_EXIT_ERROR;
    }
    printf(
        "controller key pair written: %s/" VFP_KEYS_CONTROLLER
        " (public: copy it to every agent as " VFP_KEYS_AGENT_CONTROLLER_DEFAULT
        ") and %s/" VFP_KEYS_CONTROLLER VFP_KEYS_SECRET_SUFFIX
        " (secret, mode 0600)\n",
        args->dir, args->dir);
    return CLI_EXIT_OK;
}

static int s_add(const s_args_t *args, vfp_keys_kind_t kind)
{
    int status = s_only(args, false, true, kind == VFP_KEYS_ADMIN, false, 2);
    if (status >= 0)
        return status;
    char out[4096];
    snprintf(out, sizeof(out), "%s", args->out ? args->out : "");
    if (!args->out)
        snprintf(out, sizeof(out),
                 "./%s" VFP_KEYS_FILE_SUFFIX VFP_KEYS_SECRET_SUFFIX,
                 args->name);
    vfp_keys_add_t add = {
        .kind = kind,
        .name = args->name,
        .role = kind == VFP_KEYS_HOST ? VFP_KEYS_ROLE_HOST
                : args->read_only     ? VFP_KEYS_ROLE_READ_ONLY
                                      : VFP_KEYS_ROLE_ADMIN,
        .public_z85 = args->public_z85,
        .secret_out = out,
    };
    char err[1024];
    if (vfp_keys_add(args->dir, &add, err, sizeof(err)) != 0) {
        cli_error("keys %s: %s", args->subverb, err);
        return CLI_EXIT_ERROR;
    }
    printf("%s %s authorised (role %s)", vfp_keys_kind_name(kind), args->name,
           add.role);
    if (args->public_z85)
        printf("\n");
    else
        printf("; its secret certificate: %s (mode 0600)\n", out);
    return CLI_EXIT_OK;
}

static int s_revoke(const s_args_t *args)
{
    int status = s_only(args, false, false, false, true, 2);
    if (status >= 0)
        return status;
    vfp_keys_kind_t kind = args->host ? VFP_KEYS_HOST : VFP_KEYS_ADMIN;
    char err[1024];
    if (vfp_keys_revoke(args->dir, args->host || args->admin ? &kind : NULL,
                        args->name, err, sizeof(err)) != 0) {
        cli_error("keys revoke: %s", err);
        return CLI_EXIT_ERROR;
    }
    printf("%s revoked\n", args->name);
    return CLI_EXIT_OK;
}

static const cli_column_t s_cols[] = {
    {"KIND", "kind", CLI_CELL_TEXT, NULL},
    {"NAME", "name", CLI_CELL_TEXT, NULL},
    {"ROLE", "role", CLI_CELL_TEXT, NULL},
    {"PUBLIC KEY", "public_key", CLI_CELL_TEXT, NULL},
};

static int s_list(const cli_t *cli, const s_args_t *args)
{
    int status = s_only(args, false, false, false, false, 1);
    if (status >= 0)
        return status;
    vfp_keys_entry_t *entries;
    char err[1024];
    struct stat st;
    if (stat(args->dir, &st) != 0) {
        cli_error("keys list: no key directory %s (vfleetctl keys init)",
                  args->dir);
        return CLI_EXIT_ERROR;
    }
    int count = vfp_keys_list(args->dir, &entries, err, sizeof(err));
    if (count < 0) {
        cli_error("keys list: %s", err);
        return CLI_EXIT_ERROR;
    }
    json_t *rows = json_array();
    for (int i = 0; i < count; i++)
        json_array_append_new(
            rows, json_pack("{s:s, s:s, s:s, s:s}", "kind",
                            vfp_keys_kind_name(entries[i].kind), "name",
                            entries[i].name, "role", entries[i].role,
                            "public_key", entries[i].public_z85));
    free(entries);
    status =
        cli_print_listing(cli, "keys", rows, NULL, s_cols, CLI_NCOLS(s_cols));
    json_decref(rows);
    return status;
}

int cli_keys(cli_t *cli, int argc, char **argv)
{
    s_args_t args;
    int status = s_parse(cli, argc, argv, &args);
    if (status >= 0)
        return status;
    if (strcmp(args.subverb, "init") == 0)
        return s_init(&args);
    if (strcmp(args.subverb, "add-host") == 0)
        return s_add(&args, VFP_KEYS_HOST);
    if (strcmp(args.subverb, "add-admin") == 0)
        return s_add(&args, VFP_KEYS_ADMIN);
    if (strcmp(args.subverb, "revoke") == 0)
        return s_revoke(&args);
    if (strcmp(args.subverb, "list") == 0)
        return s_list(cli, &args);
    return cli_usage_error(s_usage, "keys: unknown subverb '%s'", args.subverb);
}
