/* kvserver: a multi-threaded TCP key-value store whose data lives in the
 * enclave heap. Line protocol (see README.md): PUT, GET, DEL, DUMP, STATS,
 * PING, QUIT. One thread per connection, at most -c at once.
 *
 * Live migration: the listening socket is re-bound at the destination on the
 * same port and the accept loop carries on; open connections cannot move (they
 * become unconnected sockets, recv fails), so their threads close them and
 * clients reconnect. Every acknowledged PUT/DEL is in the heap, which moves.
 */
#define _POSIX_C_SOURCE 200809L
#include "wl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXKEY 250u
#define MAXVAL (1u << 20)
#define MAXLINE (MAXVAL + MAXKEY + 16u)
#define NSTRIPES 1024u /* bucket locks */
#define FLUSH_AT (256u << 10)

struct item {
    struct item *next;
    uint64_t hash;
    uint32_t klen, vlen;
    char data[]; /* key, then value */
};

struct conn {
    int fd;
    char *in, *out;
    size_t inlen, incap, outlen, outcap;
};

static struct item **buckets;
static uint64_t nbuckets; /* a power of two */
static pthread_mutex_t stripes[NSTRIPES];
static uint64_t nkeys, nbytes, nconns;
static unsigned opt_maxconn = 32;

static uint64_t hash_key(const char *k, size_t n) /* FNV-1a, then mixed */
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 0x100000001b3ull;
    return wl_mix64(h);
}

static pthread_mutex_t *stripe_of(uint64_t b)
{
    return &stripes[b % NSTRIPES];
}

/* Appends n bytes to the output buffer; returns -1 when out of memory. */
static int out_add(struct conn *c, const char *s, size_t n)
{
    if (c->outlen + n > c->outcap) {
        size_t cap = c->outcap * 2;
        while (cap < c->outlen + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p)
            return -1;
        c->out = p;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, s, n);
    c->outlen += n;
    return 0;
}

static int out_str(struct conn *c, const char *s)
{
    return out_add(c, s, strlen(s));
}

