/* t_pthread: threads inside the enclave. Create/join/detach, exit values,
 * mutex, condition variable, rwlock, barrier, once, thread-specific keys,
 * thread-local storage, self/equal, stack size attribute and 32 threads
 * alive at once. Prints "FAIL: ..." per failed check; exits 0 only if all
 * passed, with "t_pthread: PASS" as its last line. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int failures;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            atomic_fetch_add(&failures, 1);                                \
            flockfile(stdout);                                             \
            printf("FAIL: ");                                              \
            printf(__VA_ARGS__);                                           \
            printf(" [%s:%d]\n", __FILE__, __LINE__);                      \
            funlockfile(stdout);                                           \
            fflush(stdout);                                                \
        }                                                                  \
    } while (0)
#define CHECK0(call) do { int e_ = (call); CHECK(e_ == 0, "%s returned %d (%s)", #call, e_, strerror(e_)); } while (0)

static void section(const char *name)
{
    printf("ok: %s\n", name);
    fflush(stdout);
}

/* ---- create / join / exit values ---- */

static void exit_deep(int depth, intptr_t v);
static void (*volatile exit_deep_p)(int, intptr_t) = exit_deep;

static void exit_deep(int depth, intptr_t v)
{
    if (depth == 0)
        pthread_exit((void *)v);
    exit_deep_p(depth - 1, v);
}

static void *ret_value(void *arg)
{
    intptr_t i = (intptr_t)arg;
    if (i % 2)
        exit_deep(5, i * 3 + 1); /* pthread_exit from a nested call */
    return (void *)(i * 3 + 1);
}

static void test_join(void)
{
    pthread_t th[8];
    for (intptr_t i = 0; i < 8; i++)
        CHECK0(pthread_create(&th[i], NULL, ret_value, (void *)i));
    for (intptr_t i = 0; i < 8; i++) {
        void *rv = NULL;
        CHECK0(pthread_join(th[i], &rv));
        CHECK((intptr_t)rv == i * 3 + 1, "thread %d exit value %ld", (int)i, (long)(intptr_t)rv);
    }
    section("create/join/exit values");
}

/* ---- detach ---- */

static pthread_mutex_t det_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t det_cv = PTHREAD_COND_INITIALIZER;
static int det_done;

static void *detached(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&det_mu);
    det_done++;
    pthread_cond_signal(&det_cv);
    pthread_mutex_unlock(&det_mu);
    return NULL;
}

static void test_detach(void)
{
    pthread_attr_t a;
    pthread_t th;
    CHECK0(pthread_attr_init(&a));
    CHECK0(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED));
    for (int i = 0; i < 4; i++)
        CHECK0(pthread_create(&th, &a, detached, NULL));
    pthread_attr_destroy(&a);
    CHECK0(pthread_create(&th, NULL, detached, NULL));
    CHECK0(pthread_detach(th));
    pthread_mutex_lock(&det_mu);
    while (det_done < 5)
        pthread_cond_wait(&det_cv, &det_mu);
    pthread_mutex_unlock(&det_mu);
    CHECK(det_done == 5, "detached threads ran %d times", det_done);
    section("detach");
}

/* ---- mutex ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long counter;
#define MUTEX_ITERS 200000

static void *mutex_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < MUTEX_ITERS; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

static void test_mutex(void)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        CHECK0(pthread_create(&th[i], NULL, mutex_worker, NULL));
    for (int i = 0; i < 4; i++)
        CHECK0(pthread_join(th[i], NULL));
    CHECK(counter == 4L * MUTEX_ITERS, "mutex counter %ld, want %ld", counter, 4L * MUTEX_ITERS);

    CHECK0(pthread_mutex_lock(&mu));
    CHECK(pthread_mutex_trylock(&mu) == EBUSY, "trylock of a held mutex did not return EBUSY");
    CHECK0(pthread_mutex_unlock(&mu));

    pthread_mutexattr_t ma;
    pthread_mutex_t rec;
    CHECK0(pthread_mutexattr_init(&ma));
    CHECK0(pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE));
    CHECK0(pthread_mutex_init(&rec, &ma));
    CHECK0(pthread_mutex_lock(&rec));
    CHECK0(pthread_mutex_lock(&rec));
    CHECK0(pthread_mutex_unlock(&rec));
    CHECK0(pthread_mutex_unlock(&rec));
    CHECK0(pthread_mutex_destroy(&rec));
    pthread_mutexattr_destroy(&ma);

    CHECK0(pthread_mutexattr_init(&ma));
    CHECK0(pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK));
    CHECK0(pthread_mutex_init(&rec, &ma));
    CHECK0(pthread_mutex_lock(&rec));
    CHECK(pthread_mutex_lock(&rec) == EDEADLK, "errorcheck relock did not return EDEADLK");
    CHECK0(pthread_mutex_unlock(&rec));
    CHECK0(pthread_mutex_destroy(&rec));
    pthread_mutexattr_destroy(&ma);
    section("mutex");
}

/* ---- condition variable: bounded queue ---- */

