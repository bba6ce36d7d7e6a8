/* memory.h - the controller's resident memory, read every few
 * milliseconds for --memory-max, with the heap its threads freed handed
 * back to the kernel before it counts and as the process grows. */
#ifndef VFLEET_MEMORY_H
#define VFLEET_MEMORY_H

#include <stdint.h>

/* Growth of the resident memory since the last trim after which the
 * free heap is handed back (bytes). */
#define MEMORY_TRIM_STEP (64ULL << 20)

typedef struct memory_t memory_t;

memory_t *memory_new(void);
void memory_destroy(memory_t **self_p);

/* Resident memory of this process in bytes; 0 when unknown. */
uint64_t memory_rss(memory_t *self);

/* The resident memory to judge against limit (bytes; 0: no limit). When
 * it passes the limit, the heap every thread freed is first handed back
 * to the kernel (malloc_trim) and the memory read again: freed heap is
 * not use, and must not trip the limit. While it stays over, and
 * whenever it has grown by MEMORY_TRIM_STEP since the last trim, a
 * thread of the module's own hands freed heap back after each such
 * growth, and the caller does not wait. */
uint64_t memory_check(memory_t *self, uint64_t limit);

/* How many trims have finished. */
uint64_t memory_trims(memory_t *self);

#endif
