/* fuzz_grpc.c — libFuzzer target for the OTLP/gRPC receiver: the framing (net/grpc_frame.c)
 * and the whole HTTP/2 server side (net/otlp_grpc.c, included here to reach its statics),
 * nghttp2 callbacks and request lifetimes included.
 *
 * Input: [flags][knobs][faults][payload]. The payload is first run through the grpc_reader
 * in pieces and the header parsers. Then a connection of the real receiver is made over a
 * bufferevent pair, and either (flags bit 7) the payload is written after the client
 * preface as raw frames, or an nghttp2 client session sends it as the DATA of 1 to 8 unary
 * requests whose headers, gzip, chunking, resets, token and deadline come from the flags
 * and knobs. The low nibble of faults, when not 0, makes an allocation through core/alloc.h
 * fail (nghttp2's included) after a number of them; its high bits pick a header that is
 * wrong in some way (method, content type, encoding, token length). A custom mutator flips the
 * option bytes often, as the payload (a captured body) is what most mutations would otherwise
 * change. The receive stage is replaced by a fake (recv_submit is renamed before the include) that
 * reads the whole message when it answers, answers at once or later in an input-chosen
 * order with an input-chosen status, so answers arrive before and after streams are reset,
 * the connection is closed or the receiver stops accepting. ASan reports a message used
 * after the receiver freed it, a request freed twice or leaked.
 * Seeds: the fixtures' protobuf bodies wrapped in a gRPC frame behind three zero bytes
 * (scripts/test.sh). */
#define recv_submit fuzz_recv_submit
#include "../../src/net/otlp_grpc.c"
#undef recv_submit

#include <event2/bufferevent.h>
#include <stdlib.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed);

enum {
    F_PATH = 3,        /* traces, logs, metrics, unknown */
    F_GZIP = 1 << 2,   /* compress the message, grpc-encoding: gzip */
    F_NOAUTH = 1 << 3, /* no token */
    F_CHUNKS = 1 << 4, /* small DATA frames */
    F_RESET = 1 << 5,  /* the client resets some streams */
    F_CLOSE = 1 << 6,  /* the connection closes before the answers */
    F_RAW = 1 << 7,    /* the payload is raw frames */
};
enum {
    K_STREAMS = 7,       /* 1 to 8 requests */
    K_SYNC = 1 << 3,     /* the fake stage answers at once */
    K_STOP = 1 << 4,     /* stop accepting midway */
    K_DEADLINE = 1 << 5, /* uploads stop halfway; the deadlines of the requests fire */
    K_SMALL = 1 << 6,    /* max_body 1 KiB */
    K_TIMEOUT = 1 << 7,  /* send grpc-timeout */
};
enum { MAX_PENDING = 64 };

static struct event_base *base;
static auth *tokens;

/* ---- the fake receive stage ---- */

static recv_request pending[MAX_PENDING];
static size_t n_pending;
static uint8_t status_seed;
static bool reply_sync;

static void answer(const recv_request *r, uint8_t how)
{
    /* the message must still be there, all of it */
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < r->len; i++)
        sum ^= r->data[i];
    (void)sum;
    recv_result res = {.status = (recv_status)(how % 5), .message = "fuzz says so"};
    if (res.status == RECV_OK && (how & 8)) {
        res.rejected = how;
        res.reject_reason = LT_STR("some spans had an all-zero id");
    }
    r->reply(r->arg, &res);
}

void fuzz_recv_submit(recv_ctx *c, const recv_request *req)
{
    (void)c;
    if (req->len && req->gzip) { /* what the real stage does first */
        lt_buf out = {0};
        (void)otlp_gunzip(req->data, req->len, 1 << 20, &out);
        buf_free(&out);
    }
    if (reply_sync || n_pending == MAX_PENDING) {
        answer(req, status_seed++);
        return;
    }
    pending[n_pending++] = *req;
}

static void answer_all(bool backwards)
{
    while (n_pending) {
        recv_request r;
        if (backwards) {
            r = pending[--n_pending];
        } else {
            r = pending[0];
            memmove(pending, pending + 1, --n_pending * sizeof *pending);
        }
        answer(&r, status_seed++);
    }
}

/* ---- the peer ---- */

typedef struct {
    const uint8_t *body;
    size_t len, off, chunk;
    bool halfway; /* stop at half the body */
} upload;

