/* cli_policy.c - vfleetctl policy validate | show | diff: offline checks of
 * policy files, for an operator's shell and the policy repository's CI. */
#include "cli.h"
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_usage[] =
    "usage: vfleetctl policy validate FILE...\n"
    "       vfleetctl policy show FILE\n"
    "       vfleetctl policy diff OLD NEW\n"
    "\n"
    "  validate  check files; print every error as FILE:LINE:COLUMN: message\n"
    "  show      print the normalised policy (defaults filled in, stable\n"
    "            order) as YAML, after a comment with its sha256 revision\n"
    "  diff      print what changes from OLD to NEW; exit 0 when nothing\n"
    "            changes, 3 when something does\n";

/* Parses one file, printing its errors; NULL when it is not valid. */
static policy_t *s_load(const char *path)
{
    policy_errors_t *errs = policy_errors_new();
    if (!errs) {
        cli_error("out of memory");
        return NULL;
    }
    policy_t *policy = policy_parse_file(path, errs);
    if (!policy)
        policy_errors_print(errs, stderr);
    policy_errors_destroy(&errs);
    return policy;
}

static int s_validate(int argc, char **argv)
{
    if (argc < 1)
        return cli_usage_error(s_usage, "policy validate: no FILE given");
    int status = CLI_EXIT_OK;
    for (int i = 0; i < argc; i++) {
        policy_t *policy = s_load(argv[i]);
        char hash[65];
        if (!policy) {
            status = CLI_EXIT_ERROR;
        } else if (policy_sha256_hex(policy, hash) != 0) {
            cli_error("%s: out of memory", argv[i]);
            status = CLI_EXIT_ERROR;
        } else {
            printf("%s: valid, revision sha256:%s\n", argv[i], hash);
        }
        policy_destroy(&policy);
    }
    return status;
}

static int s_show(int argc, char **argv)
{
    if (argc != 1)
        return cli_usage_error(s_usage, "policy show: expected one FILE");
    policy_t *policy = s_load(argv[0]);
    if (!policy)
        return CLI_EXIT_ERROR;
    size_t len;
    char *text = policy_emit_string(policy, &len);
    policy_destroy(&policy);
    if (!text) {
        cli_error("%s: out of memory", argv[0]);
        return CLI_EXIT_ERROR;
    }
    char hash[65];
    policy_sha256_buffer(text, len, hash);
    printf("# vfleet policy, normalised; revision sha256:%s\n", hash);
    fwrite(text, 1, len, stdout);
    free(text);
    if (fflush(stdout) != 0) {
        cli_error("policy show: cannot write the output");
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

static int s_diff(int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error(s_usage, "policy diff: expected OLD and NEW");
    policy_t *old_policy = s_load(argv[0]);
    policy_t *new_policy = s_load(argv[1]);
    int status = CLI_EXIT_ERROR;
    if (old_policy && new_policy) {
        policy_diff_t *diff = policy_diff_new(old_policy, new_policy);
        if (!diff) {
            cli_error("policy diff: out of memory");
        } else {
            for (size_t i = 0; i < policy_diff_count(diff); i++)
                puts(policy_diff_line(diff, i));
            status = policy_diff_count(diff) ? CLI_EXIT_CHANGES : CLI_EXIT_OK;
            policy_diff_destroy(&diff);
        }
    }
    policy_destroy(&old_policy);
    policy_destroy(&new_policy);
    return status;
}

/* Takes the global options out of argv, wherever they are, and leaves the
 * operands in argv[optind..]. Returns -1 to go on, else an exit status. */
static int s_options(cli_t *cli, int argc, char **argv)
{
    static const struct option options[] = {CLI_GLOBAL_OPTIONS,
                                            {NULL, 0, NULL, 0}};
    optind = 0;
    /* The policy commands take no options of their own: a dash is a typo,
     * not a file name (write "-- -file" for that). */
    switch (cli_next_option(cli, argc, argv, options, s_usage)) {
    case CLI_NEXT_END:
        return -1;
    case CLI_NEXT_HELP:
        fputs(s_usage, stdout);
        return CLI_EXIT_OK;
    default:
        return CLI_EXIT_USAGE;
    }
}

int cli_policy(cli_t *cli, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } subverbs[] = {
        {"validate", s_validate},
        {"show", s_show},
        {"diff", s_diff},
    };
    int status = s_options(cli, argc, argv);
    if (status >= 0)
        return status;
    if (optind == argc)
        return cli_usage_error(s_usage, "policy: expected validate, show or "
                                        "diff");
    const char *subverb = argv[optind];
    for (size_t i = 0; i < sizeof(subverbs) / sizeof(*subverbs); i++)
        if (strcmp(subverb, subverbs[i].name) == 0)
            return subverbs[i].run(argc - optind - 1, argv + optind + 1);
    return cli_usage_error(s_usage, "policy: unknown command '%s'", subverb);
}