#define QCAP 8
#define QITEMS 20000
static struct {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    int buf[QCAP];
    int head, len;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0};

static void *producer(void *arg)
{
    int base = (int)(intptr_t)arg;
    for (int i = 1; i <= QITEMS; i++) {
        pthread_mutex_lock(&q.mu);
        while (q.len == QCAP)
            pthread_cond_wait(&q.not_full, &q.mu);
        q.buf[(q.head + q.len++) % QCAP] = base + i;
        pthread_cond_signal(&q.not_empty);
        pthread_mutex_unlock(&q.mu);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long long sum = 0;
    (void)arg;
    for (int i = 0; i < QITEMS; i++) {
        pthread_mutex_lock(&q.mu);
        while (q.len == 0)
            pthread_cond_wait(&q.not_empty, &q.mu);
        sum += q.buf[q.head];
        q.head = (q.head + 1) % QCAP;
        q.len--;
        pthread_cond_signal(&q.not_full);
        pthread_mutex_unlock(&q.mu);
    }
    long long *r = malloc(sizeof *r);
    if (r)
        *r = sum;
    return r;
}

static void test_cond(void)
{
    pthread_t p[2], c[2];
    CHECK0(pthread_create(&p[0], NULL, producer, (void *)0));
    CHECK0(pthread_create(&p[1], NULL, producer, (void *)1000000));
    CHECK0(pthread_create(&c[0], NULL, consumer, NULL));
    CHECK0(pthread_create(&c[1], NULL, consumer, NULL));
    long long total = 0;
    for (int i = 0; i < 2; i++) {
        void *rv = NULL;
        CHECK0(pthread_join(p[i], NULL));
        CHECK0(pthread_join(c[i], &rv));
        CHECK(rv != NULL, "consumer result missing");
        if (rv)
            total += *(long long *)rv;
        free(rv);
    }
    long long want = 2LL * QITEMS * (QITEMS + 1) / 2 + 1000000LL * QITEMS;
    CHECK(total == want, "consumed sum %lld, want %lld", total, want);

    /* timed wait that must time out */
    struct timespec ts, t0, t1;
    clock_gettime(CLOCK_REALTIME, &ts);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ts.tv_nsec += 30 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q.mu);
    int e;
    do
        e = pthread_cond_timedwait(&q.not_empty, &q.mu, &ts);
    while (e == 0);
    pthread_mutex_unlock(&q.mu);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(e == ETIMEDOUT, "cond_timedwait returned %d, want ETIMEDOUT", e);
    CHECK(ms >= 25, "cond_timedwait returned after %ld ms, want >= 30", ms);
    section("condition variable");
}

/* ---- rwlock ---- */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_a, rw_b;
static atomic_int rw_bad, rw_reads;

static void *rw_reader(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50000; i++) {
        pthread_rwlock_rdlock(&rw);
        if (rw_a != rw_b)
            atomic_fetch_add(&rw_bad, 1);
        atomic_fetch_add(&rw_reads, 1);
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

static void *rw_writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        pthread_rwlock_wrlock(&rw);
        rw_a++;
        for (volatile int k = 0; k < 10; k++)
            ;
        rw_b++;
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

static void test_rwlock(void)
{
    pthread_t th[5];
    for (int i = 0; i < 3; i++)
        CHECK0(pthread_create(&th[i], NULL, rw_reader, NULL));
    for (int i = 3; i < 5; i++)
        CHECK0(pthread_create(&th[i], NULL, rw_writer, NULL));
    for (int i = 0; i < 5; i++)
        CHECK0(pthread_join(th[i], NULL));
    CHECK(rw_bad == 0, "readers saw a half-done write %d times", (int)rw_bad);
    CHECK(rw_a == 40000 && rw_b == 40000, "writers counted %ld/%ld, want 40000", rw_a, rw_b);
    CHECK(rw_reads == 150000, "reads %d", (int)rw_reads);
    CHECK0(pthread_rwlock_rdlock(&rw));
    CHECK(pthread_rwlock_trywrlock(&rw) == EBUSY, "trywrlock under a read lock did not return EBUSY");
    CHECK0(pthread_rwlock_tryrdlock(&rw));
    CHECK0(pthread_rwlock_unlock(&rw));
    CHECK0(pthread_rwlock_unlock(&rw));
    section("rwlock");
}

/* ---- barrier ---- */

#define BAR_N 6
#define BAR_PHASES 200
static pthread_barrier_t bar;
static int phase_slot[BAR_N];
static atomic_int bar_bad, bar_serial;

static void *bar_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int ph = 1; ph <= BAR_PHASES; ph++) {
        phase_slot[id] = ph;
        if (pthread_barrier_wait(&bar) == PTHREAD_BARRIER_SERIAL_THREAD)
            atomic_fetch_add(&bar_serial, 1);
        for (int j = 0; j < BAR_N; j++)
            if (phase_slot[j] != ph)
                atomic_fetch_add(&bar_bad, 1);
        pthread_barrier_wait(&bar);
    }
    return NULL;
}

