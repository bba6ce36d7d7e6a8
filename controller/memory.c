/* memory.c - resident memory read from /proc/self/statm, and freed heap
 * handed back to the kernel before it counts against --memory-max
 * (memory.h). */
#include "memory.h"

#include <assert.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "vfp_log.h"

struct memory_t {
    int statm_fd; /* kept open: read every few milliseconds */
    pthread_t trimmer;
    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t wake;
    bool wanted; /* a trim is asked of the trimmer */
    bool stopping;
    bool over;            /* over the limit at the last check, after any trim */
    uint64_t trimmed_rss; /* resident memory after the last trim */
    uint64_t trims;
};

/* The file stays open: an open, a stdio buffer and a close every 5 ms
 * cost more than the read (at 10,000 hosts, 2 % of the loop). pread
 * keeps it safe to read from the trimmer too. */
uint64_t memory_rss(memory_t *self)
{
    char text[128];
    ssize_t len = self->statm_fd < 0
                      ? -1
                      : pread(self->statm_fd, text, sizeof(text) - 1, 0);
    unsigned long long size = 0, resident = 0;
    if (len <= 0)
        return 0;
    text[len] = '\0';
    if (sscanf(text, "%llu %llu", &size, &resident) != 2)
        return 0;
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static double s_ms_since(const struct timespec *from)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - from->tv_sec) * 1e3 +
           (double)(now.tv_nsec - from->tv_nsec) / 1e6;
}

/* glibc keeps what a thread frees in that thread's arena, and gives back
 * on its own only the free space at an arena's top: libzmq's I/O threads
 * free per-connection buffers all over theirs (at 10,000 hosts, two
 * policy rollouts left some 200 MB of free heap resident). Returns the
 * resident memory after the trim. */
static uint64_t s_trim(memory_t *self)
{
    uint64_t rss = memory_rss(self);
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    malloc_trim(0);
    uint64_t after = memory_rss(self);
    pthread_mutex_lock(&self->lock);
    self->trimmed_rss = after;
    self->trims++;
    pthread_mutex_unlock(&self->lock);
    vfp_log_debug("resident memory %llu MiB, %llu MiB after handing freed "
                  "heap back to the kernel (%.1f ms)",
                  (unsigned long long)(rss >> 20),
                  (unsigned long long)(after >> 20), s_ms_since(&started));
    return after;
}

/* Trims of growth run here: walking a large heap takes tens of
 * milliseconds (45 ms for 180 MB at 10,000 hosts), which the event loop
 * must not wait for. */
static void *s_trimmer(void *arg)
{
    memory_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        if (!self->wanted) {
            pthread_cond_wait(&self->wake, &self->lock);
            continue;
        }
        pthread_mutex_unlock(&self->lock);
        s_trim(self);
        pthread_mutex_lock(&self->lock);
        self->wanted = false;
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

memory_t *memory_new(void)
{
    memory_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    self->trimmed_rss = memory_rss(self);
    int rc = pthread_create(&self->trimmer, NULL, s_trimmer, self);
    assert(rc == 0);
    (void)rc;
    return self;
}

void memory_destroy(memory_t **self_p)
{
    memory_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->trimmer, NULL);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    if (self->statm_fd >= 0)
        close(self->statm_fd);
    free(self);
    *self_p = NULL;
}

uint64_t memory_check(memory_t *self, uint64_t limit)
{
    uint64_t rss = memory_rss(self);
    if (rss == 0)
        return 0;
    pthread_mutex_lock(&self->lock);
    /* Growth counts from the lowest point since the last trim. */
    if (rss < self->trimmed_rss)
        self->trimmed_rss = rss;
    bool grown = !self->wanted && rss >= self->trimmed_rss + MEMORY_TRIM_STEP;
    /* Passing the limit, it trims here, to judge; while the process stays
     * over it, only growth trims again (in the trimmer). */
    bool passed = limit && rss > limit && !self->over;
    self->over = limit && rss > limit;
    if (grown && !passed) {
        self->wanted = true;
        pthread_cond_signal(&self->wake);
    }
    pthread_mutex_unlock(&self->lock);
    if (!passed)
        return rss;
    rss = s_trim(self);
    pthread_mutex_lock(&self->lock);
    self->over = rss > limit;
    pthread_mutex_unlock(&self->lock);
    return rss;
}

uint64_t memory_trims(memory_t *self)
{
    pthread_mutex_lock(&self->lock);
    uint64_t trims = self->trims;
    pthread_mutex_unlock(&self->lock);
    return trims;
}
