/* cli_print.c - tables, detail views and JSON for vfleetctl's admin verbs.
 * Everything the controller sent passes cli_print_escape before it reaches
 * a terminal: a host name or message holding an escape sequence must not
 * drive the operator's terminal. */
#include "cli_print.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfp_escape.h"

char *cli_print_escape(const char *text)
{
    size_t size = strlen(text) * VFP_ESCAPE_GROWTH + 1;
    char *out = malloc(size);
    assert(out);
    vfp_escape(text, out, size);
    return out;
}

static json_t *s_path(json_t *obj, const char *path)
{
    if (!path)
        return NULL;
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", path);
    char *save = NULL;
    for (char *part = strtok_r(copy, ".", &save); part && obj;
         part = strtok_r(NULL, ".", &save))
        obj = json_object_get(obj, part);
    return obj;
}

/* The unescaped text of a scalar; "-" for null, objects and arrays. */
static char *s_scalar(json_t *value)
{
    char buf[64];
    if (json_is_string(value))
        return strdup(json_string_value(value));
    if (json_is_integer(value))
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(value));
    else if (json_is_real(value))
        snprintf(buf, sizeof(buf), "%g", json_real_value(value));
    else if (json_is_boolean(value))
        snprintf(buf, sizeof(buf), "%s",
                 json_is_true(value) ? "true" : "false");
    else
        snprintf(buf, sizeof(buf), "-");
    return strdup(buf);
}

static char *s_cell_raw(json_t *row, const cli_column_t *col)
{
    json_t *value = s_path(row, col->key);
    char *text;
    switch (col->kind) {
    case CLI_CELL_BOOL:
        return strdup(json_is_true(value) ? "yes" : "no");
    case CLI_CELL_TIME:
        text = s_scalar(value);
        /* 2026-11-25T08:38:40.123Z -> 2026-11-25T08:38:40Z */
        if (strlen(text) == 24 && text[19] == '.')
            memmove(text + 19, text + 23, 2);
        return text;
    case CLI_CELL_RATIO: {
        char *a = s_scalar(value);
        char *b = s_scalar(s_path(row, col->key2));
        text = malloc(strlen(a) + strlen(b) + 2);
        assert(text);
        sprintf(text, "%s/%s", a, b);
        free(a);
        free(b);
        return text;
    }
    case CLI_CELL_COUNT: {
        char buf[32];
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                 (json_int_t)json_array_size(value) +
                     json_integer_value(s_path(row, col->key2)));
        return strdup(buf);
    }
    case CLI_CELL_DASH:
        text = s_scalar(value);
        if (!text[0]) {
            free(text);
            text = strdup("-");
        }
        return text;
    default:
        return s_scalar(value);
    }
}

/* A cell as it is printed: formatted, then escaped. */
static char *s_cell(json_t *row, const cli_column_t *col)
{
    char *raw = s_cell_raw(row, col);
    assert(raw);
    char *cell = cli_print_escape(raw);
    free(raw);
    return cell;
}

/* Columns on a terminal, for UTF-8 text: continuation bytes take none. */
static size_t s_width(const char *text)
{
    size_t width = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        width += (*p & 0xc0) != 0x80;
    return width;
}

/* A table being filled: its cells as text, one after the other, each
 * ending in NUL (a row is ncols of them, the header first), so that the
 * rows of a listing of any size cost their text, not their JSON. */
struct cli_table {
    const cli_column_t *cols;
    size_t ncols;
    size_t *width;
    char *text;
    size_t len, cap;
};

static void s_table_cell(cli_table_t *self, size_t col, char *cell)
{
    size_t size = strlen(cell) + 1;
    if (self->len + size > self->cap) {
        self->cap = (self->len + size) * 2;
        self->text = realloc(self->text, self->cap);
        assert(self->text);
    }
    memcpy(self->text + self->len, cell, size);
    self->len += size;
    if (s_width(cell) > self->width[col])
        self->width[col] = s_width(cell);
    free(cell);
}