static void test_barrier(void)
{
    pthread_t th[BAR_N];
    CHECK0(pthread_barrier_init(&bar, NULL, BAR_N));
    for (intptr_t i = 0; i < BAR_N; i++)
        CHECK0(pthread_create(&th[i], NULL, bar_worker, (void *)i));
    for (int i = 0; i < BAR_N; i++)
        CHECK0(pthread_join(th[i], NULL));
    CHECK(bar_bad == 0, "a thread passed the barrier before all arrived (%d)", (int)bar_bad);
    CHECK(bar_serial == BAR_PHASES, "serial thread count %d, want %d", (int)bar_serial, BAR_PHASES);
    CHECK0(pthread_barrier_destroy(&bar));
    section("barrier");
}

/* ---- once ---- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int once_calls;

static void once_init(void)
{
    struct timespec ts = {0, 5 * 1000000L}; /* let the others pile up */
    nanosleep(&ts, NULL);
    atomic_fetch_add(&once_calls, 1);
}

static void *once_worker(void *arg)
{
    (void)arg;
    pthread_once(&once, once_init);
    return (void *)(intptr_t)atomic_load(&once_calls);
}

static void test_once(void)
{
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        CHECK0(pthread_create(&th[i], NULL, once_worker, NULL));
    for (int i = 0; i < 8; i++) {
        void *rv;
        CHECK0(pthread_join(th[i], &rv));
        CHECK((intptr_t)rv == 1, "a thread returned from pthread_once before init finished");
    }
    CHECK(once_calls == 1, "once init ran %d times", (int)once_calls);
    section("once");
}

/* ---- thread-specific keys and TLS ---- */

static pthread_key_t key;
static atomic_long dtor_sum;
static atomic_int dtor_calls;
static _Thread_local long tls_var = 7;
static _Thread_local char tls_buf[4096];

static void key_dtor(void *v)
{
    atomic_fetch_add(&dtor_sum, *(long *)v);
    atomic_fetch_add(&dtor_calls, 1);
    free(v);
}

static void *key_worker(void *arg)
{
    long id = (long)(intptr_t)arg;
    long *v = malloc(sizeof *v);
    if (!v)
        return (void *)1;
    *v = id + 100;
    int bad = 0;
    if (pthread_getspecific(key) != NULL)
        bad |= 2;
    pthread_setspecific(key, v);
    if (tls_var != 7)
        bad |= 4;
    tls_var = id;
    memset(tls_buf, (int)id, sizeof tls_buf);
    for (int i = 0; i < 1000; i++)
        sched_yield();
    if (pthread_getspecific(key) != v || *(long *)pthread_getspecific(key) != id + 100)
        bad |= 8;
    if (tls_var != id)
        bad |= 16;
    for (size_t i = 0; i < sizeof tls_buf; i++)
        if (tls_buf[i] != (char)id)
            bad |= 32;
    return (void *)(intptr_t)bad;
}

static void test_keys(void)
{
    pthread_t th[8];
    CHECK0(pthread_key_create(&key, key_dtor));
    tls_var = 99;
    for (intptr_t i = 0; i < 8; i++)
        CHECK0(pthread_create(&th[i], NULL, key_worker, (void *)(i + 1)));
    for (int i = 0; i < 8; i++) {
        void *rv;
        CHECK0(pthread_join(th[i], &rv));
        CHECK(rv == NULL, "thread %d: key/TLS check bits %#lx", i, (long)(intptr_t)rv);
    }
    CHECK(dtor_calls == 8, "key destructor ran %d times, want 8", (int)dtor_calls);
    CHECK(dtor_sum == 8 * 100 + 36, "key destructor saw sum %ld", (long)dtor_sum);
    CHECK(tls_var == 99, "main's TLS variable changed to %ld", tls_var);
    CHECK(pthread_getspecific(key) == NULL, "main sees a key value it never set");
    CHECK0(pthread_key_delete(key));
    section("thread-specific keys and TLS");
}

