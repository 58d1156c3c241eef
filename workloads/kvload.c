/* kvload: load generator and checker for kvserver; a host program.
 *
 * -c threads each keep one connection and send PUT/GET/DEL requests on their
 * own keys (key i belongs to thread i mod c), so each key's history is one
 * thread's sequence and its last acknowledged value is known exactly. A
 * request whose connection drops (for example a live migration: connections
 * do not move) is retried on a new connection to the same or the next -a
 * target until it is acknowledged; its latency counts from the first send.
 * Every GET is checked against the key's last acknowledged write; at the end
 * a DUMP shows whether every acknowledged write is present with its value.
 *
 * SIGINT ends the run early (before -d runs out): the threads finish their
 * requests, then the report and the checks follow as usual.
 *
 * Exit status: 0 all checks passed, 1 a write was lost, a read was wrong, the
 * server gave an error or could not be reached again, 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXTARGETS 8
#define MAXTHREADS 256

enum { OP_GET, OP_PUT, OP_DEL };
enum { K_UNKNOWN, K_PRESENT, K_ABSENT }; /* what the last acknowledged write left */
static const char *const op_names[] = { "get", "put", "del" };

struct rec {
    uint64_t start, lat; /* ns since the load started */
    uint8_t op, attempts;
};

struct conn {
    int fd, target;
    char *buf;
    size_t len, cap, line_end; /* line_end: length of the line last returned, with '\n' */
};

struct thr {
    pthread_t th;
    unsigned id;
    struct conn c;
    struct rec *recs;
    size_t nrec, caprec;
    uint64_t ops[3], errors, mismatches, reconnects, seq;
    int gave_up;
};

static struct { char host[256], port[16]; } targets[MAXTARGETS];
static int ntargets;
static unsigned opt_threads = 4;
static uint64_t opt_keys = 10000, opt_vsize = 100, opt_rate, opt_put = 50, opt_del;
static double opt_duration = 10, opt_reconnect = 60, opt_reply_timeout = 30;
static const char *opt_out, *opt_prefix = "k";
static uint64_t t0, t_end, t0_real; /* t0_real: CLOCK_REALTIME at t0, to line up with other logs */
static uint8_t *kstate;
static uint64_t *kseq;
static unsigned complaints; /* problem reports printed, capped */
static int stop_early; /* set by SIGINT; atomic: the workers read it */