cli_table_t *cli_table_new(const cli_column_t *cols, size_t ncols)
{
    cli_table_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->cols = cols;
    self->ncols = ncols;
    self->width = calloc(ncols, sizeof(*self->width));
    assert(self->width);
    for (size_t c = 0; c < ncols; c++)
        s_table_cell(self, c, strdup(cols[c].header));
    return self;
}

void cli_table_add(cli_table_t *self, json_t *rows)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < self->ncols; c++)
            s_table_cell(self, c, s_cell(row, &self->cols[c]));
    }
}

void cli_table_print(const cli_table_t *self)
{
    const char *cell = self->text;
    for (size_t c = 0; cell < self->text + self->len;
         c = (c + 1) % self->ncols) {
        fputs(cell, stdout);
        if (c + 1 == self->ncols)
            putchar('\n');
        else
            for (size_t pad = s_width(cell); pad < self->width[c] + 2; pad++)
                putchar(' ');
        cell += strlen(cell) + 1;
    }
}

void cli_table_destroy(cli_table_t **self_p)
{
    if (!*self_p)
        return;
    free((*self_p)->width);
    free((*self_p)->text);
    free(*self_p);
    *self_p = NULL;
}

void cli_print_table(json_t *rows, const cli_column_t *cols, size_t ncols)
{
    cli_table_t *table = cli_table_new(cols, ncols);
    cli_table_add(table, rows);
    cli_table_print(table);
    cli_table_destroy(&table);
}

static void s_print_line(const char *label, const char *text)
{
    printf("%-16s %s\n", label, text);
}

void cli_print_line(const char *label, const char *text)
{
    char *cell = cli_print_escape(text);
    s_print_line(label, cell);
    free(cell);
}

void cli_print_labels(json_t *labels)
{
    /* 64 labels of a 63-character key and value at most. */
    char text[64 * 128 + 1] = "";
    size_t used = 0;
    const char *key;
    json_t *value;
    json_object_foreach(labels, key, value)
    {
        int n = snprintf(text + used, sizeof(text) - used, "%s%s=%s",
                         used ? " " : "", key,
                         json_is_string(value) ? json_string_value(value) : "");
        if (n < 0 || (size_t)n >= sizeof(text) - used)
            break;
        used += (size_t)n;
    }
    cli_print_line("labels", used ? text : "-");
}

void cli_print_fields(json_t *obj, const cli_column_t *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fields[i].kind != CLI_CELL_LIST) {
            char *cell = s_cell(obj, &fields[i]);
            s_print_line(fields[i].header, cell);
            free(cell);
            continue;
        }
        size_t j;
        json_t *item;
        json_array_foreach(s_path(obj, fields[i].key), j, item)
        {
            char *raw = s_scalar(item);
            char *cell = cli_print_escape(raw);
            s_print_line(fields[i].header, cell);
            free(cell);
            free(raw);
        }
    }
}

int cli_print_json(json_t *doc)
{
    if (json_dumpf(doc, stdout, JSON_INDENT(2)) != 0) {
        cli_error("cannot write the output");
        return CLI_EXIT_ERROR;
    }
    putchar('\n');
    return CLI_EXIT_OK;
}

struct cli_listing_out {
    bool json;
    const char *key;
    size_t rows;        /* JSON rows written so far */
    cli_table_t *table; /* the table's rows so far */
};

cli_listing_out_t *cli_listing_out_new(const cli_t *cli, const char *key,
                                       const cli_column_t *cols, size_t ncols)
{
    cli_listing_out_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->json = cli->output != CLI_OUTPUT_TABLE;
    self->key = key;
    if (!self->json)
        self->table = cli_table_new(cols, ncols);
    return self;
}

/* A row as json_dumpf writes it two levels deep (JSON_INDENT(2)): every
 * line after the first indented by four more spaces. */
static int s_json_row(json_t *row)
{
    char *text = json_dumps(row, JSON_INDENT(2));
    if (!text)
        return -1;
    for (const char *p = text; *p; p++) {
        putchar(*p);
        if (*p == '\n')
            fputs("    ", stdout);
    }
    free(text);
    return 0;
}