/* ---- self / equal ---- */

static pthread_t main_self;
static pthread_t child_seen_self;

static void *self_worker(void *arg)
{
    (void)arg;
    child_seen_self = pthread_self();
    return (void *)(intptr_t)(pthread_equal(pthread_self(), main_self) ? 1 : 0);
}

static void test_self(void)
{
    pthread_t th;
    void *rv;
    main_self = pthread_self();
    CHECK(pthread_equal(main_self, pthread_self()), "pthread_self not equal to itself");
    CHECK0(pthread_create(&th, NULL, self_worker, NULL));
    CHECK0(pthread_join(th, &rv));
    CHECK(rv == NULL, "child's pthread_self equals main's");
    CHECK(pthread_equal(th, child_seen_self), "pthread_create's id differs from the child's pthread_self");
    CHECK(!pthread_equal(th, main_self), "child id equals main id");
    section("self/equal");
}

/* ---- stack size attribute: a big frame on a thread stack ---- */

static void *big_stack(void *arg)
{
    volatile unsigned char buf[768 * 1024];
    unsigned sum = 0;
    (void)arg;
    for (size_t i = 0; i < sizeof buf; i += 512)
        buf[i] = (unsigned char)i;
    for (size_t i = 0; i < sizeof buf; i += 512)
        sum += buf[i];
    return (void *)(uintptr_t)sum;
}

static void test_stack(void)
{
    pthread_attr_t a;
    pthread_t th;
    size_t sz = 0;
    void *rv;
    unsigned want = 0;
    for (size_t i = 0; i < 768 * 1024; i += 512)
        want += (unsigned char)i;
    CHECK0(pthread_attr_init(&a));
    CHECK0(pthread_attr_setstacksize(&a, 2 << 20));
    CHECK0(pthread_attr_getstacksize(&a, &sz));
    CHECK(sz >= (2u << 20), "stack size attribute reads back %zu", sz);
    CHECK0(pthread_create(&th, &a, big_stack, NULL));
    CHECK0(pthread_join(th, &rv));
    CHECK((uintptr_t)rv == want, "big-stack thread sum %lu, want %u", (unsigned long)(uintptr_t)rv, want);
    pthread_attr_destroy(&a);
    section("stack size attribute");
}

/* ---- 32 threads alive at once, then again (slot reuse) ---- */

#define MANY 32
static pthread_barrier_t many_bar;
static atomic_int many_alive, many_max;

static void *many_worker(void *arg)
{
    int n = atomic_fetch_add(&many_alive, 1) + 1;
    int m = atomic_load(&many_max);
    while (n > m && !atomic_compare_exchange_weak(&many_max, &m, n))
        ;
    pthread_barrier_wait(&many_bar); /* all MANY + main are here at once */
    atomic_fetch_sub(&many_alive, 1);
    return (void *)((intptr_t)arg ^ 0x5a5a);
}

static void test_many(void)
{
    pthread_t th[MANY];
    for (int round = 0; round < 3; round++) {
        many_max = 0;
        CHECK0(pthread_barrier_init(&many_bar, NULL, MANY + 1));
        int made = 0;
        for (intptr_t i = 0; i < MANY; i++) {
            int e = pthread_create(&th[i], NULL, many_worker, (void *)i);
            CHECK(e == 0, "round %d: creating thread %d of %d failed: %s", round, (int)i, MANY, strerror(e));
            if (e)
                break;
            made++;
        }
        if (made < MANY) { /* cannot meet at the barrier; give up cleanly */
            printf("FAIL: only %d threads could be created\n", made);
            fflush(stdout);
            exit(1);
        }
        pthread_barrier_wait(&many_bar);
        for (intptr_t i = 0; i < MANY; i++) {
            void *rv;
            CHECK0(pthread_join(th[i], &rv));
            CHECK((intptr_t)rv == (i ^ 0x5a5a), "thread %d exit value", (int)i);
        }
        CHECK(many_max == MANY, "round %d: at most %d threads were alive together", round, (int)many_max);
        CHECK0(pthread_barrier_destroy(&many_bar));
    }
    section("32 threads at once, 3 rounds");
}

int main(void)
{
    test_join();
    test_detach();
    test_mutex();
    test_cond();
    test_rwlock();
    test_barrier();
    test_once();
    test_keys();
    test_self();
    test_stack();
    test_many();
    if (failures) {
        printf("t_pthread: FAIL (%d checks failed)\n", (int)failures);
        return 1;
    }
    printf("t_pthread: PASS\n");
    return 0;
}
