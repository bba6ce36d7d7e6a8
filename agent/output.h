/* output.h - one printing path for the human table and JSON (iproute2's
 * print_*(PRINT_ANY, key, fmt, value) idea). */
#ifndef VFLEET_OUTPUT_H
#define VFLEET_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Where a value goes: both outputs, only the table, or only JSON. */
typedef enum { OUT_ANY, OUT_TABLE, OUT_JSON } out_kind_t;

typedef struct out_t out_t;

/* In table mode every call prints at once; in JSON mode values build a
 * document that out_destroy writes to file. */
out_t *out_new(FILE *file, bool json);
void out_destroy(out_t **self_p);

bool out_is_json(const out_t *self);

/* Containers exist in JSON only; key is NULL for the root and for members
 * of an array. */
void out_open_object(out_t *self, const char *key);
void out_close_object(out_t *self);
void out_open_array(out_t *self, const char *key);
void out_close_array(out_t *self);

/* fmt is the table format for the value ("driver %s "); key the JSON name
 * (ignored for array members). */
void out_string(out_t *self, out_kind_t kind, const char *key, const char *fmt,
                const char *value);
void out_uint(out_t *self, out_kind_t kind, const char *key, const char *fmt,
              uint64_t value);
void out_int(out_t *self, out_kind_t kind, const char *key, const char *fmt,
             int64_t value);
void out_bool(out_t *self, out_kind_t kind, const char *key, const char *fmt,
              bool value);

/* Table-only literal text: separators, indentation, newlines. */
void out_text(out_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