#define COMPLAIN(...) \
    do { \
        if (__atomic_fetch_add(&complaints, 1, __ATOMIC_RELAXED) < 20) \
            fprintf(stderr, __VA_ARGS__); \
    } while (0)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_sigint(int sig)
{
    (void)sig;
    __atomic_store_n(&stop_early, 1, __ATOMIC_RELAXED);
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The value written to key i by write number seq: unique per (i, seq). */
static void make_value(char *v, uint64_t i, uint64_t seq)
{
    int n = snprintf(v, opt_vsize + 1, "%" PRIx64 "-%" PRIu64 "-", seq, i);
    for (uint64_t j = (uint64_t)n; j < opt_vsize; j++)
        v[j] = (char)('a' + (i + seq + j) % 26);
    v[opt_vsize] = 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = c->line_end = 0;
}

/* Connects to target t with a 1 s timeout; returns the socket or -1. */
static int dial(int t)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai, *a;
    if (getaddrinfo(targets[t].host, targets[t].port, &hints, &ai))
        return -1;
    int fd = -1;
    for (a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0)
            continue;
        int err = 0;
        socklen_t el = sizeof err;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if (connect(fd, a->ai_addr, a->ai_addrlen) && (errno != EINPROGRESS || poll(&p, 1, 1000) != 1 ||
                                                      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err)) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

/* (Re)connects, trying the targets in turn from the current one, until -R runs out. */
static int conn_ensure(struct conn *c)
{
    uint64_t give_up = now_ns() + (uint64_t)(opt_reconnect * 1e9);
    while (c->fd < 0) {
        c->fd = dial(c->target);
        if (c->fd >= 0)
            break;
        c->target = (c->target + 1) % ntargets;
        if (now_ns() > give_up)
            return -1;
        nanosleep(&(struct timespec){ 0, 2000000 }, NULL); /* 2 ms: the stall resolution */
    }
    return 0;
}

static int send_all(struct conn *c, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = { .fd = c->fd, .events = POLLOUT };
            if (poll(&p, 1, (int)(opt_reply_timeout * 1000)) != 1)
                return -1;
            continue;
        }
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Returns the next reply line (NUL-terminated, without '\n') or NULL. */
static char *read_line(struct conn *c)
{
    if (c->line_end) { /* drop the previous line */
        memmove(c->buf, c->buf + c->line_end, c->len - c->line_end);
        c->len -= c->line_end;
        c->line_end = 0;
    }
    size_t scanned = 0;
    for (;;) {
        char *nl = memchr(c->buf + scanned, '\n', c->len - scanned);
        if (nl) {
            *nl = 0;
            c->line_end = (size_t)(nl - c->buf) + 1;
            return c->buf;
        }
        scanned = c->len;
        if (c->len == c->cap) {
            char *p = realloc(c->buf, c->cap * 2);
            if (!p)
                return NULL;
            c->buf = p;
            c->cap *= 2;
        }
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int r = poll(&p, 1, (int)(opt_reply_timeout * 1000));
        if (r < 0 && errno == EINTR)
            continue;
        if (r != 1)
            return NULL;
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return NULL;
        c->len += (size_t)n;
    }
}

static void record(struct thr *t, uint64_t start, uint64_t end, int op, unsigned attempts)
{
    if (t->nrec == t->caprec) {
        size_t cap = t->caprec ? t->caprec * 2 : 65536;
        struct rec *p = realloc(t->recs, cap * sizeof *p);
        if (!p) {
            fprintf(stderr, "kvload: out of memory for latency records\n");
            exit(1);
        }
        t->recs = p;
        t->caprec = cap;
    }
    t->recs[t->nrec++] = (struct rec){ start - t0, end - start, (uint8_t)op, (uint8_t)(attempts > 255 ? 255 : attempts) };
}

static void *worker(void *arg)
{
    struct thr *t = arg;
    uint64_t rng = mix64(t->id + 1), nmine = (opt_keys - t->id + opt_threads - 1) / opt_threads, done = 0;
    size_t reqcap = strlen(opt_prefix) + opt_vsize + 64;
    char *req = malloc(reqcap), *val = malloc(opt_vsize + 1);
    if (!req || !val) {
        fprintf(stderr, "kvload: out of memory\n");
        exit(1);
    }
    for (uint64_t now = now_ns(); now < t_end && !__atomic_load_n(&stop_early, __ATOMIC_RELAXED); now = now_ns()) {
        if (opt_rate) { /* open loop would hide stalls: pace but never catch up in a burst */
            uint64_t due = t0 + (uint64_t)((double)done * 1e9 / (double)opt_rate);
            if (due > now) {
                struct timespec ts = { (time_t)(due / 1000000000ull), (long)(due % 1000000000ull) };
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            }
        }
        rng += 0x9e3779b97f4a7c15ull;
        uint64_t r = mix64(rng), i = t->id + opt_threads * (uint64_t)(((unsigned __int128)r * nmine) >> 64);
        uint64_t pick = (r >> 8) % 100, seq = 0;
        int op = pick < opt_put ? OP_PUT : pick < opt_put + opt_del ? OP_DEL : OP_GET;
        int n;
        if (op == OP_PUT) {
            seq = ++t->seq;
            make_value(val, i, seq);
            n = snprintf(req, reqcap, "PUT %s%" PRIu64 " %s\n", opt_prefix, i, val);
        } else {
            n = snprintf(req, reqcap, "%s %s%" PRIu64 "\n", op == OP_DEL ? "DEL" : "GET", opt_prefix, i);
        }
        uint64_t start = now_ns();
        unsigned attempts = 0;
        char *reply = NULL;
        while (!reply) {
            if (attempts++) {
                conn_close(&t->c);
                t->reconnects++;
            }
            if (conn_ensure(&t->c)) {
                t->gave_up = 1;
                goto out;
            }
            if (send_all(&t->c, req, (size_t)n) == 0)
                reply = read_line(&t->c);
        }
        record(t, start, now_ns(), op, attempts);
        t->ops[op]++;
        done++;
        if (op == OP_PUT && !strcmp(reply, "OK")) {
            kstate[i] = K_PRESENT;
            kseq[i] = seq;
        } else if (op == OP_DEL && (!strcmp(reply, "OK") || !strcmp(reply, "NOTFOUND"))) {
            if (!strcmp(reply, "NOTFOUND") && kstate[i] == K_PRESENT && attempts == 1) {
                t->mismatches++; /* an acknowledged write vanished */
                COMPLAIN("kvload: DEL %s%" PRIu64 ": NOTFOUND after acknowledged write %" PRIu64 "\n",
                        opt_prefix, i, kseq[i]);
            }
            kstate[i] = K_ABSENT;
        } else if (op == OP_GET && (!strcmp(reply, "NOTFOUND") || !strncmp(reply, "VALUE ", 6))) {
            if (kstate[i] == K_PRESENT)
                make_value(val, i, kseq[i]);
            int ok = kstate[i] == K_UNKNOWN ||
                     (kstate[i] == K_ABSENT ? !strcmp(reply, "NOTFOUND")
                                            : !strncmp(reply, "VALUE ", 6) && !strcmp(reply + 6, val));
            if (!ok) {
                t->mismatches++;
                COMPLAIN("kvload: GET %s%" PRIu64 ": got '%.60s', last acknowledged %s\n", opt_prefix, i,
                        reply, kstate[i] == K_ABSENT ? "DEL" : val);
            }
        } else {
            t->errors++; /* the write may or may not have happened */
            kstate[i] = K_UNKNOWN;
            COMPLAIN("kvload: %s %s%" PRIu64 ": server said '%.80s'\n", op_names[op], opt_prefix, i, reply);
        }
    }
out:
    conn_close(&t->c);
    free(req);
    free(val);
    return NULL;
}

/* DUMPs the store and checks every key this run acknowledged a write for. */
static int verify(uint64_t *checked, uint64_t *lost, uint64_t *wrong, uint64_t *resurrected)
{
    struct conn c = { .fd = -1, .cap = 65536 };
    uint8_t *seen = calloc(opt_keys, 1);
    char *val = malloc(opt_vsize + 1);
    c.buf = malloc(c.cap);
    size_t plen = strlen(opt_prefix);
    int rc = -1;
    if (!seen || !val || !c.buf)
        goto out;
    for (int attempt = 0; attempt < 3 && rc; attempt++) { /* a dropped DUMP starts over */
        memset(seen, 0, opt_keys);
        *wrong = *resurrected = 0;
        conn_close(&c);
        if (conn_ensure(&c) || send_all(&c, "DUMP\n", 5))
            continue;
        char *line;
        while ((line = read_line(&c)) && strncmp(line, "END ", 4)) {
            char *k = line + 3, *sp = strchr(k, ' '), *end;
            if (strncmp(line, "KV ", 3) || !sp || strncmp(k, opt_prefix, plen))
                continue; /* not one of ours */
            *sp = 0;
            errno = 0;
            uint64_t i = strtoull(k + plen, &end, 10);
            if (errno || end != sp || i >= opt_keys)
                continue;
            seen[i] = 1;
            if (kstate[i] == K_ABSENT) {
                (*resurrected)++;
                COMPLAIN("kvload: verify: deleted key %s present\n", k);
            } else if (kstate[i] == K_PRESENT) {
                make_value(val, i, kseq[i]);
                if (strcmp(sp + 1, val)) {
                    (*wrong)++;
                    COMPLAIN("kvload: verify: %s = '%.60s', last acknowledged '%.60s'\n", k, sp + 1, val);
                }
            }
        }
        if (line)
            rc = 0;
    }
    *checked = *lost = 0;
    for (uint64_t i = 0; !rc && i < opt_keys; i++) {
        *checked += kstate[i] != K_UNKNOWN;
        if (kstate[i] == K_PRESENT && !seen[i]) {
            (*lost)++;
            COMPLAIN("kvload: verify: acknowledged write %" PRIu64 " of %s%" PRIu64 " lost\n", kseq[i],
                    opt_prefix, i);
        }
    }
out:
    conn_close(&c);
    free(c.buf);
    free(seen);
    free(val);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: kvload [options]\n"
               "  -a HOST:PORT  server; repeat for fallbacks tried in turn on reconnect\n"
               "                (default 127.0.0.1:7070)\n"
               "  -d SEC        duration (default 10); SIGINT ends it early\n"
               "  -c N          connections, one thread each (default 4)\n"
               "  -r N          requests/s per connection, 0 = flat out (default 0)\n"
               "  -k N          keys (default 10000)\n"
               "  -v N          value bytes, at least 24 (default 100)\n"
               "  -w PCT        percent PUTs (default 50)\n"
               "  -x PCT        percent DELs (default 0); the rest are GETs\n"
               "  -p PREFIX     key prefix (default k)\n"
               "  -o FILE       CSV of every request: thread,start_ns,latency_ns,op,attempts\n"
               "                (ns since the start; its CLOCK_REALTIME: start_realtime_ns)\n"
               "  -R SEC        give up reconnecting after SEC (default 60)\n"
               "  -W SEC        a reply slower than SEC counts as a dropped connection (default 30)\n");
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int add_target(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || ntargets == MAXTARGETS || (size_t)(colon - s) >= sizeof targets[0].host ||
        strlen(colon + 1) >= sizeof targets[0].port || !colon[1])
        return -1;
    memcpy(targets[ntargets].host, s, (size_t)(colon - s));
    targets[ntargets].host[colon - s] = 0;
    strcpy(targets[ntargets].port, colon + 1);
    ntargets++;
    return 0;
}

