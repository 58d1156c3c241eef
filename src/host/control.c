/* Control socket server and client. Requests are one line; the reply is one
 * line holding a JSON object. */
#include "control.h"
#include "enclave.h"
#include "measure.h"
#include "mig_host.h"
#include "ocall.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char g_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char g_name[128];
static int g_lfd = -1;

static int valid_name(const char *n)
{
    size_t len = strlen(n);
    if (!len || len >= sizeof(g_name))
        return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return n[0] != '.';
}

int om_control_path(const char *name, char *out, size_t len)
{
    char dir[200];
    const char *env = getenv("OPTMIG_RUNDIR");
    if (!valid_name(name))
        return -1;
    if (env && *env)
        snprintf(dir, sizeof(dir), "%s", env);
    else if (getuid() == 0)
        snprintf(dir, sizeof(dir), "/run/optmig");
    else
        snprintf(dir, sizeof(dir), "/tmp/optmig-%u", (unsigned)getuid());
    mkdir(dir, 0700);
    int n = snprintf(out, len, "%s/%s.sock", dir, name);
    return n > 0 && (size_t)n < len && (size_t)n < sizeof(g_path) ? 0 : -1;
}

static void remove_socket(void)
{
    if (g_path[0])
        unlink(g_path);
}

static void reply(int fd, const char *s)
{
    size_t n = strlen(s);
    if (send(fd, s, n, MSG_NOSIGNAL) != (ssize_t)n)
        return;
}

static void json_escape(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (; *in && o + 7 < len; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, len - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
}

static void do_status(int fd)
{
    char meas[65], img[2 * PATH_MAX];
    om_measure_hex(om_enclave.measurement, meas);
    json_escape(om_enclave.image, img, sizeof(img));
    char buf[4 * PATH_MAX];
    snprintf(buf, sizeof(buf),
             "{\"name\":\"%s\",\"state\":\"running\",\"pid\":%d,\"image\":\"%s\",\"measurement\":\"%s\","
             "\"base\":%llu,\"heap_bytes\":%llu,\"thread_slots\":%u}\n",
             g_name, (int)getpid(), img, meas, (unsigned long long)om_enclave.params.layout.base,
             (unsigned long long)om_enclave.heap_size, om_enclave.threads);
    reply(fd, buf);
}

static const char *strategy_name(uint32_t s)
{
    static const char *const names[] = { "?", "stop-and-copy", "precopy", "postcopy", "hybrid" };
    return s < 5 ? names[s] : "?";
}

static void do_migrate(int fd, const char *args)
{
    char host[256], port[32];
    unsigned streams = 0, timeout = 0, strategy = 0, tracker = 0, maxdown = 0, rounds = 0, resume = 0;
    unsigned long long bw = 0;
    char buf[4096], err[1100];
    if (sscanf(args, "%255s %31s %u %u %u %u %u %u %llu %u", host, port, &streams, &timeout, &strategy, &tracker,
               &maxdown, &rounds, &bw, &resume) != 10 ||
        streams < 1 || streams > OM_MIG_MAX_STREAMS || strategy < 1 || strategy > 4 || tracker > 2) {
        reply(fd, "{\"result\":\"error\",\"error\":\"malformed migrate request\"}\n");
        return;
    }
    struct om_mig_request rq = { .streams = streams, .timeout_ms = timeout, .strategy = strategy,
                                 .tracker = tracker, .max_downtime_ms = maxdown, .max_rounds = rounds,
                                 .bandwidth_bps = bw, .resume = resume != 0 };
    struct om_mig_result r;
    int rc = om_mig_source(host, port, &rq, &r);
    json_escape(r.error, err, sizeof(err));
    snprintf(buf, sizeof(buf),
             "{\"strategy\":\"%s\",\"tracker\":\"%s\",\"result\":\"%s\",\"downtime_ms\":%.3f,"
             "\"quiesce_ms\":%.3f,\"stopped_send_ms\":%.3f,\"switchover_ms\":%.3f,\"total_ms\":%.3f,\"pages_sent\":%llu,\"zero_pages\":%llu,"
             "\"bytes_sent\":%llu,\"rounds\":%u,\"final_pages\":%llu,\"postcopy_pages\":%llu,"
             "\"demand_pages\":%llu,\"streams\":%u,\"throughput_mbps\":%.1f,\"switched\":%s,\"error\":\"%s\"}\n",
             strategy_name(strategy), r.tracker == 2 ? "kernel" : r.tracker == 1 ? "compiler" : "none",
             rc ? "failed" : "ok", r.downtime_ms, r.quiesce_ms, r.send_ms, r.switch_ms, r.total_ms,
             (unsigned long long)r.pages_sent, (unsigned long long)r.zero_pages, (unsigned long long)r.bytes_sent,
             r.rounds, (unsigned long long)r.final_pages, (unsigned long long)r.postcopy_pages,
             (unsigned long long)r.demand_pages, streams,
             r.total_ms > 0 ? (double)r.bytes_sent * 8 / 1e6 / (r.total_ms / 1e3) : 0.0, r.switched ? "true" : "false",
             err);
    reply(fd, buf);
    if (rc == 0) {
        /* The enclave lives at the destination now; this copy is gone. */
        close(fd);
        fprintf(stderr, "optmig: enclave '%s' migrated to %s:%s; it no longer runs here\n", g_name, host, port);
        om_host_exit(0);
    }
}

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept4(g_lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        char line[1024];
        size_t have = 0;
        ssize_t n;
        while (have < sizeof(line) - 1 && (n = recv(fd, line + have, sizeof(line) - 1 - have, 0)) > 0) {
            have += (size_t)n;
            if (memchr(line, '\n', have))
                break;
        }
        line[have] = 0;
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (!strcmp(line, "status"))
            do_status(fd);
        else if (!strncmp(line, "migrate ", 8))
            do_migrate(fd, line + 8);
        else
            reply(fd, "{\"result\":\"error\",\"error\":\"unknown request\"}\n");
        close(fd);
    }
}

