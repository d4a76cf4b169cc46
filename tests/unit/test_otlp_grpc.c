/* test_otlp_grpc.c — the OTLP/gRPC receiver's own promises (net/otlp_grpc.c, included to
 * reach its statics), with an nghttp2 client session as the peer over a bufferevent pair
 * and a fake receive stage (recv_submit renamed before the include) that answers when the
 * test says so:
 *  - what a connection buffers stays under its bound while 20 streams upload 1 MiB each
 *    at once, and every one of them completes (the oldest always progresses);
 *  - answers that come after the client reset the stream, or after the connection closed,
 *    are dropped and the request freed (ASan checks the rest);
 *  - an idle connection is closed with a GOAWAY, one waiting for the store is not;
 *  - stopping sends the shutdown notice then the final GOAWAY, and reports requests still
 *    arriving;
 *  - a client that does not read makes the server stop producing output and reading. */
#define recv_submit fake_recv_submit
#include "../../src/net/otlp_grpc.c"
#undef recv_submit

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/bufferevent.h>
#include <stdlib.h>

/* ---- the fake receive stage ---- */

enum { MAX_HELD = 256 };
static recv_request held[MAX_HELD];
static size_t n_held;
static bool answer_at_once;

void fake_recv_submit(recv_ctx *c, const recv_request *req)
{
    (void)c;
    if (answer_at_once) {
        recv_result res = {.status = RECV_OK};
        req->reply(req->arg, &res);
        return;
    }
    assert_true(n_held < MAX_HELD);
    held[n_held++] = *req;
}

static void answer_held(void)
{
    while (n_held) {
        recv_request r = held[--n_held];
        volatile uint8_t x = 0;
        for (size_t i = 0; i < r.len; i++) /* the message is still there */
            x ^= r.data[i];
        (void)x;
        recv_result res = {.status = RECV_OK};
        r.reply(r.arg, &res);
    }
}

/* ---- the peer ---- */

typedef struct {
    uint8_t *body;
    size_t len, off;
    int status; /* grpc-status, -1 until known */
    bool closed;
    bool stop_halfway;
} call;

typedef struct {
    struct event_base *base;
    otlp_grpc *g;
    struct bufferevent *cend;
    nghttp2_session *cli;
    nghttp2_session_callbacks *cbs;
    call calls[32];
    int goaways;
    int32_t last_goaway_id;
    size_t max_buffered;
} fixture;

static ssize_t read_call(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *arg)
{
    (void)h2, (void)id, (void)arg;
    call *c = src->ptr;
    if (c->stop_halfway && c->off >= c->len / 2) return NGHTTP2_ERR_DEFERRED;
    size_t n = c->len - c->off;
    if (n > len) n = len;
    memcpy(buf, c->body + c->off, n);
    c->off += n;
    if (c->off == c->len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int cli_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
                      size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                      void *arg)
{
    (void)flags, (void)arg, (void)valuelen;
    call *c = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    if (c && namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
        c->status = (int)strtol((const char *)value, NULL, 10);
    return 0;
}

static int cli_close(nghttp2_session *h2, int32_t id, uint32_t code, void *arg)
{
    (void)code, (void)arg;
    call *c = nghttp2_session_get_stream_user_data(h2, id);
    if (c) c->closed = true;
    return 0;
}

static int cli_frame(nghttp2_session *h2, const nghttp2_frame *f, void *arg)
{
    (void)h2;
    fixture *fx = arg;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        fx->goaways++;
        fx->last_goaway_id = f->goaway.last_stream_id;
    }
    return 0;
}

static conn *the_conn(fixture *fx)
{
    return fx->g->conns;
}

/* Moves bytes both ways until nothing moves; tracks the connection's buffered bytes. */
static void pump(fixture *fx, bool client_reads)
{
    for (int round = 0; round < 100000; round++) {
        bool moved = false;
        const uint8_t *p;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(fx->cli, &p)) > 0) {
            bufferevent_write(fx->cend, p, (size_t)n);
            moved = true;
            if (the_conn(fx) && the_conn(fx)->buffered > fx->max_buffered)
                fx->max_buffered = the_conn(fx)->buffered;
        }
        struct evbuffer *in = bufferevent_get_input(fx->cend);
        size_t have = evbuffer_get_length(in);
        if (client_reads && have) {
            moved = true;
            assert_true(nghttp2_session_mem_recv(fx->cli, evbuffer_pullup(in, -1), have) >= 0);
            evbuffer_drain(in, have);
        }
        event_base_loop(fx->base, EVLOOP_NONBLOCK);
        if (!moved) return;
    }
    fail_msg("pump did not settle");
}

