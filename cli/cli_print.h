/* cli_print.h - the one printing path of vfleetctl's admin verbs: rows of
 * JSON objects as an aligned table, an object as "label value" lines, or
 * the JSON itself; text from the controller escaped for the terminal. */
#ifndef VFLEET_CLI_PRINT_H
#define VFLEET_CLI_PRINT_H

#include <jansson.h>
#include <stddef.h>

#include "cli.h"

typedef enum {
    CLI_CELL_TEXT,  /* string, number or bool as is; null as "-" */
    CLI_CELL_BOOL,  /* yes / no */
    CLI_CELL_TIME,  /* RFC 3339, shown to the second */
    CLI_CELL_RATIO, /* key/key2 */
    CLI_CELL_DASH,  /* "-" for null or "" */
    CLI_CELL_LIST,  /* an array of strings: one line per element */
    CLI_CELL_COUNT, /* an array's length, plus the integer key2 if any */
} cli_cell_kind_t;

/* A table column, or a line of a detail view (header is then the label). */
typedef struct {
    const char *header;
    const char *key; /* dotted path into the row object */
    cli_cell_kind_t kind;
    const char *key2; /* CLI_CELL_RATIO's denominator, CLI_CELL_COUNT's rest */
} cli_column_t;

#define CLI_NCOLS(cols) (sizeof(cols) / sizeof((cols)[0]))

/* Returns a copy of text that is safe on a terminal (caller frees),
 * escaped by vfp_escape. */
char *cli_print_escape(const char *text);

/* Prints rows (an array of objects) under a header line, each column
 * padded to its widest cell. */
void cli_print_table(json_t *rows, const cli_column_t *cols, size_t ncols);

/* The same table filled page by page: it keeps each row's cells as text
 * only, so a listing of 640,000 VFs costs tens of MB, not its JSON. */
typedef struct cli_table cli_table_t;
cli_table_t *cli_table_new(const cli_column_t *cols, size_t ncols);
void cli_table_add(cli_table_t *self, json_t *rows);
void cli_table_print(const cli_table_t *self);
void cli_table_destroy(cli_table_t **self_p);

/* A listing printed as its pages come: with -o json the object
 * {key: [rows]} as json_dumpf writes it (JSON_INDENT(2)), each page
 * written out at once; else the table, printed at the end. */
typedef struct cli_listing_out cli_listing_out_t;
cli_listing_out_t *cli_listing_out_new(const cli_t *cli, const char *key,
                                       const cli_column_t *cols, size_t ncols);
/* One page's rows; 0, or -1 when the output cannot be written. */
int cli_listing_out_add(cli_listing_out_t *self, json_t *rows);
/* Ends the output (the table, or the JSON's closing lines, with "next"
 * after the rows when next is not NULL: a single page); an exit status. */
int cli_listing_out_end(cli_listing_out_t *self, json_t *next);
void cli_listing_out_destroy(cli_listing_out_t **self_p);

/* Prints one "label  value" line per field of obj. */
void cli_print_fields(json_t *obj, const cli_column_t *fields, size_t n);

/* Prints one "label  text" line of a detail view, text escaped. */
void cli_print_line(const char *label, const char *text);

/* Prints a host's labels ({"key": "value"}) as one "labels  key=value
 * key=value" line, "-" when none. */
void cli_print_labels(json_t *labels);

/* Prints doc as indented JSON. Returns an exit status. */
int cli_print_json(json_t *doc);

/* A listing: with -o json the object {key: rows} (plus "next" when next
 * is not NULL: a single page), else the table. Returns an exit status. */
int cli_print_listing(const cli_t *cli, const char *key, json_t *rows,
                      json_t *next, const cli_column_t *cols, size_t ncols);

/* One failed apply item of policy.status ("pf 0000:3b:00.0 vf 1 vlan:
 * EINVAL: message") and one drift item ("pf 0000:3b:00.0 vf 0 vlan:
 * wanted 10, has 77"), unescaped, into buf. Drift items carry no kind:
 * a pf means a VF's attribute. */
void cli_print_failure(json_t *item, char *buf, size_t size);
void cli_print_drift(json_t *item, char *buf, size_t size);

#endif
