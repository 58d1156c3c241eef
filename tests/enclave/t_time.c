/* t_time: clocks and sleeps through the enclave boundary. CLOCK_MONOTONIC
 * never goes back and advances across sleeps, nanosleep/clock_nanosleep/
 * usleep sleep at least as long as asked (also in several threads at once),
 * time()/gettimeofday()/CLOCK_REALTIME agree and are sane, clock_getres,
 * and gmtime/strftime on fixed instants. Only lower bounds on sleeps are
 * checked: upper bounds would flake on a loaded machine. Exits 0 only if
 * every check passed, with "t_time: PASS" as its last line. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* usleep */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

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

static int64_t ns(clockid_t c)
{
    struct timespec ts;
    if (clock_gettime(c, &ts))
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_monotonic(void)
{
    int64_t prev = ns(CLOCK_MONOTONIC), back = 0;
    CHECK(prev > 0, "clock_gettime(CLOCK_MONOTONIC) failed");
    for (int i = 0; i < 2000; i++) {
        int64_t t = ns(CLOCK_MONOTONIC);
        if (t < prev)
            back++;
        prev = t;
    }
    CHECK(back == 0, "CLOCK_MONOTONIC went backwards %ld times", (long)back);
    int64_t a = ns(CLOCK_MONOTONIC);
    struct timespec d = {0, 2000000};
    nanosleep(&d, NULL);
    int64_t b = ns(CLOCK_MONOTONIC);
    CHECK(b > a, "CLOCK_MONOTONIC did not advance across a 2 ms sleep");
    struct timespec res = {0, 0};
    CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0 &&
              res.tv_nsec <= 1000000,
          "clock_getres(CLOCK_MONOTONIC) = %ld.%09ld", (long)res.tv_sec, (long)res.tv_nsec);
    struct timespec ts;
    errno = 0;
    CHECK(clock_gettime((clockid_t)12345, &ts) == -1 && errno == EINVAL, "clock_gettime on a bad clock: errno %d",
          errno);
    printf("ok: CLOCK_MONOTONIC never goes back and advances\n");
}

static void test_sleeps(void)
{
    int64_t t0 = ns(CLOCK_MONOTONIC);
    struct timespec d = {0, 50 * 1000000L}, rem = {0, 0};
    CHECK(nanosleep(&d, &rem) == 0, "nanosleep");
    int64_t el = ns(CLOCK_MONOTONIC) - t0;
    CHECK(el >= 50000000, "nanosleep(50 ms) slept %ld us", (long)(el / 1000));

    t0 = ns(CLOCK_MONOTONIC);
    d.tv_nsec = 30 * 1000000L;
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL) == 0, "clock_nanosleep relative");
    el = ns(CLOCK_MONOTONIC) - t0;
    CHECK(el >= 30000000, "clock_nanosleep(30 ms) slept %ld us", (long)(el / 1000));

    t0 = ns(CLOCK_MONOTONIC);
    int64_t target = t0 + 40000000;
    struct timespec abs = {(time_t)(target / 1000000000), (long)(target % 1000000000)};
    int e;
    while ((e = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL)) == EINTR)
        ;
    CHECK(e == 0, "clock_nanosleep TIMER_ABSTIME returned %d", e);
    CHECK(ns(CLOCK_MONOTONIC) >= target, "clock_nanosleep TIMER_ABSTIME woke early");

    t0 = ns(CLOCK_MONOTONIC);
    CHECK(usleep(20000) == 0, "usleep");
    el = ns(CLOCK_MONOTONIC) - t0;
    CHECK(el >= 20000000, "usleep(20 ms) slept %ld us", (long)(el / 1000));

    d.tv_sec = 0;
    d.tv_nsec = 1000000000L; /* invalid */
    errno = 0;
    CHECK(nanosleep(&d, NULL) == -1 && errno == EINVAL, "nanosleep with tv_nsec = 1e9: errno %d", errno);
    printf("ok: nanosleep/clock_nanosleep/usleep sleep at least as asked\n");
}

static void *sleeper(void *arg)
{
    (void)arg;
    int64_t t0 = ns(CLOCK_MONOTONIC);
    struct timespec d = {0, 100 * 1000000L};
    while (nanosleep(&d, &d) == -1 && errno == EINTR)
        ;
    return (void *)(intptr_t)((ns(CLOCK_MONOTONIC) - t0) / 1000000);
}

static void test_parallel_sleeps(void)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        if (pthread_create(&th[i], NULL, sleeper, NULL)) {
            printf("FAIL: pthread_create\n");
            return;
        }
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        CHECK((intptr_t)rv >= 100, "thread %d: nanosleep(100 ms) slept %ld ms", i, (long)(intptr_t)rv);
    }
    printf("ok: 4 threads sleep at once\n");
}

static void test_wallclock(void)
{
    time_t t = time(NULL), t2 = 0;
    CHECK(t > 1577836800, "time() = %lld is before 2020", (long long)t); /* 2020-01-01 */
    CHECK(t < 4102444800LL, "time() = %lld is after 2100", (long long)t);
    CHECK(time(&t2) >= t && t2 >= t, "time(&t) did not store the time");
    struct timeval tv;
    CHECK(gettimeofday(&tv, NULL) == 0, "gettimeofday");
    int64_t rt = ns(CLOCK_REALTIME);
    CHECK(tv.tv_sec >= t - 5 && tv.tv_sec <= t + 5, "gettimeofday %lld vs time %lld", (long long)tv.tv_sec,
          (long long)t);
    CHECK(rt / 1000000000 >= t - 5 && rt / 1000000000 <= t + 5, "CLOCK_REALTIME %lld vs time %lld",
          (long long)(rt / 1000000000), (long long)t);
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "tv_usec out of range");

    struct tm tm;
    char buf[64];
    time_t fixed = 1700000000;
    CHECK(gmtime_r(&fixed, &tm) != NULL, "gmtime_r");
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %a", &tm);
    CHECK(!strcmp(buf, "2023-11-14 22:13:20 Tue"), "gmtime(1700000000) = '%s'", buf);
    fixed = 0;
    gmtime_r(&fixed, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    CHECK(!strcmp(buf, "1970-01-01 00:00:00"), "gmtime(0) = '%s'", buf);
    /* timegm is not C17/POSIX; compute days from the civil date instead */
    int64_t y = 2024, m = 2, dd = 29;
    y -= m <= 2;
    int64_t era = y / 400, yoe = y - era * 400, doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
    int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    time_t leap = (time_t)(days * 86400 + 12 * 3600);
    gmtime_r(&leap, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
    CHECK(!strcmp(buf, "2024-02-29 12:00"), "leap day came out as '%s'", buf);
    printf("ok: time/gettimeofday/CLOCK_REALTIME agree; gmtime/strftime\n");
}

int main(void)
{
    test_monotonic();
    test_sleeps();
    test_parallel_sleeps();
    test_wallclock();
    if (failures) {
        printf("t_time: FAIL (%d checks failed)\n", (int)failures);
        return 1;
    }
    printf("t_time: PASS\n");
    return 0;
}