static int flush(struct conn *c)
{
    size_t off = 0;
    while (off < c->outlen) {
        ssize_t n = send(c->fd, c->out + off, c->outlen - off, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    c->outlen = 0;
    return 0;
}

/* Finds key in bucket b (its stripe held); returns the link pointing at it. */
static struct item **find(uint64_t b, uint64_t h, const char *k, size_t kl)
{
    struct item **pp = &buckets[b];
    while (*pp && !((*pp)->hash == h && (*pp)->klen == kl && !memcmp((*pp)->data, k, kl)))
        pp = &(*pp)->next;
    return pp;
}

static int do_put(struct conn *c, const char *k, size_t kl, const char *v, size_t vl)
{
    uint64_t h = hash_key(k, kl), b = h & (nbuckets - 1);
    struct item *it = malloc(sizeof *it + kl + vl);
    if (!it)
        return out_str(c, "ERR out of memory\n");
    it->hash = h;
    it->klen = (uint32_t)kl;
    it->vlen = (uint32_t)vl;
    memcpy(it->data, k, kl);
    memcpy(it->data + kl, v, vl);
    pthread_mutex_lock(stripe_of(b));
    struct item **pp = find(b, h, k, kl), *old = *pp;
    it->next = old ? old->next : NULL;
    *pp = it;
    pthread_mutex_unlock(stripe_of(b));
    if (old) {
        __atomic_fetch_sub(&nbytes, old->vlen, __ATOMIC_RELAXED);
        free(old);
    } else {
        __atomic_fetch_add(&nkeys, 1, __ATOMIC_RELAXED);
    }
    __atomic_fetch_add(&nbytes, vl, __ATOMIC_RELAXED);
    return out_str(c, "OK\n");
}

static int do_get_del(struct conn *c, const char *k, size_t kl, int del)
{
    uint64_t h = hash_key(k, kl), b = h & (nbuckets - 1);
    int rc = 0;
    pthread_mutex_lock(stripe_of(b));
    struct item **pp = find(b, h, k, kl), *it = *pp;
    if (!it) {
        rc = out_str(c, "NOTFOUND\n");
    } else if (del) {
        *pp = it->next;
        __atomic_fetch_sub(&nkeys, 1, __ATOMIC_RELAXED);
        __atomic_fetch_sub(&nbytes, it->vlen, __ATOMIC_RELAXED);
        free(it);
        rc = out_str(c, "OK\n");
    } else {
        rc = out_str(c, "VALUE ") || out_add(c, it->data + kl, it->vlen) || out_str(c, "\n");
    }
    pthread_mutex_unlock(stripe_of(b));
    return rc;
}

/* Not a snapshot: writes racing with DUMP may or may not show. */
static int do_dump(struct conn *c)
{
    uint64_t count = 0;
    char line[64];
    for (uint64_t b = 0; b < nbuckets; b++) {
        pthread_mutex_lock(stripe_of(b));
        int rc = 0;
        for (struct item *it = buckets[b]; it && !rc; it = it->next, count++)
            rc = out_str(c, "KV ") || out_add(c, it->data, it->klen) || out_str(c, " ") ||
                 out_add(c, it->data + it->klen, it->vlen) || out_str(c, "\n");
        pthread_mutex_unlock(stripe_of(b));
        if (rc || (c->outlen >= FLUSH_AT && flush(c)))
            return -1;
    }
    snprintf(line, sizeof line, "END %" PRIu64 "\n", count);
    return out_str(c, line);
}

/* Splits off the next space-separated token; NULL if none. */
static char *token(char **s, size_t *len)
{
    while (**s == ' ')
        (*s)++;
    if (!**s)
        return NULL;
    char *t = *s;
    while (**s && **s != ' ')
        (*s)++;
    *len = (size_t)(*s - t);
    return t;
}

/* Handles one request line (NUL-terminated); returns -1 to close the connection. */
static int handle(struct conn *c, char *line)
{
    size_t cl = 0, kl = 0, vl = 0, xl = 0;
    char *cmd = token(&line, &cl), *k = token(&line, &kl), *v = token(&line, &vl), *extra = token(&line, &xl);
    int nargs = !!k + !!v + !!extra;
    if (!cmd)
        return out_str(c, "ERR empty request\n");
#define IS(name, n) (cl == sizeof(name) - 1 && !memcmp(cmd, name, cl) && nargs == (n))
    if ((k && kl > MAXKEY) || (v && vl > MAXVAL))
        return out_str(c, "ERR key or value too long\n");
    if (IS("PUT", 2))
        return do_put(c, k, kl, v, vl);
    if (IS("GET", 1))
        return do_get_del(c, k, kl, 0);
    if (IS("DEL", 1))
        return do_get_del(c, k, kl, 1);
    if (IS("DUMP", 0))
        return do_dump(c);
    if (IS("PING", 0))
        return out_str(c, "PONG\n");
    if (IS("QUIT", 0)) {
        if (!out_str(c, "BYE\n"))
            flush(c);
        return -1;
    }
    if (IS("STATS", 0)) {
        char s[160];
        snprintf(s, sizeof s, "STATS keys %" PRIu64 " bytes %" PRIu64 " conns %" PRIu64 "\n",
                 __atomic_load_n(&nkeys, __ATOMIC_RELAXED), __atomic_load_n(&nbytes, __ATOMIC_RELAXED),
                 __atomic_load_n(&nconns, __ATOMIC_RELAXED));
        return out_str(c, s);
    }
#undef IS
    return out_str(c, "ERR unknown command or wrong arguments\n");
}

static void serve(struct conn *c)
{
    for (;;) {
        if (c->inlen == c->incap) {
            if (c->incap >= MAXLINE) {
                out_str(c, "ERR line too long\n");
                flush(c);
                return;
            }
            char *p = realloc(c->in, c->incap * 2);
            if (!p)
                return;
            c->in = p;
            c->incap *= 2;
        }
        ssize_t n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* peer gone, or the socket did not survive a migration */
        size_t start = 0, end = c->inlen + (size_t)n;
        for (size_t i = c->inlen; i < end; i++) {
            if (c->in[i] != '\n')
                continue;
            c->in[i] = 0;
            if (i > start && c->in[i - 1] == '\r')
                c->in[i - 1] = 0;
            if (handle(c, c->in + start))
                return;
            start = i + 1;
        }
        memmove(c->in, c->in + start, end - start);
        c->inlen = end - start;
        if (c->outlen && flush(c)) /* replies to a pipelined batch go out together */
            return;
    }
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    c->incap = c->outcap = 4096;
    c->in = malloc(c->incap);
    c->out = malloc(c->outcap);
    if (c->in && c->out)
        serve(c);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
    __atomic_fetch_sub(&nconns, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: kvserver [options]\n"
               "  -a ADDR  IPv4 address to listen on (default 0.0.0.0)\n"
               "  -p PORT  TCP port, 0 = any free one (default 7070)\n"
               "  -m SIZE  expected data size, sizes the hash table (default 64M)\n"
               "  -c N     most connections at once (default 32)\n");
}

int main(int argc, char **argv)
{
    const char *addr = "0.0.0.0";
    uint64_t port = 7070, hint = 64ull << 20, v;
    int c;
    wl.name = "kvserver";
    while ((c = getopt(argc, argv, "a:p:m:c:h")) != -1) {
        int bad = 0;
        switch (c) {
        case 'a': addr = optarg; break;
        case 'p': bad = wl_parse_u64(optarg, &port) || port > 65535; break;
        case 'm': bad = wl_parse_size(optarg, &hint) || hint < 4096; break;
        case 'c':
            bad = wl_parse_u64(optarg, &v) || v < 1 || v > 200;
            opt_maxconn = (unsigned)v;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad) {
            fprintf(stderr, "kvserver: bad value for -%c: '%s'\n", c, optarg);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "kvserver: bad address '%s'\n", addr);
        return 2;
    }
    for (nbuckets = 1024; nbuckets < hint / 128; nbuckets *= 2) /* ~1 bucket per 128-byte item */
        ;
    buckets = calloc(nbuckets, sizeof *buckets);
    if (!buckets) {
        fprintf(stderr, "kvserver: out of memory for %" PRIu64 " buckets\n", nbuckets);
        return 2;
    }
    for (unsigned i = 0; i < NSTRIPES; i++)
        pthread_mutex_init(&stripes[i], NULL);

    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t sl = sizeof sa;
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 128) ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
        fprintf(stderr, "kvserver: cannot listen on %s:%" PRIu64 ": %s\n", addr, port, strerror(errno));
        return 1;
    }
    printf("kvserver: listening on %s:%u buckets %" PRIu64 "\n", addr, ntohs(sa.sin_port), nbuckets);
    fflush(stdout);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED) { /* transient: keep serving */
                fprintf(stderr, "kvserver: accept: %s\n", strerror(errno));
                nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
            }
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *cn = NULL;
        pthread_t th;
        if (__atomic_add_fetch(&nconns, 1, __ATOMIC_RELAXED) > opt_maxconn || !(cn = calloc(1, sizeof *cn))) {
            static const char busy[] = "ERR busy\n";
            send(fd, busy, sizeof busy - 1, 0);
            close(fd);
            __atomic_fetch_sub(&nconns, 1, __ATOMIC_RELAXED);
            continue;
        }
        cn->fd = fd;
        int err = pthread_create(&th, &attr, conn_main, cn);
        if (err) {
            fprintf(stderr, "kvserver: pthread_create: %s\n", strerror(err));
            close(fd);
            free(cn);
            __atomic_fetch_sub(&nconns, 1, __ATOMIC_RELAXED);
        }
    }
}