int om_control_start(const char *name, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (om_control_path(name, sa.sun_path, sizeof(sa.sun_path))) {
        snprintf(err, errlen, "bad enclave name '%s' (letters, digits, '-', '_', '.')", name);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        /* A socket nobody answers on is a leftover from a crashed run. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int alive = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (alive || errno == EACCES) {
            snprintf(err, errlen, "an enclave named '%s' is already running (%s)", name, sa.sun_path);
            close(fd);
            return -1;
        }
        unlink(sa.sun_path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
            goto fail;
    }
    if (listen(fd, 8))
        goto fail;
    snprintf(g_path, sizeof(g_path), "%s", sa.sun_path);
    snprintf(g_name, sizeof(g_name), "%s", name);
    g_lfd = fd;
    om_host_atexit(remove_socket);
    pthread_t t;
    if (pthread_create(&t, NULL, serve, NULL))
        goto fail;
    pthread_detach(t);
    return 0;
fail:
    snprintf(err, errlen, "control socket %s: %s", sa.sun_path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

int om_control_request(const char *name, const char *request, char *out, size_t len, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (om_control_path(name, sa.sun_path, sizeof(sa.sun_path))) {
        snprintf(err, errlen, "bad enclave name '%s'", name);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        snprintf(err, errlen, "no enclave named '%s' is running here (%s: %s)", name, sa.sun_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t n = strlen(request);
    if (send(fd, request, n, MSG_NOSIGNAL) != (ssize_t)n) {
        snprintf(err, errlen, "control socket: %s", strerror(errno));
        close(fd);
        return -1;
    }
    size_t have = 0;
    ssize_t r;
    while (have < len - 1 && (r = recv(fd, out + have, len - 1 - have, 0)) > 0)
        have += (size_t)r;
    out[have] = 0;
    close(fd);
    if (!have) {
        snprintf(err, errlen, "enclave '%s' ended before it answered (the app exited, or its process was killed)", name);
        return -1;
    }
    return 0;
}
