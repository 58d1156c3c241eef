/* relay: a TCP relay that the migration tests put between a source and a
 * destination, able to damage the source->destination frame stream on purpose.
 *
 *   relay --listen PORT --to HOST:PORT [--bind ADDR] [--fault SPEC]... [--mark N]...
 *         [--record PREFIX]
 *   relay --replay PREFIX --to HOST:PORT [--timeout SEC]
 *   relay --free-port [--bind ADDR]
 *
 * Every accepted connection gets its own connection to --to (opened in accept
 * order, so the destination sees the source's streams in the source's order)
 * and bytes are forwarded both ways by one poll loop. --listen 0 picks a free
 * port; either way "relay: listening on port P" is printed once it listens.
 *
 * In the source->destination direction the relay parses frames ("OM", version,
 * type, u32 LE payload length, payload: docs/PROTOCOL.md, written again here
 * on purpose rather than taken from src/proto) and forwards whole frames, so a
 * fault hits an exact frame. RECORD frames are numbered from 1 in the order the
 * relay completes them, over all connections together (the order between
 * streams depends on scheduling). A fault SPEC may end in "@S" to count only
 * the RECORD frames of stream S instead (stream 0 is the connection that starts
 * with HELLO, stream i>0 the one whose STREAM_JOIN names index i); then which
 * record is hit does not depend on scheduling. A SPEC ending in "+go" counts
 * only the RECORD frames after the source's COMMIT_ACK (post-copy's push).
 *
 *   flip:N      flip (xor 0xff) one byte in the middle of RECORD N's ciphertext
 *               (a PAGE_ZERO record has none: a tag byte then)
 *   drop:N      do not forward RECORD N
 *   replay:N    forward RECORD N twice
 *   truncate:N  once RECORD N has been forwarded, deliver what is pending and
 *               close every connection; later connections are closed at once
 *   cut:N       the same, but leave every connection open and silent: nothing
 *               is read or written any more either way (a network cut)
 *   malformed   set the payload length of stream 0's first frame (HELLO) to a
 *               value no frame may have
 *   malformed:N the same for RECORD N's header; that stream is passed through
 *               unparsed afterwards
 *
 * --mark N prints "relay: mark N: N RECORD frames passed" when RECORD N has been
 * forwarded (tests wait on it). --record PREFIX saves the bytes each connection
 * received from the source, before any fault, to PREFIX.<accept order>.
 * Everything the relay does, and every frame the destination sends back, is
 * logged on stderr. SIGTERM or SIGINT ends it with a summary, status 0.
 *
 * --replay sends the recorded files PREFIX.0, PREFIX.1, ... on one connection
 * each, in order, while logging what comes back, until every connection is
 * closed by the peer or --timeout (default 20) seconds pass. Exit status 0.
 *
 * --free-port prints a TCP port that was free a moment ago and exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HDR 8u
#define MAX_PAYLOAD ((4u << 20) + 4096u)
#define T_HELLO 1
#define T_HELLO_REPLY 2
#define T_STREAM_JOIN 3
#define T_RECORD 4
#define T_COMMIT_ACK 6
#define T_ABORT 7
#define T_MAX 11
#define REC_CT 49u      /* ciphertext offset in a RECORD payload */
#define REC_CTLEN 29u   /* ct_len offset */
#define REC_TAG 33u     /* tag offset */
#define HIGH_WATER (8u << 20)
#define MAX_CONNS 64
#define MAX_FAULTS 32
#define MAX_MARKS 32

static const char *type_name(unsigned t)
{
    static const char *n[] = { "?",      "HELLO", "HELLO_REPLY", "STREAM_JOIN", "RECORD",   "COMMIT",
                               "COMMIT_ACK", "ABORT", "PING",      "PONG",        "PAGE_REQ", "RECORD_ACK" };
    return t <= T_MAX ? n[t] : "?";
}

static void logf_(const char *fmt, ...)
{
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", b);
}

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Printable copy of at most n bytes. */
static void printable(char *out, size_t cap, const uint8_t *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++)
        out[o++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
    out[o] = 0;
}

/* ---- growing output buffer ------------------------------------------------ */

struct obuf {
    uint8_t *p;
    size_t off, len, cap; /* pending bytes: p[off..len) */
};

static size_t ob_pending(const struct obuf *b) { return b->len - b->off; }

