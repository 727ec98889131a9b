/*
 * A small pool of native worker threads for rk_parallel. Parts are independent by construction (each
 * writes its own outputs, with its own fixed summation order), so which thread runs a part never changes
 * a bit. Workers are created on first use, up to the largest thread count asked for, and never exit; they
 * never touch the JVM. One parallel call at a time: a call that finds the pool busy runs its parts on
 * the calling thread (same results, no waiting).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include "rk.h"

#define RK_MAX_WORKERS 63

typedef struct {
    rk_task fn;
    void *ctx;
    int parts;
    atomic_int next;
    int remaining; /* parts not finished; under lock */
    int users;     /* workers inside this job; under lock */
} job;

static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER, finished = PTHREAD_COND_INITIALIZER;
static int workers;
static unsigned long generation;
static job *current;

static void work(job *j)
{
    for (;;) {
        int p = atomic_fetch_add(&j->next, 1);
        if (p >= j->parts) {
            return;
        }
        j->fn(j->ctx, p, j->parts);
        pthread_mutex_lock(&lock);
        if (--j->remaining == 0) {
            pthread_cond_broadcast(&finished);
        }
        pthread_mutex_unlock(&lock);
    }
}

/* arg: the generation when the worker was made (under the lock), so that a job posted before the new
   thread first runs is still its to see: rk_parallel_together counts on every worker joining */
static void *worker_main(void *arg)
{
    unsigned long seen = (unsigned long)(uintptr_t)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (generation == seen) {
            pthread_cond_wait(&wake, &lock);
        }
        seen = generation;
        job *j = current;
        if (j == NULL) {
            continue;
        }
        j->users++;
        pthread_mutex_unlock(&lock);
        work(j);
        pthread_mutex_lock(&lock);
        if (--j->users == 0) {
            pthread_cond_broadcast(&finished);
        }
    }
    return NULL;
}

/* The workers run this library's code for ever: keep it mapped even if its class loader goes away. */
static void pin_library(void)
{
    Dl_info info;
    if (dladdr((void *)&pin_library, &info) != 0 && info.dli_fname != NULL) {
        dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD);
    }
}

/* at least n workers (fewer if the system refuses threads: then parts just wait their turn) */
static void ensure_workers(int n)
{
    if (n > RK_MAX_WORKERS) {
        n = RK_MAX_WORKERS;
    }
    pthread_mutex_lock(&lock);
    if (workers == 0 && n > 0) {
        pin_library();
    }
    while (workers < n) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &attr, worker_main, (void *)(uintptr_t)generation);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            break;
        }
        workers++;
    }
    pthread_mutex_unlock(&lock);
}

/* the pool is ours (busy held) and has the workers: runs the job, the caller taking parts too */
static void run(int parts, rk_task fn, void *ctx)
{
    job j = {fn, ctx, parts, 0, parts, 0};
    pthread_mutex_lock(&lock);
    current = &j;
    generation++;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    work(&j);
    pthread_mutex_lock(&lock);
    while (j.remaining > 0) {
        pthread_cond_wait(&finished, &lock);
    }
    current = NULL;
    while (j.users > 0) {
        pthread_cond_wait(&finished, &lock);
    }
    pthread_mutex_unlock(&lock);
}

void rk_parallel(int parts, int threads, rk_task fn, void *ctx)
{
    if (parts <= 1 || threads <= 1 || pthread_mutex_trylock(&busy) != 0) {
        for (int p = 0; p < parts; p++) {
            fn(ctx, p, parts);
        }
        return;
    }
    ensure_workers(threads - 1);
    run(parts, fn, ctx);
    pthread_mutex_unlock(&busy);
}

/*
 * Every part gets a thread at once: the caller takes one part, and each idle worker (no other job can hold
 * them while busy is ours) takes one when it wakes, so a part that waits for another never waits for
 * itself. Without the workers or the pool, nothing runs.
 */
int rk_parallel_together(int parts, rk_task fn, void *ctx)
{
    if (parts < 2 || parts - 1 > RK_MAX_WORKERS || pthread_mutex_trylock(&busy) != 0) {
        return 0;
    }
    ensure_workers(parts - 1);
    pthread_mutex_lock(&lock);
    int enough = workers >= parts - 1;
    pthread_mutex_unlock(&lock);
    if (enough) {
        run(parts, fn, ctx);
    }
    pthread_mutex_unlock(&busy);
    return enough;
}
