/* cli.c - vfleetctl's global options, wherever on the command line they
 * appear, and its error messages. */
#include "cli.h"

#include <assert.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfp_duration.h"

/* path with a leading "~/" put under the home directory, into out. */
static void s_home_path(const char *path, char *out, size_t size)
{
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *entry = getpwuid(getuid());
        home = entry ? entry->pw_dir : "";
    }
    snprintf(out, size, "%s/%s", home, path + 2);
}

/* The value of environment variable name, else fallback. */
static const char *s_env(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

void cli_init(cli_t *cli)
{
    memset(cli, 0, sizeof(*cli));
    cli->controller = s_env("VFLEET_CONTROLLER", CLI_DEFAULT_CONTROLLER);
    cli->output = CLI_OUTPUT_TABLE;
    cli->timeout_ms = CLI_TIMEOUT_DEFAULT_MS;
    s_home_path(CLI_KEY_DEFAULT, cli->key_default, sizeof(cli->key_default));
    s_home_path(CLI_CONTROLLER_KEY_DEFAULT, cli->controller_key_default,
                sizeof(cli->controller_key_default));
    cli->key = s_env("VFLEET_KEY", cli->key_default);
    cli->controller_key =
        s_env("VFLEET_CONTROLLER_KEY", cli->controller_key_default);
}

int cli_global_option(cli_t *cli, int opt, const char *arg)
{
    switch (opt) {
    case 'c':
        cli->controller = arg;
        return 1;
    case 'o':
        if (strcmp(arg, "table") == 0) {
            cli->output = CLI_OUTPUT_TABLE;
        } else if (strcmp(arg, "json") == 0) {
            cli->output = CLI_OUTPUT_JSON;
        } else {
            cli_error("unknown output format '%s' (table or json)", arg);
            return -1;
        }
        return 1;
    case CLI_OPT_TIMEOUT:
        if (vfp_duration_parse_ms(arg, &cli->timeout_ms) != 0) {
            cli_error("--timeout '%s' is not a duration from 1ms to 3600s "
                      "(such as 5s, 500ms, 1.5)",
                      arg);
            return -1;
        }
        cli->timeout_set = true;
        return 1;
    case CLI_OPT_KEY:
        cli->key = arg;
        return 1;
    case CLI_OPT_CONTROLLER_KEY:
        cli->controller_key = arg;
        return 1;
    case CLI_OPT_INSECURE:
        cli->insecure = true;
        return 1;
    default:
        return 0;
    }
}

int cli_option_error(const char *verb, int opt, char **argv, const char *usage)
{
    const char *written = argv[optind - 1];
    bool is_long = strncmp(written, "--", 2) == 0;
    char name[64];
    if (optopt > 0 && optopt < CLI_OPT_TIMEOUT && (opt == '?' || !is_long))
        snprintf(name, sizeof(name), "-%c", optopt);
    else
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(written, "="),
                 written);
    cli_error("%s%s%s option '%s'", verb ? verb : "", verb ? ": " : "",
              opt == ':' ? "missing value for" : "unknown", name);
    if (usage)
        fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}

int cli_next_option(cli_t *cli, int argc, char **argv,
                    const struct option *options, const char *usage)
{
    opterr = 0;
    for (;;) {
        /* Verbs have no short options of their own, so the short string
         * is the global one. No "+": options may follow operands. */
        int opt = getopt_long(argc, argv, ":c:o:h", options, NULL);
        if (opt == -1)
            return CLI_NEXT_END;
        if (opt == 'h')
            return CLI_NEXT_HELP;
        if (opt == '?' || opt == ':') {
            cli_option_error(argv[0], opt, argv, usage);
            return CLI_NEXT_USAGE;
        }
        int global = cli_global_option(cli, opt, optarg);
        if (global < 0) {
            fputs(usage, stderr);
            return CLI_NEXT_USAGE;
        }
        if (global == 0)
            return opt;
    }
}

/* One "vfleetctl: " line on stderr. */
__attribute__((format(printf, 1, 0))) static void s_verror(const char *fmt,
                                                           va_list ap)
{
    fputs("vfleetctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_verror(fmt, ap);
    va_end(ap);
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_verror(fmt, ap);
    va_end(ap);
    fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}

/* Where the subverb is: the first word that is neither an option nor the
 * value of a global option written as a separate word; argc when none. */
int cli_find_subverb(int argc, char **argv)
{
    static const char *const with_value[] = {
        "-c",        "-o",    "--controller",    "--output",
        "--timeout", "--key", "--controller-key"};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return i + 1 < argc ? i + 1 : argc;
        if (argv[i][0] != '-' || !argv[i][1])
            return i;
        bool skip_value = false;
        for (size_t k = 0; k < sizeof(with_value) / sizeof(*with_value); k++)
            skip_value = skip_value || strcmp(argv[i], with_value[k]) == 0;
        i += skip_value;
    }
    return argc;
}

int cli_run_subverb(cli_t *cli, int argc, char **argv, int at, cli_verb_fn *run)
{
    char label[64];
    snprintf(label, sizeof(label), "%s %s", argv[0], argv[at]);
    char **sub = calloc((size_t)argc + 1, sizeof(*sub));
    assert(sub);
    int subc = 0;
    sub[subc++] = label;
    for (int k = 1; k < argc; k++)
        if (k != at)
            sub[subc++] = argv[k];
    int status = run(cli, subc, sub);
    free(sub);
    return status;
}