static void ob_put(struct obuf *b, const void *d, size_t n)
{
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (b->len + n > b->cap) {
        if (b->off) {
            memmove(b->p, b->p + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        if (b->len + n > b->cap) {
            size_t c = b->cap ? b->cap : 65536;
            while (c < b->len + n)
                c *= 2;
            uint8_t *q = realloc(b->p, c);
            if (!q) {
                logf_("relay: out of memory");
                exit(2);
            }
            b->p = q;
            b->cap = c;
        }
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

/* -1 on a hard error, else 0 (EAGAIN included). */
static int ob_flush(struct obuf *b, int fd)
{
    while (ob_pending(b)) {
        ssize_t n = send(fd, b->p + b->off, ob_pending(b), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0)
            return -1;
        b->off += (size_t)n;
    }
    return 0;
}

/* ---- a logging parser for frames we only watch (destination->source) ---- */

struct watch {
    uint8_t hdr[HDR];
    size_t hl;
    uint32_t need, got;
    uint8_t pl[600];
    int raw;
};

static void watch_log(const char *who, int idx, const uint8_t *h, const uint8_t *pl, uint32_t n)
{
    unsigned t = h[3];
    char txt[300];
    if (t == T_HELLO_REPLY && n >= 308) {
        size_t el = le16(pl + 306);
        printable(txt, sizeof(txt), pl + 308, el < n - 308 ? el : n - 308);
        logf_("%s: conn %d: HELLO_REPLY accept=%u%s%s", who, idx, pl[16], el ? " reason: " : "", txt);
    } else if (t == T_ABORT && n >= 6) {
        size_t ml = le16(pl + 4);
        printable(txt, sizeof(txt), pl + 6, ml < n - 6 ? ml : n - 6);
        logf_("%s: conn %d: ABORT code %u: %s", who, idx, le32(pl), txt);
    } else {
        logf_("%s: conn %d: %s (%u bytes)", who, idx, type_name(t), n);
    }
}

static void watch_feed(struct watch *w, const char *who, int idx, const uint8_t *d, size_t n)
{
    while (n && !w->raw) {
        if (w->hl < HDR) {
            w->hdr[w->hl++] = *d++;
            n--;
            if (w->hl == HDR) {
                if (w->hdr[0] != 'O' || w->hdr[1] != 'M' || w->hdr[2] != 1 || w->hdr[3] < 1 || w->hdr[3] > T_MAX ||
                    le32(w->hdr + 4) > MAX_PAYLOAD) {
                    logf_("%s: conn %d: unparseable frame header from the destination; not watched further", who, idx);
                    w->raw = 1;
                    return;
                }
                w->need = le32(w->hdr + 4);
                w->got = 0;
            }
        } else {
            size_t take = w->need - w->got < n ? w->need - w->got : n;
            for (size_t i = 0; i < take; i++)
                if (w->got + i < sizeof(w->pl))
                    w->pl[w->got + i] = d[i];
            w->got += (uint32_t)take;
            d += take;
            n -= take;
        }
        if (w->hl == HDR && w->got == w->need) {
            watch_log(who, idx, w->hdr, w->pl, w->need < sizeof(w->pl) ? w->need : (uint32_t)sizeof(w->pl));
            w->hl = 0;
        }
    }
}

/* ---- faults ---------------------------------------------------------------- */

enum { F_FLIP, F_DROP, F_REPLAY, F_TRUNCATE, F_CUT, F_MALFORMED_HELLO, F_MALFORMED_REC };
static const char *fault_names[] = { "flip", "drop", "replay", "truncate", "cut", "malformed", "malformed" };

struct fault {
    int kind;
    unsigned long n;
    int stream; /* -1: count over all streams */
    int after_go; /* count only records after COMMIT_ACK */
    int done;
};

static struct fault faults[MAX_FAULTS];
static int nfaults;
static unsigned long nrec_go; /* RECORD frames since COMMIT_ACK passed */
static int go_seen;
static unsigned long marks[MAX_MARKS];
static int nmarks;

static int parse_fault(const char *spec)
{
    static const struct {
        const char *name;
        int kind;
    } names[] = { { "flip", F_FLIP },         { "drop", F_DROP }, { "replay", F_REPLAY },
                  { "truncate", F_TRUNCATE }, { "cut", F_CUT },   { "malformed", F_MALFORMED_REC } };
    if (nfaults == MAX_FAULTS)
        return -1;
    struct fault f = { .stream = -1 };
    if (!strcmp(spec, "malformed")) {
        f.kind = F_MALFORMED_HELLO;
        faults[nfaults++] = f;
        return 0;
    }
    const char *colon = strchr(spec, ':');
    if (!colon)
        return -1;
    size_t nl = (size_t)(colon - spec);
    int found = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i].name) == nl && !strncmp(spec, names[i].name, nl)) {
            f.kind = names[i].kind;
            found = 1;
        }
    char *end;
    errno = 0;
    f.n = strtoul(colon + 1, &end, 10);
    if (!found || errno || end == colon + 1 || f.n == 0)
        return -1;
    if (!strcmp(end, "+go")) {
        f.after_go = 1;
        end += 3;
    }
    if (*end == '@') {
        char *e2;
        long s = strtol(end + 1, &e2, 10);
        if (e2 == end + 1 || *e2 || s < 0 || s > 15)
            return -1;
        f.stream = (int)s;
    } else if (*end) {
        return -1;
    }
    faults[nfaults++] = f;
    return 0;
}

/* ---- connections ----------------------------------------------------------- */

struct conn {
    int used, idx, stream;
    int sfd, dfd;
    int s_eof, d_eof, s_shut, d_shut;
    uint8_t *in; /* source bytes not yet forwarded: at most one frame */
    size_t in_len;
    int raw, first_done;
    unsigned long records; /* RECORD frames of this connection so far */
    struct obuf to_d, to_s;
    struct watch w;
    FILE *rec;
};

static struct conn conns[MAX_CONNS];
static int nconns_total;
static unsigned long nrec; /* RECORD frames completed, all connections */
static enum { RUN, ENDING_TRUNCATE, ENDING_CUT, CLOSED, SILENT } state = RUN;
static double end_deadline;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void conn_close(struct conn *c, const char *why)
{
    if (!c->used)
        return;
    if (why)
        logf_("relay: conn %d (stream %d): closed: %s", c->idx, c->stream, why);
    if (c->sfd >= 0)
        close(c->sfd);
    if (c->dfd >= 0)
        close(c->dfd);
    if (c->rec)
        fclose(c->rec);
    free(c->in);
    free(c->to_d.p);
    free(c->to_s.p);
    memset(c, 0, sizeof(*c));
}

static void begin_end(int kind)
{
    state = kind == F_TRUNCATE ? ENDING_TRUNCATE : ENDING_CUT;
    end_deadline = now_s() + 3.0;
    /* Bytes of frames after the triggering one are never forwarded. */
    for (int i = 0; i < MAX_CONNS; i++)
        conns[i].in_len = 0;
}

/* One whole frame from the source: apply faults, queue it for the destination. */
static void handle_frame(struct conn *c, uint8_t *f, size_t len)
{
    unsigned type = f[3];
    uint8_t *pl = f + HDR;
    uint32_t plen = (uint32_t)(len - HDR);
    if (!c->first_done) {
        c->first_done = 1;
        if (type == T_HELLO)
            c->stream = 0;
        else if (type == T_STREAM_JOIN && plen > 16)
            c->stream = pl[16];
        logf_("relay: conn %d is stream %d (first frame %s)", c->idx, c->stream, type_name(type));
        if (type == T_HELLO)
            for (int i = 0; i < nfaults; i++)
                if (faults[i].kind == F_MALFORMED_HELLO && !faults[i].done) {
                    faults[i].done = 1;
                    put32(f + 4, 0xfffffff0u);
                    logf_("relay: malformed: HELLO header of stream 0 now claims 0xfffffff0 payload bytes");
                }
    }
    if (type != T_RECORD) {
        if (type == T_ABORT && plen >= 6) {
            char txt[300];
            size_t ml = le16(pl + 4);
            printable(txt, sizeof(txt), pl + 6, ml < plen - 6 ? ml : plen - 6);
            logf_("relay: conn %d: source sent ABORT code %u: %s", c->idx, le32(pl), txt);
        } else if (type != T_HELLO && type != T_STREAM_JOIN) {
            logf_("relay: conn %d: source sent %s", c->idx, type_name(type));
        }
        go_seen |= type == T_COMMIT_ACK;
        ob_put(&c->to_d, f, len);
        return;
    }
    nrec++;
    nrec_go += go_seen;
    c->records++;
    int copies = 1, end_kind = -1, go_raw = 0;
    for (int i = 0; i < nfaults; i++) {
        struct fault *ft = &faults[i];
        if (ft->done || ft->kind == F_MALFORMED_HELLO)
            continue;
        if (ft->after_go ? nrec_go != ft->n
                         : ft->stream < 0 ? nrec != ft->n : (ft->stream != c->stream || c->records != ft->n))
            continue;
        ft->done = 1;
        char where[160];
        snprintf(where, sizeof(where), "RECORD #%lu (stream %d record %lu, rtype %u, page 0x%llx, counter %llu)",
                 nrec, c->stream, c->records, plen > 0 ? pl[0] : 0,
                 plen >= REC_CT ? (unsigned long long)le64(pl + 13) : 0ull,
                 plen >= REC_CT ? (unsigned long long)le64(pl + 5) : 0ull);
        switch (ft->kind) {
        case F_FLIP: {
            uint32_t ct = plen >= REC_CT ? le32(pl + REC_CTLEN) : 0;
            size_t off = ct && REC_CT + ct <= plen ? REC_CT + ct / 2 : REC_TAG + 8;
            if (off < plen) {
                pl[off] ^= 0xff;
                logf_("relay: flip: %s: byte %zu of %u payload bytes (%s)", where, off, plen,
                      ct ? "ciphertext" : "tag");
            }
            break;
        }
        case F_DROP:
            copies = 0;
            logf_("relay: drop: %s", where);
            break;
        case F_REPLAY:
            copies = 2;
            logf_("relay: replay: %s sent twice", where);
            break;
        case F_MALFORMED_REC:
            put32(f + 4, MAX_PAYLOAD + 1);
            go_raw = 1;
            logf_("relay: malformed: %s header now claims %u payload bytes", where, MAX_PAYLOAD + 1);
            break;
        case F_TRUNCATE:
        case F_CUT:
            end_kind = ft->kind;
            logf_("relay: %s: after %s", fault_names[ft->kind], where);
            break;
        }
    }
    for (int k = 0; k < copies; k++)
        ob_put(&c->to_d, f, len);
    if (go_raw)
        c->raw = 1;
    for (int i = 0; i < nmarks; i++)
        if (marks[i] == nrec)
            logf_("relay: mark %lu: %lu RECORD frames passed", nrec, nrec);
    if (end_kind >= 0)
        begin_end(end_kind);
}

/* Forwards the whole frames at the start of c->in. */
static void parse_in(struct conn *c)
{
    size_t off = 0;
    while (state == RUN && c->in_len - off >= HDR && !c->raw) {
        uint8_t *h = c->in + off;
        uint32_t plen = le32(h + 4);
        if (h[0] != 'O' || h[1] != 'M' || h[2] != 1 || h[3] < 1 || h[3] > T_MAX || plen > MAX_PAYLOAD) {
            logf_("relay: conn %d: unparseable frame header from the source; passing bytes through", c->idx);
            c->raw = 1;
            break;
        }
        if (c->in_len - off < HDR + plen)
            break;
        handle_frame(c, h, HDR + plen);
        off += HDR + plen;
    }
    if (state != RUN)
        return; /* begin_end emptied c->in */
    if (c->raw && c->in_len > off) {
        ob_put(&c->to_d, c->in + off, c->in_len - off);
        off = c->in_len;
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
}

static int connect_to(const struct addrinfo *to)
{
    int fd = socket(to->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, to->ai_addr, to->ai_addrlen)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void nonblock(int fd)
{
    int one = 1;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void accept_one(int lfd, const struct addrinfo *to, const char *record)
{
    int sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (sfd < 0)
        return;
    int idx = nconns_total++;
    if (state != RUN) {
        logf_("relay: conn %d: refused (connections were %s)", idx, state == CLOSED ? "truncated" : "cut");
        close(sfd);
        return;
    }
    struct conn *c = NULL;
    for (int i = 0; i < MAX_CONNS && !c; i++)
        if (!conns[i].used)
            c = &conns[i];
    int dfd = c ? connect_to(to) : -1;
    if (dfd < 0) {
        logf_("relay: conn %d: %s", idx, c ? "cannot connect to the destination" : "too many connections");
        close(sfd);
        return;
    }
    memset(c, 0, sizeof(*c));
    c->used = 1;
    c->idx = idx;
    c->stream = -1;
    c->sfd = sfd;
    c->dfd = dfd;
    c->in = malloc(HDR + MAX_PAYLOAD);
    if (!c->in) {
        logf_("relay: out of memory");
        exit(2);
    }
    nonblock(sfd);
    nonblock(dfd);
    if (record) {
        char path[4096];
        snprintf(path, sizeof(path), "%s.%d", record, idx);
        if (!(c->rec = fopen(path, "wb")))
            logf_("relay: cannot record to %s: %s", path, strerror(errno));
    }
    logf_("relay: conn %d accepted and connected", idx);
}

/* Reads what the source sent; 0 ok, -1 connection error. */
static int read_source(struct conn *c)
{
    uint8_t tmp[65536];
    uint8_t *dst = c->raw ? tmp : c->in + c->in_len;
    size_t room = c->raw ? sizeof(tmp) : HDR + MAX_PAYLOAD - c->in_len;
    ssize_t n = recv(c->sfd, dst, room, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0) {
        c->s_eof = 1;
        if (c->in_len) { /* a partial frame: passes through as it is */
            ob_put(&c->to_d, c->in, c->in_len);
            c->in_len = 0;
        }
        return 0;
    }
    if (c->rec)
        fwrite(dst, 1, (size_t)n, c->rec);
    if (c->raw) {
        ob_put(&c->to_d, tmp, (size_t)n);
        return 0;
    }
    c->in_len += (size_t)n;
    parse_in(c);
    return 0;
}

static int read_dest(struct conn *c)
{
    uint8_t tmp[65536];
    ssize_t n = recv(c->dfd, tmp, sizeof(tmp), 0);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0) {
        c->d_eof = 1;
        return 0;
    }
    watch_feed(&c->w, "relay: destination", c->idx, tmp, (size_t)n);
    ob_put(&c->to_s, tmp, (size_t)n);
    return 0;
}

static int all_flushed(void)
{
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i].used && (ob_pending(&conns[i].to_d) || ob_pending(&conns[i].to_s)))
            return 0;
    return 1;
}

static int relay_main(const char *bind_addr, const char *port, const struct addrinfo *to, const char *record)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
    int gai = getaddrinfo(bind_addr, port, &hints, &ai);
    if (gai) {
        logf_("relay: --listen %s: %s", port, gai_strerror(gai));
        return 2;
    }
    int lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (lfd >= 0)
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, ai->ai_addr, ai->ai_addrlen) || listen(lfd, 64)) {
        logf_("relay: cannot listen on %s: %s", port, strerror(errno));
        return 2;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage sa;
    socklen_t sl = sizeof(sa);
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    unsigned lport = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                    : ((struct sockaddr_in *)&sa)->sin_port);
    logf_("relay: listening on port %u", lport);

    struct pollfd pfd[1 + 2 * MAX_CONNS];
    int who[1 + 2 * MAX_CONNS];
    while (!stop) {
        if (state == ENDING_TRUNCATE || state == ENDING_CUT) {
            if (all_flushed() || now_s() > end_deadline) {
                if (state == ENDING_TRUNCATE) {
                    for (int i = 0; i < MAX_CONNS; i++)
                        conn_close(&conns[i], NULL);
                    state = CLOSED;
                    logf_("relay: truncate: every connection closed after %lu RECORD frames", nrec);
                } else {
                    state = SILENT;
                    logf_("relay: cut: every connection is now silent after %lu RECORD frames", nrec);
                }
            }
        }
        int n = 0;
        if (state != SILENT) {
            pfd[n] = (struct pollfd){ .fd = lfd, .events = POLLIN };
            who[n++] = -1;
        }
        for (int i = 0; i < MAX_CONNS && state != SILENT; i++) {
            struct conn *c = &conns[i];
            if (!c->used)
                continue;
            int reading = state == RUN;
            short se = 0, de = 0;
            if (reading && !c->s_eof && ob_pending(&c->to_d) < HIGH_WATER && (c->raw || c->in_len < HDR + MAX_PAYLOAD))
                se |= POLLIN;
            if (ob_pending(&c->to_s))
                se |= POLLOUT;
            if (reading && !c->d_eof && ob_pending(&c->to_s) < HIGH_WATER)
                de |= POLLIN;
            if (ob_pending(&c->to_d))
                de |= POLLOUT;
            /* A side with nothing to do is left out: its POLLHUP would spin. */
            pfd[n] = (struct pollfd){ .fd = se ? c->sfd : -1, .events = se };
            who[n++] = 2 * i;
            pfd[n] = (struct pollfd){ .fd = de ? c->dfd : -1, .events = de };
            who[n++] = 2 * i + 1;
        }
        int timeout = state == ENDING_TRUNCATE || state == ENDING_CUT ? 50 : -1;
        int r = poll(pfd, (nfds_t)n, timeout);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            logf_("relay: poll: %s", strerror(errno));
            return 2;
        }
        for (int k = 0; k < n; k++) {
            short re = pfd[k].revents;
            if (!re)
                continue;
            if (who[k] < 0) {
                accept_one(lfd, to, record);
                continue;
            }
            struct conn *c = &conns[who[k] / 2];
            if (!c->used)
                continue;
            int is_src = who[k] % 2 == 0;
            int fd = is_src ? c->sfd : c->dfd;
            if (fd < 0)
                continue;
            int bad = 0;
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                if (pfd[k].events & POLLIN)
                    bad = is_src ? read_source(c) : read_dest(c);
                else if (re & POLLERR)
                    bad = -1;
            }
            if (!bad && (re & POLLOUT))
                bad = ob_flush(is_src ? &c->to_s : &c->to_d, fd);
            if (bad) {
                conn_close(c, is_src ? "error on the source side" : "error on the destination side");
                continue;
            }
            /* A side that ended gets the other side's end once its bytes are out. */
            if (c->s_eof && !c->d_shut && !ob_pending(&c->to_d)) {
                shutdown(c->dfd, SHUT_WR);
                c->d_shut = 1;
            }
            if (c->d_eof && !c->s_shut && !ob_pending(&c->to_s)) {
                shutdown(c->sfd, SHUT_WR);
                c->s_shut = 1;
            }
            if (c->s_eof && c->d_eof && c->s_shut && c->d_shut)
                conn_close(c, "both sides finished");
        }
    }
    logf_("relay: exiting: %d connections, %lu RECORD frames seen", nconns_total, nrec);
    for (int i = 0; i < nfaults; i++)
        if (!faults[i].done)
            logf_("relay: fault %s:%lu never applied", fault_names[faults[i].kind], faults[i].n);
    for (int i = 0; i < MAX_CONNS; i++)
        conn_close(&conns[i], NULL);
    close(lfd);
    return 0;
}