static ssize_t read_upload(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t len,
                           uint32_t *flags, nghttp2_data_source *src, void *arg)
{
    (void)h2, (void)id, (void)arg;
    upload *u = src->ptr;
    if (u->halfway && u->off >= u->len / 2 && u->len) return NGHTTP2_ERR_DEFERRED;
    size_t n = u->len - u->off;
    if (n > len) n = len;
    if (n > u->chunk) n = u->chunk;
    memcpy(buf, u->body + u->off, n);
    u->off += n;
    if (u->off == u->len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Moves bytes both ways until neither side has anything more to say. */
static void pump(nghttp2_session *cli, struct bufferevent *cend)
{
    for (int round = 0; round < 10000; round++) {
        bool moved = false;
        const uint8_t *p;
        ssize_t n;
        while (cli && (n = nghttp2_session_mem_send(cli, &p)) > 0) {
            bufferevent_write(cend, p, (size_t)n);
            moved = true;
        }
        struct evbuffer *in = bufferevent_get_input(cend);
        size_t have = evbuffer_get_length(in);
        if (have) {
            moved = true;
            uint8_t *b = evbuffer_pullup(in, -1);
            if (cli && nghttp2_session_mem_recv(cli, b, have) < 0) cli = NULL;
            evbuffer_drain(in, have);
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
        if (!moved) return;
    }
}

static conn *the_conn(otlp_grpc *g)
{
    return g->conns;
}

static void fire_deadlines(otlp_grpc *g)
{
    conn *c = the_conn(g);
    if (!c) return;
    int ids[MAX_STREAMS], n = 0;
    for (gstream *s = c->first; s && n < MAX_STREAMS; s = s->next)
        if (s->phase == PH_BODY) ids[n++] = s->id;
    for (int i = 0; i < n && the_conn(g); i++) {
        gstream *s = nghttp2_session_get_stream_user_data(the_conn(g)->h2, ids[i]);
        if (s) on_deadline(-1, 0, s);
    }
}

static void close_conn(otlp_grpc *g)
{
    conn *c = the_conn(g);
    if (c) on_event(c->bev, BEV_EVENT_EOF, c);
}

/* ---- the target ---- */

static void check_framing(const uint8_t *p, size_t n)
{
    for (int variant = 0; variant < 2; variant++) {
        grpc_reader r;
        grpc_reader_init(&r, variant ? 1024 : 1 << 20, variant);
        size_t at = 0, step = 1;
        int rc = 0;
        while (at < n && rc == 0) {
            size_t k = step < n - at ? step : n - at;
            rc = grpc_reader_feed(&r, p + at, k);
            at += k;
            step = step * 3 + 1;
        }
        if (rc == 0 && grpc_reader_finish(&r) == 0) {
            size_t len;
            uint8_t *m = grpc_reader_take(&r, &len);
            if (len != r.len || len > r.max_len) abort();
            lt_free(m);
        }
        if (grpc_reader_held(&r) > r.max_len) abort();
        grpc_reader_free(&r);
    }
    lt_str s = {(const char *)p, n < 64 ? n : 64};
    uint64_t ns;
    (void)grpc_parse_timeout(s, &ns);
    (void)grpc_parse_encoding(s);
    (void)grpc_parse_content_type(s);
    lt_buf b = {0};
    grpc_percent_encode(&b, s);
    for (size_t i = 0; i < b.len; i++)
        if ((unsigned char)b.data[i] < 0x20 || (unsigned char)b.data[i] > 0x7e) abort();
    grpc_status_details(&b, GRPC_STATUS_RESOURCE_EXHAUSTED, s, 1);
    buf_free(&b);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed)
{
    if (size >= 3 && seed % 3 == 0) {
        data[seed / 3 % 3] ^= (uint8_t)(1u << (seed / 9 % 8));
        return size;
    }
    return LLVMFuzzerMutate(data, size, max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base) {
        base = event_base_new();
        auth_config cfg = {.ingest_token = "fuzz-token"};
        char err[256];
        if (!base || auth_load(&tokens, &cfg, err, sizeof err)) abort();
        log_set_level(LOG_ERROR);
    }
    if (size < 3) return 0;
    uint8_t flags = data[0], knobs = data[1], faults = data[2];
    const uint8_t *payload = data + 3;
    size_t plen = size - 3;
    check_framing(payload, plen);

    ingest *queues[1] = {NULL};
    otlp_grpc *g = otlp_grpc_new(base, NULL, tokens, queues, knobs & K_SMALL ? 1024 : 1 << 20);
    if (!g) abort();
    struct bufferevent *pair[2];
    if (bufferevent_pair_new(base, 0, pair)) abort();
    struct bufferevent *cend = pair[1];
    bufferevent_enable(cend, EV_READ | EV_WRITE);
    n_pending = 0;
    status_seed = (uint8_t)(plen * 7 + flags);
    reply_sync = knobs & K_SYNC;
    if (faults & 15) alloc_fail_after((faults & 15) * 5L);
    if (conn_new(g, pair[0])) {
        alloc_fail_after(-1);
        bufferevent_free(cend);
        otlp_grpc_free(g);
        return 0;
    }

    nghttp2_session *cli = NULL;
    nghttp2_session_callbacks *cbs = NULL;
    lt_buf gz = {0};
    upload up[8];
    if (flags & F_RAW) {
        bufferevent_write(cend, NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN);
        bufferevent_write(cend, payload, plen);
        pump(NULL, cend);
    } else {
        const uint8_t *body = payload;
        size_t blen = plen;
        if ((flags & F_GZIP) && plen >= GRPC_PREFIX) {
            /* the message compressed, in a frame of its own with Compressed-Flag 1 */
            uint8_t hdr[GRPC_PREFIX] = {0};
            buf_append(&gz, hdr, sizeof hdr);
            z_stream z;
            memset(&z, 0, sizeof z);
            uint8_t out[1 << 16];
            if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
                z.next_in = (uint8_t *)payload + GRPC_PREFIX;
                z.avail_in = (uInt)(plen - GRPC_PREFIX);
                int zr;
                do {
                    z.next_out = out;
                    z.avail_out = sizeof out;
                    zr = deflate(&z, Z_FINISH);
                    buf_append(&gz, out, sizeof out - z.avail_out);
                } while (zr == Z_OK);
                deflateEnd(&z);
            }
            if (!gz.oom) {
                grpc_put_prefix((uint8_t *)gz.data, true, (uint32_t)(gz.len - GRPC_PREFIX));
                body = (const uint8_t *)gz.data;
                blen = gz.len;
            }
        }
        if (nghttp2_session_callbacks_new(&cbs) || nghttp2_session_client_new(&cli, cbs, NULL))
            abort();
        nghttp2_submit_settings(cli, NGHTTP2_FLAG_NONE, NULL, 0);
        static const char *const paths[] = {
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
            "/opentelemetry.proto.collector.trace.v1.TraceService/Nope",
        };
        const char *path = paths[flags & F_PATH];
        const char *enc = flags & F_GZIP ? "gzip" : "identity";
        nghttp2_nv nv[] = {
            NV(":method", "POST", 4),
            NV(":scheme", "http", 4),
            NV(":authority", "fuzz", 4),
            NV(":path", path, strlen(path)),
            NV("content-type", "application/grpc", 16),
            NV("te", "trailers", 8),
            NV("grpc-encoding", enc, strlen(enc)),
            NV("authorization", "Bearer fuzz-token", 17),
            NV("grpc-timeout", "5S", 2),
        };
        size_t nnv = sizeof nv / sizeof *nv;
        if (!(knobs & K_TIMEOUT)) nnv--;
        if (flags & F_NOAUTH) nv[7] = nv[--nnv];
        static char long_token[MAX_AUTHORIZATION + 2];
        memset(long_token, 'a', sizeof long_token);
        switch (faults >> 4) {
        case 1:
            nv[0] = (nghttp2_nv)NV(":method", "PUT", 3);
            break;
        case 2:
            nv[4] = (nghttp2_nv)NV("content-type", "text/plain", 10);
            break;
        case 3:
            nv[4] = (nghttp2_nv)NV("content-type", "application/grpc+json", 21);
            break;
        case 4:
            nv[6] = (nghttp2_nv)NV("grpc-encoding", "snappy", 6);
            break;
        case 5:
            nv[7] = (nghttp2_nv)NV("authorization", long_token, sizeof long_token);
            break;
        case 6:
            nv[4] = (nghttp2_nv)NV("content-type", "application/grpc+proto; x=y", 27);
            break;
        }
        int streams = (knobs & K_STREAMS) + 1;
        int32_t ids[8];
        for (int i = 0; i < streams; i++) {
            up[i] = (upload){.body = body,
                             .len = blen,
                             .chunk = flags & F_CHUNKS ? 1 + (blen + (size_t)i) % 97 : SIZE_MAX,
                             .halfway = knobs & K_DEADLINE};
            nghttp2_data_provider dp = {.source.ptr = &up[i], .read_callback = read_upload};
            ids[i] = nghttp2_submit_request(cli, NULL, nv, nnv, &dp, NULL);
        }
        if (flags & F_RESET) {
            /* one stream reset before anything is sent, one after part of it */
            nghttp2_submit_rst_stream(cli, NGHTTP2_FLAG_NONE, ids[streams - 1], NGHTTP2_CANCEL);
            const uint8_t *p;
            ssize_t n = nghttp2_session_mem_send(cli, &p);
            if (n > 0) bufferevent_write(cend, p, (size_t)(n / 2 + 1 < n ? n / 2 + 1 : n));
            if (n > 0 && n / 2 + 1 < n)
                bufferevent_write(cend, p + n / 2 + 1, (size_t)(n - n / 2 - 1));
            if (streams > 1)
                nghttp2_submit_rst_stream(cli, NGHTTP2_FLAG_NONE, ids[0], NGHTTP2_CANCEL);
        }
        pump(cli, cend);
    }
    if (knobs & K_DEADLINE) {
        fire_deadlines(g);
        pump(cli, cend);
    }
    if (knobs & K_STOP) {
        otlp_grpc_stop_accepting(g);
        (void)otlp_grpc_receiving(g);
        pump(cli, cend);
    }
    if (flags & F_CLOSE) close_conn(g);
    answer_all(plen & 1);
    alloc_fail_after(-1);
    pump(cli, cend);
    if (knobs & K_STOP) {
        on_goaway_timer(-1, 0, g);
        pump(cli, cend);
    }
    close_conn(g);
    answer_all(false);
    otlp_grpc_free(g);
    bufferevent_free(cend);
    nghttp2_session_del(cli);
    nghttp2_session_callbacks_del(cbs);
    buf_free(&gz);
    event_base_loop(base, EVLOOP_NONBLOCK);
    return 0;
}