static auth *open_auth;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->base = event_base_new();
    if (!open_auth) {
        auth_config cfg = {0};
        char err[128];
        assert_int_equal(auth_load(&open_auth, &cfg, err, sizeof err), 0);
    }
    static ingest *queues[1];
    fx->g = otlp_grpc_new(fx->base, NULL, open_auth, queues, 4 << 20);
    assert_non_null(fx->g);
    struct bufferevent *pair[2];
    assert_int_equal(bufferevent_pair_new(fx->base, 0, pair), 0);
    fx->cend = pair[1];
    bufferevent_enable(fx->cend, EV_READ | EV_WRITE);
    assert_int_equal(conn_new(fx->g, pair[0]), 0);
    nghttp2_session_callbacks_new(&fx->cbs);
    nghttp2_session_callbacks_set_on_header_callback(fx->cbs, cli_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(fx->cbs, cli_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(fx->cbs, cli_frame);
    assert_int_equal(nghttp2_session_client_new(&fx->cli, fx->cbs, fx), 0);
    nghttp2_submit_settings(fx->cli, NGHTTP2_FLAG_NONE, NULL, 0);
    n_held = 0;
    answer_at_once = false;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    answer_held();
    otlp_grpc_free(fx->g);
    bufferevent_free(fx->cend);
    event_base_loop(fx->base, EVLOOP_NONBLOCK);
    nghttp2_session_del(fx->cli);
    nghttp2_session_callbacks_del(fx->cbs);
    event_base_free(fx->base);
    for (size_t i = 0; i < sizeof fx->calls / sizeof *fx->calls; i++)
        free(fx->calls[i].body);
    free(fx);
    return 0;
}

/* A unary call of a message of n bytes (zeros: an empty ExportTraceServiceRequest is not
 * what is sent, but the fake stage does not decode). */
static int32_t start_call(fixture *fx, int i, size_t n)
{
    call *c = &fx->calls[i];
    c->len = GRPC_PREFIX + n;
    c->body = calloc(1, c->len);
    grpc_put_prefix(c->body, false, (uint32_t)n);
    c->status = -1;
    nghttp2_nv nv[] = {
        NV(":method", "POST", 4),
        NV(":scheme", "http", 4),
        NV(":authority", "test", 4),
        NV(":path", PATHS[RECV_TRACES], strlen(PATHS[RECV_TRACES])),
        NV("content-type", "application/grpc", 16),
        NV("te", "trailers", 8),
    };
    nghttp2_data_provider dp = {.source.ptr = c, .read_callback = read_call};
    int32_t id = nghttp2_submit_request(fx->cli, NULL, nv, sizeof nv / sizeof *nv, &dp, c);
    assert_true(id > 0);
    return id;
}

static void test_buffered_bound(void **state)
{
    fixture *fx = *state;
    answer_at_once = true;
    enum { N = 20, SIZE = 1 << 20 };
    for (int i = 0; i < N; i++)
        start_call(fx, i, SIZE);
    pump(fx, true);
    for (int i = 0; i < N; i++) {
        assert_true(fx->calls[i].closed);
        assert_int_equal(fx->calls[i].status, 0);
    }
    /* each stream's initial window (its reader may have doubled past it), the soft limit,
     * and the oldest request's whole message */
    size_t bound = (size_t)N * 2 * STREAM_WINDOW + CONN_SOFT + GRPC_PREFIX + SIZE;
    assert_true(fx->max_buffered > CONN_SOFT); /* the limit was reached */
    assert_true(fx->max_buffered <= bound);
    assert_int_equal(the_conn(fx)->buffered, 0);
    assert_int_equal(fx->g->buffered, 0);
}

static void test_late_answers(void **state)
{
    fixture *fx = *state;
    int32_t a = start_call(fx, 0, 1000);
    start_call(fx, 1, 1000);
    pump(fx, true);
    assert_int_equal(n_held, 2);
    assert_int_equal(the_conn(fx)->n_recv, 2);
    /* the client gives up on one while the store has it */
    nghttp2_submit_rst_stream(fx->cli, NGHTTP2_FLAG_NONE, a, NGHTTP2_CANCEL);
    pump(fx, true);
    assert_int_equal(the_conn(fx)->n_recv, 1);
    answer_held(); /* one dropped and freed, one answered */
    pump(fx, true);
    assert_int_equal(fx->calls[1].status, 0);
    assert_int_equal(fx->calls[0].status, -1);
    /* and now one whose connection goes away */
    start_call(fx, 2, 1000);
    pump(fx, true);
    assert_int_equal(n_held, 1);
    on_event(the_conn(fx)->bev, BEV_EVENT_EOF, the_conn(fx));
    assert_null(the_conn(fx));
    answer_held();
}

static void test_idle(void **state)
{
    fixture *fx = *state;
    /* a request that never ends, and one with the store */
    fx->calls[0].stop_halfway = true;
    start_call(fx, 0, 100000);
    start_call(fx, 1, 10);
    pump(fx, true);
    conn *c = the_conn(fx);
    assert_int_equal(c->n_recv, 1);
    c->last_active_ns -= (uint64_t)(IDLE_SECONDS + 1) * 1000000000ull;
    on_idle(-1, 0, c); /* waiting for the store: not idle */
    assert_non_null(the_conn(fx));
    answer_held();
    pump(fx, true);
    assert_int_equal(fx->calls[1].status, 0);
    c->last_active_ns -= (uint64_t)(IDLE_SECONDS - 1) * 1000000000ull;
    on_idle(-1, 0, c); /* active a second ago */
    assert_non_null(the_conn(fx));
    c->last_active_ns -= (uint64_t)(IDLE_SECONDS + 1) * 1000000000ull;
    on_idle(-1, 0, c);
    assert_null(the_conn(fx));
    pump(fx, true);
    assert_int_equal(fx->goaways, 1);
}

static void test_stop(void **state)
{
    fixture *fx = *state;
    fx->calls[0].stop_halfway = true;
    int32_t a = start_call(fx, 0, 100000);
    start_call(fx, 1, 10);
    pump(fx, true);
    assert_false(otlp_grpc_receiving(fx->g));
    otlp_grpc_stop_accepting(fx->g);
    pump(fx, true);
    assert_int_equal(fx->goaways, 1);
    assert_int_equal(fx->last_goaway_id, (1u << 31) - 1); /* the notice */
    assert_true(otlp_grpc_receiving(fx->g));              /* call 0 is still arriving */
    on_goaway_timer(-1, 0, fx->g);
    pump(fx, true);
    assert_int_equal(fx->goaways, 2);
    assert_int_equal(fx->last_goaway_id, a + 2); /* both calls were taken */
    /* the one with the store is still answered */
    answer_held();
    pump(fx, true);
    assert_int_equal(fx->calls[1].status, 0);
    /* the rest of call 0 arrives: it is answered too, and the connection then closes */
    fx->calls[0].stop_halfway = false;
    nghttp2_session_resume_data(fx->cli, a);
    pump(fx, true);
    assert_false(otlp_grpc_receiving(fx->g));
    answer_held();
    pump(fx, true);
    assert_int_equal(fx->calls[0].status, 0);
    assert_null(the_conn(fx));
}

static void test_slow_reader(void **state)
{
    fixture *fx = *state;
    /* PINGs whose ACKs the client never reads */
    bufferevent_setwatermark(fx->cend, EV_READ, 0, 4096);
    uint8_t data[8] = {0};
    for (int i = 0; i < 400; i++) {
        for (int k = 0; k < 50; k++)
            nghttp2_submit_ping(fx->cli, NGHTTP2_FLAG_NONE, data);
        pump(fx, false);
        conn *c = the_conn(fx);
        if (!c) break; /* nghttp2 gave up on a flood: also fine */
        assert_true(evbuffer_get_length(bufferevent_get_output(c->bev)) < OUT_HIGH + 4096);
        if (c->read_paused) break;
    }
    conn *c = the_conn(fx);
    assert_true(c == NULL || c->read_paused);
}

int main(int argc, char **argv)
{
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_buffered_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_reader, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    auth_free(open_auth);
    return rc;
}
