/* db_checkpoint.c - WAL checkpoints in a thread of their own, so that the
 * writer never waits for the fsync a checkpoint ends with. */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "db_internal.h"

struct db_checkpointer_t {
    db_t *db; /* the thread's own connection */
    int interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    uint64_t runs;
};

static void s_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *s_run(void *arg)
{
    db_checkpointer_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        struct timespec deadline;
        s_deadline(&deadline, self->interval_ms);
        int rc = 0;
        while (!self->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&self->wake, &self->lock, &deadline);
        if (self->stop)
            break;
        pthread_mutex_unlock(&self->lock);
        /* PASSIVE: copies what no reader still needs, never waits for the
         * writer or a reader; what it could not copy goes next time. */
        sqlite3_wal_checkpoint_v2(self->db->sql, NULL,
                                  SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&self->lock);
        self->runs++;
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

db_checkpointer_t *db_checkpointer_start(const char *path, int interval_ms,
                                         db_err_t *err)
{
    assert(interval_ms > 0);
    db_checkpointer_t *self = calloc(1, sizeof(*self));
    assert(self);
    self->interval_ms = interval_ms;
    self->db = db_connect(path, SQLITE_OPEN_READWRITE, err);
    /* A connection reads the file only when first used: until then a
     * checkpoint on it finds no WAL and does nothing. */
    if (self->db &&
        sqlite3_exec(self->db->sql, "SELECT 1 FROM sqlite_master LIMIT 1", NULL,
                     NULL, NULL) != SQLITE_OK) {
        db_set_error(self->db, err, DB_ERR_IO, "opening it for checkpoints");
        db_destroy(&self->db);
    }
    if (!self->db) {
        free(self);
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        db_errorf(err, DB_ERR_IO, "%s: cannot start the checkpoint thread",
                  path);
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->lock);
        db_destroy(&self->db);
        free(self);
        return NULL;
    }
    return self;
}

uint64_t db_checkpointer_runs(db_checkpointer_t *self)
{
    pthread_mutex_lock(&self->lock);
    uint64_t runs = self->runs;
    pthread_mutex_unlock(&self->lock);
    return runs;
}

void db_checkpointer_stop(db_checkpointer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    db_checkpointer_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    db_destroy(&self->db);
    free(self);
    *self_p = NULL;
}

int db_wal_autocheckpoint(db_t *self, int pages, db_err_t *err)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA wal_autocheckpoint=%d", pages);
    if (sqlite3_exec(self->sql, sql, NULL, NULL, NULL) != SQLITE_OK) {
        db_set_error(self, err, DB_ERR_IO, "setting wal_autocheckpoint");
        return -1;
    }
    return 0;
}
