/* cli_page.h - fetching a paged listing (controller/ADMIN.md, "Paging"):
 * every page merged into one array, or one page and its next cursor. */
#ifndef VFLEET_CLI_PAGE_H
#define VFLEET_CLI_PAGE_H

#include <stdbool.h>

#include "cli_client.h"

typedef struct {
    bool all;          /* --all: every page, even with a limit */
    const char *limit; /* --limit N: rows per page; NULL: the most the
                        * controller gives (VFP_PAGE_LIMIT_MAX) */
    const char *after; /* --after CURSOR, or where the first page starts */
} cli_page_t;

/* One page's rows (a JSON array the caller of fn owns); 0 to go on, -1
 * (after saying why) to stop. */
typedef int cli_page_rows_fn(json_t *rows, void *arg);

/* Sends req (its own filters already set) once per page, with limit and
 * after set from page and each reply's "next", and hands each page's
 * array `key` to fn, so that no more than a page is held at a time.
 * Returns CLI_EXIT_OK with, for a single page, its next cursor (string or
 * null) in *next_p, NULL otherwise (caller decrefs it); or CLI_EXIT_ERROR
 * after saying why. */
int cli_page_each(cli_client_t *client, cli_request_t *req, const char *key,
                  const cli_page_t *page, cli_page_rows_fn *fn, void *arg,
                  json_t **next_p);

/* Sends req (its own filters already set) once per page, with limit and
 * after set from page and each reply's "next", and collects the rows of
 * the array `key` of each reply. Returns CLI_EXIT_OK with the rows in
 * *rows_p and, for a single page, its next cursor (string or null) in
 * *next_p, NULL otherwise (caller decrefs both); or CLI_EXIT_ERROR after
 * saying why. */
int cli_page_fetch(cli_client_t *client, cli_request_t *req, const char *key,
                   const cli_page_t *page, json_t **rows_p, json_t **next_p);

/* Tells on stderr how to get the page after a single one, when there
 * is one ("more KEY follow; ... --after CURSOR"). */
void cli_page_hint(const char *key, json_t *next);

#endif
