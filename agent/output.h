/* output.h - one printing path for the human table and JSON (iproute2's
 * print_*(PRINT_ANY, key, fmt, value) idea). */
#ifndef VFLEET_OUTPUT_H
#define VFLEET_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Where a value goes: both outputs, only the table, or only JSON. */
typedef enum { OUTPUT_ANY, OUTPUT_TABLE, OUTPUT_JSON } output_kind_t;

typedef struct output_t output_t;

/* In table mode every call prints at once; in JSON mode values build a
 * document that output_destroy writes to file. */
output_t *output_new(FILE *file, bool json);
void output_destroy(output_t **self_p);

bool output_is_json(const output_t *self);

/* Containers exist in JSON only; key is NULL for the root and for members
 * of an array. */
void output_open_object(output_t *self, const char *key);
void output_close_object(output_t *self);
void output_open_array(output_t *self, const char *key);
void output_close_array(output_t *self);

/* fmt is the table format for the value ("driver %s "); key the JSON name
 * (ignored for array members). */
void output_string(output_t *self, output_kind_t kind, const char *key,
                   const char *fmt, const char *value);
void output_uint(output_t *self, output_kind_t kind, const char *key,
                 const char *fmt, uint64_t value);
void output_int(output_t *self, output_kind_t kind, const char *key,
                const char *fmt, int64_t value);
void output_bool(output_t *self, output_kind_t kind, const char *key,
                 const char *fmt, bool value);

/* Table-only literal text: separators, indentation, newlines. */
void output_text(output_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