/* ---- --replay ------------------------------------------------------------ */

static int replay_main(const char *prefix, const struct addrinfo *to, int timeout_s)
{
    struct rconn {
        int fd, eof;
        uint8_t *data;
        size_t len, off;
        struct watch w;
    } rc[MAX_CONNS];
    int n = 0;
    for (; n < MAX_CONNS; n++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s.%d", prefix, n);
        FILE *f = fopen(path, "rb");
        if (!f)
            break;
        struct stat st;
        fstat(fileno(f), &st);
        memset(&rc[n], 0, sizeof(rc[n]));
        rc[n].len = (size_t)st.st_size;
        rc[n].data = malloc(rc[n].len ? rc[n].len : 1);
        if (!rc[n].data || fread(rc[n].data, 1, rc[n].len, f) != rc[n].len) {
            logf_("replay: cannot read %s", path);
            return 2;
        }
        fclose(f);
    }
    if (!n) {
        logf_("replay: no recording %s.0", prefix);
        return 2;
    }
    for (int i = 0; i < n; i++) {
        if ((rc[i].fd = connect_to(to)) < 0) {
            logf_("replay: conn %d: cannot connect: %s", i, strerror(errno));
            rc[i].eof = 1;
            continue;
        }
        nonblock(rc[i].fd);
        logf_("replay: conn %d: connected, %zu bytes to send", i, rc[i].len);
    }
    double deadline = now_s() + timeout_s;
    for (;;) {
        struct pollfd pfd[MAX_CONNS];
        int live = 0;
        for (int i = 0; i < n; i++) {
            pfd[i] = (struct pollfd){ .fd = rc[i].eof ? -1 : rc[i].fd,
                                      .events = (short)(POLLIN | (rc[i].off < rc[i].len ? POLLOUT : 0)) };
            live += !rc[i].eof;
        }
        double left = deadline - now_s();
        if (!live || left <= 0 || stop)
            break;
        if (poll(pfd, (nfds_t)n, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (rc[i].eof || !pfd[i].revents)
                continue;
            if (pfd[i].revents & POLLOUT) {
                ssize_t w = send(rc[i].fd, rc[i].data + rc[i].off, rc[i].len - rc[i].off, MSG_NOSIGNAL);
                if (w > 0)
                    rc[i].off += (size_t)w;
                else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    logf_("replay: conn %d: send: %s after %zu bytes", i, strerror(errno), rc[i].off);
                    rc[i].eof = 1;
                    continue;
                }
            }
            if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                uint8_t tmp[65536];
                ssize_t r = recv(rc[i].fd, tmp, sizeof(tmp), 0);
                if (r > 0)
                    watch_feed(&rc[i].w, "replay: destination", i, tmp, (size_t)r);
                else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    logf_("replay: conn %d: closed by the destination after %zu of %zu bytes", i, rc[i].off,
                          rc[i].len);
                    rc[i].eof = 1;
                }
            }
        }
    }
    for (int i = 0; i < n; i++) {
        if (!rc[i].eof)
            logf_("replay: conn %d: still open at the end (%zu of %zu bytes sent)", i, rc[i].off, rc[i].len);
        if (rc[i].fd >= 0)
            close(rc[i].fd);
        free(rc[i].data);
    }
    logf_("replay: done");
    return 0;
}

