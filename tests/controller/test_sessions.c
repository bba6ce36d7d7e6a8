/* test_sessions.c - the session table: iteration stays exact while hosts
 * are looked up, from the loop itself or from the admin thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "sessions.h"

#define S_HOSTS 2000

static void s_fill(sessions_t *sessions)
{
    for (int i = 0; i < S_HOSTS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "hv-%04d", i);
        sessions_add(sessions, name);
    }
}

/* A lookup between two steps of an iteration must not move it: the
 * controller's liveness pass once walked the table with zhashx's cursor,
 * which every lookup moves, so a host looked up meanwhile made the walk
 * visit hosts again and overrun the array sized for one visit each. */
static void test_lookup_during_iteration(void **state)
{
    (void)state;
    sessions_t *sessions = sessions_new();
    s_fill(sessions);
    static int seen[S_HOSTS];
    size_t size = sessions_size(sessions);
    assert_int_equal(size, S_HOSTS);
    for (size_t i = 0; i < size; i++) {
        session_t *host = sessions_at(sessions, i);
        int n = -1;
        assert_int_equal(sscanf(host->name, "hv-%d", &n), 1);
        seen[n]++;
        session_facts_t facts;
        assert_true(sessions_peek(sessions, "hv-0000", &facts));
        assert_non_null(sessions_find(sessions, "hv-1999"));
    }
    for (int i = 0; i < S_HOSTS; i++)
        assert_int_equal(seen[i], 1);
    sessions_destroy(&sessions);
}

typedef struct {
    sessions_t *sessions;
    atomic_bool stop;
    atomic_long lookups;
} s_reader_t;

static void *s_reader(void *arg)
{
    s_reader_t *reader = arg;
    session_facts_t facts;
    while (!atomic_load(&reader->stop)) {
        char name[32];
        snprintf(name, sizeof(name), "hv-%04ld",
                 atomic_load(&reader->lookups) % S_HOSTS);
        if (sessions_peek(reader->sessions, name, &facts))
            atomic_fetch_add(&reader->lookups, 1);
        (void)sessions_connected(reader->sessions);
    }
    return NULL;
}

/* The same with the admin thread's lookups running for real beside the
 * loop's walks. */
static void test_walks_exact_beside_a_reader_thread(void **state)
{
    (void)state;
    sessions_t *sessions = sessions_new();
    s_fill(sessions);
    s_reader_t reader = {.sessions = sessions};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_reader, &reader), 0);
    /* Walk until the reader has surely run beside the walks (it may start
     * late on a busy machine), within a generous bound. */
    time_t give_up = time(NULL) + 30;
    for (int walk = 0; (walk < 200 || atomic_load(&reader.lookups) < 10000) &&
                       time(NULL) < give_up;
         walk++) {
        size_t visited = 0, size = sessions_size(sessions);
        for (size_t i = 0; i < size; i++)
            visited += sessions_at(sessions, i) != NULL;
        assert_int_equal(visited, S_HOSTS);
    }
    atomic_store(&reader.stop, true);
    pthread_join(thread, NULL);
    assert_true(atomic_load(&reader.lookups) >= 10000);
    sessions_destroy(&sessions);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_during_iteration),
        cmocka_unit_test(test_walks_exact_beside_a_reader_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