int main(int argc, char **argv)
{
    int c;
    double v;
    while ((c = getopt(argc, argv, "a:d:c:r:k:v:w:x:p:o:R:W:h")) != -1) {
        int bad = 0;
        switch (c) {
        case 'a': bad = add_target(optarg); break;
        case 'd': bad = parse_num(optarg, 0.001, 1e7, &opt_duration); break;
        case 'c': bad = parse_num(optarg, 1, MAXTHREADS, &v); opt_threads = (unsigned)v; break;
        case 'r': bad = parse_num(optarg, 0, 1e9, &v); opt_rate = (uint64_t)v; break;
        case 'k': bad = parse_num(optarg, 1, 1e10, &v); opt_keys = (uint64_t)v; break;
        case 'v': bad = parse_num(optarg, 24, 1 << 20, &v); opt_vsize = (uint64_t)v; break;
        case 'w': bad = parse_num(optarg, 0, 100, &v); opt_put = (uint64_t)v; break;
        case 'x': bad = parse_num(optarg, 0, 100, &v); opt_del = (uint64_t)v; break;
        case 'p': opt_prefix = optarg; bad = !*optarg || strpbrk(optarg, " \r\n") != NULL; break;
        case 'o': opt_out = optarg; break;
        case 'R': bad = parse_num(optarg, 0, 1e7, &opt_reconnect); break;
        case 'W': bad = parse_num(optarg, 0.001, 1e6, &opt_reply_timeout); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad) {
            fprintf(stderr, "kvload: bad value for -%c: '%s'\n", c, optarg);
            return 2;
        }
    }
    if (optind != argc || opt_put + opt_del > 100 || opt_keys < opt_threads) {
        fprintf(stderr, "kvload: bad arguments (PUT%% + DEL%% <= 100, keys >= connections)\n");
        usage(stderr);
        return 2;
    }
    if (!ntargets)
        add_target("127.0.0.1:7070");
    FILE *csv = NULL;
    if (opt_out && !(csv = fopen(opt_out, "w"))) {
        fprintf(stderr, "kvload: %s: %s\n", opt_out, strerror(errno));
        return 2;
    }
    kstate = calloc(opt_keys, 1);
    kseq = calloc(opt_keys, sizeof *kseq);
    struct thr *ts = calloc(opt_threads, sizeof *ts);
    if (!kstate || !kseq || !ts) {
        fprintf(stderr, "kvload: out of memory\n");
        return 1;
    }
    printf("kvload: target %s:%s threads %u keys %" PRIu64 " value %" PRIu64 " put %" PRIu64 "%% del %" PRIu64
           "%% duration %g s\n",
           targets[0].host, targets[0].port, opt_threads, opt_keys, opt_vsize, opt_put, opt_del, opt_duration);
    fflush(stdout);
    /* Also where a shell started us in the background with SIGINT ignored. */
    if (sigaction(SIGINT, &(struct sigaction){ .sa_handler = on_sigint }, NULL)) {
        fprintf(stderr, "kvload: sigaction: %s\n", strerror(errno));
        return 1;
    }
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    t0 = now_ns();
    t0_real = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
    t_end = t0 + (uint64_t)(opt_duration * 1e9);
    for (unsigned i = 0; i < opt_threads; i++) {
        ts[i].id = i;
        ts[i].c = (struct conn){ .fd = -1, .cap = 4096, .buf = malloc(4096) };
        if (!ts[i].c.buf || pthread_create(&ts[i].th, NULL, worker, &ts[i])) {
            fprintf(stderr, "kvload: cannot start thread %u\n", i);
            return 1;
        }
    }
    uint64_t ops[3] = { 0 }, errors = 0, mismatches = 0, reconnects = 0, total = 0;
    int gave_up = 0;
    for (unsigned i = 0; i < opt_threads; i++) {
        pthread_join(ts[i].th, NULL);
        for (int o = 0; o < 3; o++)
            ops[o] += ts[i].ops[o];
        errors += ts[i].errors;
        mismatches += ts[i].mismatches;
        reconnects += ts[i].reconnects;
        gave_up |= ts[i].gave_up;
        total += ts[i].nrec;
        free(ts[i].c.buf);
    }
    double secs = (double)(now_ns() - t0) / 1e9;

    /* Latencies and the longest time no request completed (the stall the client saw). */
    uint64_t *lat = malloc((total + 1) * sizeof *lat), *done = malloc((total + 1) * sizeof *done), k = 0;
    if (!lat || !done) {
        fprintf(stderr, "kvload: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < opt_threads; i++)
        for (size_t j = 0; j < ts[i].nrec; j++, k++) {
            struct rec *r = &ts[i].recs[j];
            lat[k] = r->lat;
            done[k] = r->start + r->lat;
            if (csv)
                fprintf(csv, "%u,%" PRIu64 ",%" PRIu64 ",%s,%u\n", i, r->start, r->lat, op_names[r->op], r->attempts);
        }
    if (csv && fclose(csv)) {
        fprintf(stderr, "kvload: writing %s failed\n", opt_out);
        return 1;
    }
    qsort(lat, total, sizeof *lat, cmp_u64);
    qsort(done, total, sizeof *done, cmp_u64);
    uint64_t stall = 0, stall_at = 0; /* between completions: connection setup is not a stall */
    for (uint64_t j = 1; j < total; j++)
        if (done[j] - done[j - 1] > stall) {
            stall = done[j] - done[j - 1];
            stall_at = done[j - 1];
        }
#define PCT(p) (total ? lat[(uint64_t)((double)(total - 1) * (p))] / 1000 : 0)
    printf("kvload: requests %" PRIu64 " puts %" PRIu64 " gets %" PRIu64 " dels %" PRIu64 " errors %" PRIu64
           " reconnects %" PRIu64 "\n",
           total, ops[OP_PUT], ops[OP_GET], ops[OP_DEL], errors, reconnects);
    printf("kvload: throughput %.0f req/s\n", (double)total / secs);
    printf("kvload: latency_us p50 %" PRIu64 " p99 %" PRIu64 " p999 %" PRIu64 " max %" PRIu64 "\n", PCT(0.5),
           PCT(0.99), PCT(0.999), PCT(1.0));
    printf("kvload: longest_stall_ms %.3f at_s %.3f\n", (double)stall / 1e6, (double)stall_at / 1e9);
    printf("kvload: start_realtime_ns %" PRIu64 "\n", t0_real); /* the CSV's time 0 */
    printf("kvload: get_mismatches %" PRIu64 "\n", mismatches);
    fflush(stdout);

    uint64_t checked = 0, lost = 0, wrong = 0, resurrected = 0;
    int vrc = gave_up ? -1 : verify(&checked, &lost, &wrong, &resurrected);
    if (vrc)
        printf("kvload: verify FAILED: server unreachable%s\n", gave_up ? " during the run" : " for DUMP");
    else
        printf("kvload: verify keys %" PRIu64 " lost %" PRIu64 " wrong %" PRIu64 " resurrected %" PRIu64 "\n",
               checked, lost, wrong, resurrected);
    int ok = !vrc && !lost && !wrong && !resurrected && !mismatches && !errors && total;
    printf("kvload: %s\n", ok ? "PASS" : "FAIL");
    for (unsigned i = 0; i < opt_threads; i++)
        free(ts[i].recs);
    free(ts);
    free(lat);
    free(done);
    free(kstate);
    free(kseq);
    return ok ? 0 : 1;
}