static int free_port(const char *bind_addr)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
    if (getaddrinfo(bind_addr, "0", &hints, &ai))
        return 2;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    struct sockaddr_storage sa;
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || getsockname(fd, (struct sockaddr *)&sa, &sl))
        return 2;
    printf("%u\n", ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                  : ((struct sockaddr_in *)&sa)->sin_port));
    close(fd);
    freeaddrinfo(ai);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: relay --listen PORT --to HOST:PORT [--bind ADDR] [--fault SPEC]... [--mark N]...\n"
               "             [--record PREFIX]\n"
               "       relay --replay PREFIX --to HOST:PORT [--timeout SEC]\n"
               "       relay --free-port [--bind ADDR]\n"
               "SPEC: flip:N drop:N replay:N truncate:N cut:N malformed:N (optionally @STREAM), malformed\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, 0, 'l' }, { "to", required_argument, 0, 't' },
        { "bind", required_argument, 0, 'b' },   { "fault", required_argument, 0, 'f' },
        { "mark", required_argument, 0, 'm' },   { "record", required_argument, 0, 'r' },
        { "replay", required_argument, 0, 'R' }, { "timeout", required_argument, 0, 'T' },
        { "free-port", no_argument, 0, 'F' },    { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *listen_port = NULL, *to = NULL, *bind_addr = "127.0.0.1", *record = NULL, *replay = NULL;
    int c, timeout_s = 20, want_free = 0;
    char *end;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': listen_port = optarg; break;
        case 't': to = optarg; break;
        case 'b': bind_addr = optarg; break;
        case 'r': record = optarg; break;
        case 'R': replay = optarg; break;
        case 'F': want_free = 1; break;
        case 'f':
            if (parse_fault(optarg)) {
                fprintf(stderr, "relay: bad --fault '%s'\n", optarg);
                return 64;
            }
            break;
        case 'm':
            if (nmarks == MAX_MARKS || !(marks[nmarks++] = strtoul(optarg, &end, 10)) || *end) {
                fprintf(stderr, "relay: bad --mark '%s'\n", optarg);
                return 64;
            }
            break;
        case 'T':
            timeout_s = (int)strtol(optarg, &end, 10);
            if (*end || timeout_s < 1) {
                fprintf(stderr, "relay: bad --timeout '%s'\n", optarg);
                return 64;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 64;
        }
    }
    if (want_free)
        return free_port(bind_addr);
    if (optind != argc || !to || !!listen_port == !!replay) {
        usage(stderr);
        return 64;
    }
    char host[256];
    const char *colon = strrchr(to, ':');
    if (!colon || colon == to || (size_t)(colon - to) >= sizeof(host)) {
        fprintf(stderr, "relay: --to needs HOST:PORT\n");
        return 64;
    }
    memcpy(host, to, (size_t)(colon - to));
    host[colon - to] = 0;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
    int gai = getaddrinfo(host, colon + 1, &hints, &ai);
    if (gai) {
        fprintf(stderr, "relay: --to %s: %s\n", to, gai_strerror(gai));
        return 64;
    }
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stderr, NULL, _IONBF, 0);
    int rc = replay ? replay_main(replay, ai, timeout_s) : relay_main(bind_addr, listen_port, ai, record);
    freeaddrinfo(ai);
    return rc;
}
