/* Compiler tracker, in an enclave: the libc wrappers keep libc's behaviour.
 * Each case runs with tracking off, then with dirty marks and access checks
 * on (every page present), and must give the same, right results: the
 * wrappers parse formats, walk strings and read musl's FILE, so a slip
 * there would change or crash the app. Built with omcc, run under optmig
 * run. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int __om_test_track(uint32_t bits);
static int fails;
#define CHECK(c)                                         \
    do {                                                 \
        if (!(c)) {                                      \
            printf("FAIL: line %d: %s\n", __LINE__, #c); \
            fails++;                                     \
        }                                                \
    } while (0)
static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}
int main(void)
{
    for (int mode = 0; mode < 2; mode++) {
        if (mode)
            CHECK(__om_test_track(3) == 0);
        char *s = strdup("a,b;;c d");
        char *t = strtok(s, ",; ");
        CHECK(t && !strcmp(t, "a"));
        t = strtok(NULL, ",; ");
        CHECK(t && !strcmp(t, "b"));
        t = strtok(NULL, ",; ");
        CHECK(t && !strcmp(t, "c"));
        t = strtok(NULL, ",; ");
        CHECK(t && !strcmp(t, "d"));
        CHECK(strtok(NULL, ",; ") == NULL);
        free(s);
        char out[128];
        snprintf(out, sizeof out, "%2$s-%1$d-%3$.1f-%4$*5$d", 7, "x", 1.5, 42, 4);
        CHECK(!strcmp(out, "x-7-1.5-  42"));
        snprintf(out, sizeof out, "%s|%5.2s|%c|%lx|%hhd|%lld|%Lf|%%|%p", "abc", "xyz", 'Z', 255L, (char)-1,
                 1LL << 40, (long double)2.5, (void *)0);
        CHECK(!strcmp(out, "abc|   xy|Z|ff|-1|1099511627776|2.500000|%|0"));
        int a;
        char w[16];
        char *m = NULL;
        float f;
        long l;
        char set[8];
        int n = sscanf("12 word 3.5 99 abcxyz rest", "%d %15s %f %ld %[abc]%ms", &a, w, &f, &l, set, &m);
        CHECK(n == 6 && a == 12 && !strcmp(w, "word") && f == 3.5f && l == 99 && !strcmp(set, "abc") && m &&
              !strcmp(m, "xyz"));
        free(m);
        char *arr[] = {"pear", "apple", "fig"};
        qsort(arr, 3, sizeof *arr, cmp);
        CHECK(!strcmp(arr[0], "apple") && !strcmp(arr[2], "pear"));
        char *end;
        CHECK(strtod("2.5e1x", &end) == 25.0 && *end == 'x');
        FILE *fp = tmpfile();
        CHECK(fp);
        fprintf(fp, "line1\nline two\n%d\n", 77);
        rewind(fp);
        char *ln = NULL;
        size_t cap = 0;
        CHECK(getline(&ln, &cap, fp) == 6 && !strcmp(ln, "line1\n"));
        CHECK(getline(&ln, &cap, fp) == 9);
        int v = 0;
        CHECK(fscanf(fp, "%d", &v) == 1 && v == 77);
        free(ln);
        fflush(NULL);
        fclose(fp);
        pthread_mutex_t *mx = malloc(sizeof *mx);
        pthread_mutex_init(mx, NULL);
        CHECK(pthread_mutex_lock(mx) == 0 && pthread_mutex_trylock(mx) != 0 && pthread_mutex_unlock(mx) == 0);
        free(mx);
        char buf[64];
        time_t t0 = 86400;
        struct tm tm;
        gmtime_r(&t0, &tm);
        CHECK(strftime(buf, sizeof buf, "%Y-%m-%d", &tm) == 10 && !strcmp(buf, "1970-01-02"));
        char *sp = strdup("k=v"), *p = sp;
        CHECK(!strcmp(strsep(&p, "="), "k") && !strcmp(p, "v"));
        free(sp);
        CHECK(memccpy(buf, "hello", 'l', 5) == buf + 3);
        CHECK(memchr("abcdef", 'e', 6) != NULL && strnlen("abc", 100) == 3);
        char *as;
        CHECK(asprintf(&as, "%s%d", "n", 5) == 2 && !strcmp(as, "n5"));
        free(as);
        printf("ok: tracking %s\n", mode ? "on" : "off");
    }
    __om_test_track(0);
    printf("t_cc_libc: %s\n", fails ? "FAILED" : "PASS");
    return fails;
}
