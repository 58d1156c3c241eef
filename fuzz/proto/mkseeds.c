/* Writes the seed corpus for fuzz_proto into DIR: one valid frame of each
 * message type (several shapes each), the same messages as bare payloads (the
 * fuzzer also decodes the whole input as a payload), a stream of many frames,
 * and a valid frame followed by garbage. Deterministic. usage: mkseeds DIR */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optmig/abi.h"
#include "wire.h"

static uint64_t g_rng = 0x5eed;

static uint64_t rnd(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fill(void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)p)[i] = (uint8_t)rnd();
}

static const char *g_dir;
static int g_count;

static void put(const char *name, int k, const uint8_t *b, size_t n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s-%d", g_dir, name, k);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f)) {
        perror(path);
        exit(1);
    }
    g_count++;
}

static uint8_t g_ct[8192];

/* Shape k of a message of the given type; small enough for a quick fuzzer. */
static void make(struct om_msg *m, uint8_t type, int k)
{
    static const char *const paths[] = {"/srv/app.img", "a", "/tmp/x y/\xc3\xa9nclave"};
    memset(m, 0, sizeof *m);
    m->type = type;
    switch (type) {
    case OM_MSG_HELLO:
        m->u.hello.version = OM_PROTO_VERSION;
        m->u.hello.role = k == 2 ? OM_ROLE_RESUME : OM_ROLE_MIGRATE;
        m->u.hello.strategy = (uint8_t)(1 + k % 4);
        m->u.hello.nstreams = k == 0 ? 1 : k == 1 ? 16 : 4;
        fill(m->u.hello.mig_id, OM_MIG_ID_LEN);
        m->u.hello.layout.base = OM_DEFAULT_BASE;
        m->u.hello.layout.heap_size = 1ull << 30;
        m->u.hello.layout.max_threads = OM_DEFAULT_THREADS;
        fill(m->u.hello.measurement, OM_MEASUREMENT_LEN);
        fill(m->u.hello.nonce, OM_NONCE_LEN);
        fill(m->u.hello.kx_pub, OM_KX_PUB_LEN);
        fill(&m->u.hello.quote, sizeof m->u.hello.quote);
        m->u.hello.path_len = (uint16_t)strlen(paths[k % 3]);
        memcpy(m->u.hello.path, paths[k % 3], m->u.hello.path_len);
        break;
    case OM_MSG_HELLO_REPLY:
        fill(m->u.hello_reply.mig_id, OM_MIG_ID_LEN);
        m->u.hello_reply.accept = k != 1;
        fill(m->u.hello_reply.measurement, OM_MEASUREMENT_LEN);
        fill(m->u.hello_reply.nonce, OM_NONCE_LEN);
        fill(m->u.hello_reply.kx_pub, OM_KX_PUB_LEN);
        fill(&m->u.hello_reply.quote, sizeof m->u.hello_reply.quote);
        if (k == 1) {
            strcpy(m->u.hello_reply.err, "measurement mismatch");
            m->u.hello_reply.err_len = (uint16_t)strlen(m->u.hello_reply.err);
        }
        break;
    case OM_MSG_STREAM_JOIN:
        fill(&m->u.stream_join, sizeof m->u.stream_join);
        m->u.stream_join.index = (uint8_t)(1 + k * 7);
        break;
    case OM_MSG_RECORD:
        m->u.record.rtype = (uint8_t)(k == 0 ? OM_REC_PAGE : k == 1 ? OM_REC_PAGE_ZERO
                                                                     : OM_REC_MANIFEST);
        m->u.record.stream_id = (uint32_t)k;
        m->u.record.counter = 1000 + (uint64_t)k;
        m->u.record.page = 0x12345 + (uint64_t)k;
        m->u.record.version = 3;
        fill(m->u.record.tag, OM_TAG_LEN);
        m->u.record.ct_len = k == 0 ? 4096 : k == 1 ? 0 : 40;
        m->u.record.ct = g_ct;
        break;
    case OM_MSG_COMMIT:
    case OM_MSG_COMMIT_ACK:
        fill(&m->u.commit, sizeof m->u.commit);
        break;
    case OM_MSG_ABORT:
        m->u.abort.code = (uint32_t)(1 + k);
        if (k) {
            strcpy(m->u.abort.msg, "record 17 failed authentication");
            m->u.abort.msg_len = (uint16_t)strlen(m->u.abort.msg);
        }
        break;
    case OM_MSG_PING:
    case OM_MSG_PONG:
        m->u.ping.token = rnd();
        break;
    case OM_MSG_PAGE_REQ:
        m->u.page_req.count = (uint16_t)(k == 0 ? 1 : k == 1 ? 3 : 40);
        for (unsigned i = 0; i < m->u.page_req.count; i++)
            m->u.page_req.pages[i] = rnd() % 100000;
        break;
    case OM_MSG_RECORD_ACK:
        m->u.record_ack.stream_id = (uint32_t)k;
        m->u.record_ack.counter = rnd();
        fill(m->u.record_ack.mac, OM_MAC_LEN);
        break;
    }
}

int main(int argc, char **argv)
{
    static const uint8_t types[] = {
        OM_MSG_HELLO,  OM_MSG_HELLO_REPLY, OM_MSG_STREAM_JOIN, OM_MSG_RECORD,
        OM_MSG_COMMIT, OM_MSG_COMMIT_ACK,  OM_MSG_ABORT,       OM_MSG_PING,
        OM_MSG_PONG,   OM_MSG_PAGE_REQ,    OM_MSG_RECORD_ACK,
    };
    static struct om_msg m;
    static uint8_t buf[OM_HELLO_FRAME_MAX + OM_PAGE_REQ_FRAME_MAX];
    static uint8_t stream[64 * 1024];
    size_t slen = 0, len;
    char name[32];

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    g_dir = argv[1];
    fill(g_ct, sizeof g_ct);
    for (size_t t = 0; t < sizeof types; t++) {
        for (int k = 0; k < 3; k++) {
            make(&m, types[t], k);
            int rc = om_msg_encode(&m, buf, sizeof buf, &len);
            if (rc) {
                fprintf(stderr, "mkseeds: type %u shape %d: %s\n", types[t], k,
                        om_proto_strerror(rc));
                return 1;
            }
            snprintf(name, sizeof name, "frame-%02u", types[t]);
            put(name, k, buf, len);
            snprintf(name, sizeof name, "payload-%02u", types[t]);
            put(name, k, buf + OM_FRAME_HDR, len - OM_FRAME_HDR);
            if (slen + len <= sizeof stream) {
                memcpy(stream + slen, buf, len);
                slen += len;
            }
        }
    }
    put("stream", 0, stream, slen);
    make(&m, OM_MSG_PING, 0);
    om_msg_encode(&m, buf, sizeof buf, &len);
    memcpy(buf + len, "garbage", 7);
    put("garbage", 0, buf, len + 7);
    printf("%d seeds in %s\n", g_count, g_dir);
    return 0;
}