int cli_listing_out_add(cli_listing_out_t *self, json_t *rows)
{
    if (!self->json) {
        cli_table_add(self->table, rows);
        return 0;
    }
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (self->rows++ == 0)
            printf("{\n  \"%s\": [\n    ", self->key);
        else
            fputs(",\n    ", stdout);
        if (s_json_row(row) != 0) {
            cli_error("cannot write the output");
            return -1;
        }
    }
    return 0;
}

/* "next" as json_dumpf writes it one level deep, after the rows. */
static int s_json_next(json_t *next)
{
    char *text = json_dumps(next, JSON_ENCODE_ANY);
    if (!text)
        return -1;
    printf(",\n  \"next\": %s", text);
    free(text);
    return 0;
}

int cli_listing_out_end(cli_listing_out_t *self, json_t *next)
{
    if (!self->json)
        cli_table_print(self->table);
    else {
        if (self->rows == 0)
            printf("{\n  \"%s\": []", self->key);
        else
            fputs("\n  ]", stdout);
        if (next && s_json_next(next) != 0) {
            cli_error("cannot write the output");
            return CLI_EXIT_ERROR;
        }
        fputs("\n}\n", stdout);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write the output");
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

void cli_listing_out_destroy(cli_listing_out_t **self_p)
{
    if (!*self_p)
        return;
    cli_table_destroy(&(*self_p)->table);
    free(*self_p);
    *self_p = NULL;
}

int cli_print_listing(const cli_t *cli, const char *key, json_t *rows,
                      json_t *next, const cli_column_t *cols, size_t ncols)
{
    cli_listing_out_t *out = cli_listing_out_new(cli, key, cols, ncols);
    int status = cli_listing_out_add(out, rows) == 0
                     ? cli_listing_out_end(out, next)
                     : CLI_EXIT_ERROR;
    cli_listing_out_destroy(&out);
    return status;
}

/* "pf 0000:3b:00.0 vf 3 vlan", "pf 0000:3b:00.0 num_vfs", "hugepages
 * 2048kB": where an apply or drift item is, in the agent's words. */
static void s_item_place(json_t *item, char *buf, size_t size)
{
    const char *kind = json_string_value(json_object_get(item, "kind"));
    const char *pf = json_string_value(json_object_get(item, "pf"));
    const char *attr = json_string_value(json_object_get(item, "attribute"));
    if (!attr)
        attr = "";
    /* Drift items have no kind: a PF's own attribute is its VF count. */
    bool vf = kind ? strcmp(kind, "vf") == 0
                   : pf && pf[0] && strcmp(attr, "num_vfs") != 0;
    if (vf)
        snprintf(buf, size, "pf %s vf %" JSON_INTEGER_FORMAT " %s",
                 pf ? pf : "", json_integer_value(json_object_get(item, "vf")),
                 attr);
    else if (pf && pf[0])
        snprintf(buf, size, "pf %s %s", pf, attr);
    else
        snprintf(buf, size, "hugepages %s", attr);
}

void cli_print_failure(json_t *item, char *buf, size_t size)
{
    char place[512];
    s_item_place(item, place, sizeof(place));
    const char *name = json_string_value(json_object_get(item, "errno"));
    const char *msg = json_string_value(json_object_get(item, "message"));
    snprintf(buf, size, "%s: %s%s%s", place, name && name[0] ? name : "error",
             msg && msg[0] ? ": " : "", msg ? msg : "");
}

void cli_print_drift(json_t *item, char *buf, size_t size)
{
    char place[512];
    s_item_place(item, place, sizeof(place));
    const char *wanted = json_string_value(json_object_get(item, "wanted"));
    const char *has = json_string_value(json_object_get(item, "has"));
    snprintf(buf, size, "%s: wanted %s, has %s", place, wanted ? wanted : "",
             has ? has : "");
}
