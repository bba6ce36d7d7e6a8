/* test_memory.c - the resident memory --memory-max judges: heap a thread
 * freed is handed back to the kernel before it counts, after growth of
 * MEMORY_TRIM_STEP and once past a limit, and not again while the
 * process stays over it. Real allocations, real /proc/self/statm. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "memory.h"

#define S_MIB (1ULL << 20)
#define S_CHUNK (32 * 1024) /* heap, not a mapping of its own */

/* Only glibc's own allocator keeps freed heap resident: under a
 * sanitizer or valgrind the figures mean nothing. */
static bool s_own_allocator(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return false;
#else
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    bool valgrind = false;
    while (maps && fgets(line, sizeof(line), maps))
        valgrind = valgrind || strstr(line, "vgpreload");
    if (maps)
        fclose(maps);
    return !valgrind;
#endif
}

typedef struct {
    size_t mib;
    void *kept; /* the last chunk, so the arena's top stays in use */
} s_churn_t;

/* In a thread of its own, as libzmq's I/O threads do: touches mib MiB of
 * heap and frees all of it but the last chunk. */
static void *s_churn_run(void *arg)
{
    s_churn_t *churn = arg;
    size_t count = churn->mib * S_MIB / S_CHUNK;
    char **chunks = calloc(count, sizeof(*chunks));
    assert_non_null(chunks);
    for (size_t i = 0; i < count; i++) {
        chunks[i] = malloc(S_CHUNK);
        assert_non_null(chunks[i]);
        memset(chunks[i], 0x5a, S_CHUNK);
    }
    for (size_t i = 0; i + 1 < count; i++)
        free(chunks[i]);
    churn->kept = chunks[count - 1];
    free(chunks);
    return NULL;
}

static void *s_churn(size_t mib)
{
    s_churn_t churn = {.mib = mib};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_churn_run, &churn), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    return churn.kept;
}

/* Waits (up to 10 s) for the trimmer to have finished count trims. */
static void s_wait_trims(memory_t *memory, uint64_t count)
{
    for (int i = 0; i < 1000 && memory_trims(memory) < count; i++)
        usleep(10 * 1000);
}

static void test_freed_heap_does_not_trip_the_limit(void **state)
{
    (void)state;
    if (!s_own_allocator())
        skip();
    memory_t *memory = memory_new();
    uint64_t base = memory_rss(memory);
    assert_true(base > 0);
    void *kept = s_churn(256);
    /* The freed heap is still resident: what the limit must not count. */
    assert_true(memory_rss(memory) > base + 192 * S_MIB);
    uint64_t limit = base + 128 * S_MIB;
    uint64_t trims = memory_trims(memory);
    assert_true(memory_check(memory, limit) < limit);
    assert_int_equal(memory_trims(memory), trims + 1);
    free(kept);
    memory_destroy(&memory);
}

static void test_trimmed_after_each_step_of_growth(void **state)
{
    (void)state;
    if (!s_own_allocator())
        skip();
    memory_t *memory = memory_new();
    uint64_t trims = memory_trims(memory);
    uint64_t base = memory_rss(memory);
    void *small = s_churn(MEMORY_TRIM_STEP / S_MIB / 2);
    /* Half a step: left alone. */
    assert_true(memory_check(memory, 0) > base + MEMORY_TRIM_STEP / 4);
    assert_int_equal(memory_trims(memory), trims);
    void *large = s_churn(MEMORY_TRIM_STEP / S_MIB * 2);
    /* A step and a half: handed back by the trimmer, not by the caller. */
    assert_true(memory_check(memory, 0) > base + MEMORY_TRIM_STEP);
    s_wait_trims(memory, trims + 1);
    assert_true(memory_rss(memory) < base + MEMORY_TRIM_STEP);
    assert_int_equal(memory_trims(memory), trims + 1);
    free(small);
    free(large);
    memory_destroy(&memory);
}

static void test_over_the_limit_trims_once(void **state)
{
    (void)state;
    if (!s_own_allocator())
        skip();
    memory_t *memory = memory_new();
    uint64_t base = memory_rss(memory);
    size_t size = 128 * S_MIB;
    char *used = malloc(size);
    assert_non_null(used);
    memset(used, 0x5a, size);
    uint64_t limit = base + 64 * S_MIB;
    uint64_t trims = memory_trims(memory);
    /* In use, not freed: over the limit after the trim too. */
    assert_true(memory_check(memory, limit) > limit);
    assert_int_equal(memory_trims(memory), trims + 1);
    /* Still over, no growth: judged without trimming every few ms. */
    assert_true(memory_check(memory, limit) > limit);
    assert_int_equal(memory_trims(memory), trims + 1);
    /* Back under, then over again: trimmed again before it counts. */
    assert_true(memory_check(memory, limit + 2 * size) <= limit + 2 * size);
    assert_true(memory_check(memory, limit) > limit);
    assert_int_equal(memory_trims(memory), trims + 2);
    free(used);
    memory_destroy(&memory);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_freed_heap_does_not_trip_the_limit),
        cmocka_unit_test(test_trimmed_after_each_step_of_growth),
        cmocka_unit_test(test_over_the_limit_trims_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
