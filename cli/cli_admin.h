/* cli_admin.h - a listing verb over the admin API as data (cli_admin.c
 * runs it): its options, the admin verb, the rows' key and columns, so
 * that every verb family pages, filters and prints listings one way. */
#ifndef VFLEET_CLI_ADMIN_H
#define VFLEET_CLI_ADMIN_H

#include "cli.h"
#include "cli_client.h"
#include "cli_print.h"

/* The option codes of listing options. */
enum {
    CLI_LIST_OPT_HOST = CLI_OPT_VERB,
    CLI_LIST_OPT_PF,
    CLI_LIST_OPT_FREE,
    CLI_LIST_OPT_STATE,
    CLI_LIST_OPT_SINCE,
    CLI_LIST_OPT_LIMIT,
    CLI_LIST_OPT_AFTER,
    CLI_LIST_OPT_ALL,
};

#define CLI_PAGING_OPTIONS                                                     \
    {"limit", required_argument, NULL, CLI_LIST_OPT_LIMIT},                    \
        {"after", required_argument, NULL, CLI_LIST_OPT_AFTER},                \
    {                                                                          \
        "all", no_argument, NULL, CLI_LIST_OPT_ALL                             \
    }
#define CLI_HOST_OPTION                                                        \
    {                                                                          \
        "host", required_argument, NULL, CLI_LIST_OPT_HOST                     \
    }
#define CLI_STATE_OPTION                                                       \
    {                                                                          \
        "state", required_argument, NULL, CLI_LIST_OPT_STATE                   \
    }
#define CLI_END_OPTIONS                                                        \
    {                                                                          \
        NULL, 0, NULL, 0                                                       \
    }

/* Prints a fetched listing instead of cli_print_listing: rows and next as
 * cli_page_fetch returned them; filters is the request as the options made
 * it (no paging), for a printer that asks the controller for more. */
typedef int(cli_listing_print_fn)(cli_t *cli, cli_client_t *client,
                                  const cli_request_t *filters, json_t *rows,
                                  json_t *next);

typedef struct {
    const char *verb;             /* the admin verb sent */
    const struct option *options; /* CLI_GLOBAL_OPTIONS first */
    const char *usage;            /* printed by --help and usage errors */
    const char *key;              /* the array of rows in each reply */
    const cli_column_t *cols;
    size_t ncols;
    /* Where paging through every page starts: NULL for the first row. */
    const char *first_after;
    cli_listing_print_fn *print; /* NULL: cli_print_listing */
} cli_listing_t;

/* Runs a listing verb: argv[0] is the verb as typed; its options (paging,
 * --host, --state, --since) become parameters; every page (or the one
 * asked for) is fetched and printed. Returns an exit status. */
int cli_listing_run(cli_t *cli, int argc, char **argv,
                    const cli_listing_t *listing);

#endif
