/* ch_write.c — the ClickHouse engine's writes: batches to RowBinary rows, inserted in one
 * INSERT per table (see ch_schema.c for the tables).
 *
 * One write call is one insert into spans (or logs), after the content, resources and scopes
 * it references; the materialized views of spans write the trace parts, the trace index and
 * the operations from the same insert. A call is acknowledged only once ClickHouse answered
 * the spans insert. Content, resources and scopes are deduplicated by hash twice: in memory
 * (a hash inserted today is not sent again) and by their ReplacingMergeTree; both are safe to
 * insert again, so a failed call is simply retried.
 *
 * A call that fails with LT_EIO is tried again after the engine's backoff, at most
 * WRITE_TRIES times in all, within about a second: short hiccups never reach the sender,
 * longer outages do, as a retryable error. */
#include <math.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "model/pb.h"
#include "store/ch_int.h"
#include "store/facts.h"

enum { WRITE_TRIES = 3, SEEN_MAX = 1 << 18 };

static void hash16(const void *p, size_t n, uint8_t out[16])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(p, n, md);
    memcpy(out, md, 16);
}

/* ---- the in-memory sets of hashes inserted today ---- */

static size_t seen_slot(const ch_seen *s, const uint8_t h[16])
{
    uint64_t v;
    memcpy(&v, h, 8);
    return (size_t)(v & (s->cap - 1));
}

static void seen_place(ch_seen *s, const uint8_t h[16], uint32_t day)
{
    size_t j = seen_slot(s, h);
    while (s->e[j].day)
        j = (j + 1) & (s->cap - 1);
    memcpy(s->e[j].h, h, 16);
    s->e[j].day = day;
    s->n++;
}

/* True when h was inserted on day; otherwise records it (the caller inserts it now). */
static bool seen_check(ch_seen *s, const uint8_t h[16], uint32_t day)
{
    if (s->n * 2 >= s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        if (cap > SEEN_MAX * 2) {
            memset(s->e, 0, s->cap * sizeof *s->e); /* full: start over */
            s->n = 0;
        } else {
            ch_seen_ent *e = lt_calloc(cap, sizeof *e);
            if (!e) return false; /* inserting again is always correct */
            ch_seen old = *s;
            s->e = e;
            s->cap = cap;
            s->n = 0;
            for (size_t i = 0; i < old.cap; i++)
                if (old.e[i].day) seen_place(s, old.e[i].h, old.e[i].day);
            lt_free(old.e);
        }
    }
    size_t j = seen_slot(s, h);
    while (s->e[j].day) {
        if (!memcmp(s->e[j].h, h, 16)) {
            if (s->e[j].day == day) return true;
            s->e[j].day = day;
            return false;
        }
        j = (j + 1) & (s->cap - 1);
    }
    seen_place(s, h, day);
    return false;
}

static void seen_clear(ch_seen *s)
{
    if (s->e) memset(s->e, 0, s->cap * sizeof *s->e);
    s->n = 0;
}

void ch_writer_free(ch_store *s)
{
    lt_free(s->content_seen.e);
    lt_free(s->res_seen.e);
    lt_free(s->scope_seen.e);
    buf_free(&s->rows);
    buf_free(&s->content_rows);
    buf_free(&s->res_rows);
    buf_free(&s->scope_rows);
    buf_free(&s->tmp);
}

/* ---- the GenAI view as an attribute list ---- */

int ch_view_encode(lt_buf *out, const lt_genai *g)
{
    lt_kv kv[GA_N_FIELDS];
    lt_resource r = {.attrs = {kv, 0}};
    for (int i = 0; i < GA_N_FIELDS; i++) {
        if (g->v[i].type == LT_VAL_EMPTY) continue;
        kv[r.attrs.n].key = lt_str_c(model_genai_fields[i].key);
        kv[r.attrs.n++].value = g->v[i];
    }
    return pb_encode_resource(out, &r);
}

int ch_view_decode(lt_arena *a, const uint8_t *p, size_t n, lt_genai **out)
{
    lt_resource r;
    int rc = pb_decode_resource(a, p, n, &r);
    if (rc) return rc;
    lt_genai *g = arena_calloc(a, 1, sizeof *g);
    if (!g) return LT_ENOMEM;
    for (uint32_t i = 0; i < r.attrs.n; i++)
        for (int f = 0; f < GA_N_FIELDS; f++)
            if (lt_str_eq_c(r.attrs.items[i].key, model_genai_fields[f].key)) {
                g->v[f] = r.attrs.items[i].value;
                break;
            }
    *out = g;
    return 0;
}

/* ---- rows ---- */

/* Adds a content row for the string when today's set does not hold it; its hash in h. */
static void add_content(ch_store *s, uint64_t seq, uint32_t day, lt_str text, uint8_t h[16])
{
    hash16(text.ptr, text.len, h);
    if (seen_check(&s->content_seen, h, day)) return;
    rb_u64(&s->content_rows, seq);
    buf_append(&s->content_rows, h, 16);
    rb_str(&s->content_rows, text);
}

/* The body form of a resource or scope (schema URL first) and its hash. */
static void meta_body(lt_buf *b, lt_str schema_url, const lt_resource *r, const lt_scope *sc)
{
    buf_reset(b);
    rb_str(b, schema_url);
    if (r)
        pb_encode_resource(b, r);
    else
        pb_encode_scope(b, sc);
}

static void attr_arrays(lt_buf *out, lt_buf *tmp, const lt_attrs *at)
{
    rb_varint(out, at->n);
    for (uint32_t i = 0; i < at->n; i++)
        rb_str(out, at->items[i].key);
    rb_varint(out, at->n);
    for (uint32_t i = 0; i < at->n; i++) {
        buf_reset(tmp);
        st_value_text(tmp, &at->items[i].value);
        rb_str(out, (lt_str){tmp->data, tmp->len});
    }
}

static void add_resource(ch_store *s, uint64_t seq, uint32_t day, const lt_resource *r,
                         lt_str schema_url, uint8_t h[16])
{
    meta_body(&s->tmp, schema_url, r, NULL);
    hash16(s->tmp.data, s->tmp.len, h);
    if (seen_check(&s->res_seen, h, day)) return;
    lt_buf *b = &s->res_rows, text = {0};
    rb_u64(b, seq);
    buf_append(b, h, 16);
    rb_str(b, model_service_name(r));
    attr_arrays(b, &text, &r->attrs);
    rb_str(b, (lt_str){s->tmp.data, s->tmp.len});
    if (text.oom) b->oom = true;
    buf_free(&text);
}

static void add_scope(ch_store *s, uint64_t seq, uint32_t day, const lt_scope *sc,
                      lt_str schema_url, uint8_t h[16])
{
    meta_body(&s->tmp, schema_url, NULL, sc);
    hash16(s->tmp.data, s->tmp.len, h);
    if (seen_check(&s->scope_seen, h, day)) return;
    rb_u64(&s->scope_rows, seq);
    buf_append(&s->scope_rows, h, 16);
    rb_str(&s->scope_rows, (lt_str){s->tmp.data, s->tmp.len});
}

static void text_add(lt_buf *t, lt_str s)
{
    if (!s.len) return;
    if (t->len) buf_putc(t, '\n');
    buf_append_str(t, s);
}

static void text_value(lt_buf *t, const lt_value *v, int depth)
{
    if (depth > MODEL_MAX_DEPTH) return;
    if (v->type == LT_VAL_STRING) {
        text_add(t, v->u.s);
    } else if (v->type == LT_VAL_ARRAY) {
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            text_value(t, &v->u.arr.items[i], depth + 1);
    } else if (v->type == LT_VAL_KVLIST) {
        for (uint32_t i = 0; i < v->u.kv.n; i++)
            text_value(t, &v->u.kv.items[i].value, depth + 1);
    }
}

typedef struct {
    lt_buf keys, types, values, text, body, view;
    lt_kv *body_attrs;
    size_t body_cap;
    uint8_t (*hashes)[16];
    size_t hash_cap;
} span_scratch;

static void scratch_free(span_scratch *x)
{
    buf_free(&x->keys);
    buf_free(&x->types);
    buf_free(&x->values);
    buf_free(&x->text);
    buf_free(&x->body);
    buf_free(&x->view);
    lt_free(x->body_attrs);
    lt_free(x->hashes);
}

static int scratch_room(span_scratch *x, size_t n)
{
    if (n <= x->body_cap) return 0;
    lt_kv *kv = lt_realloc(x->body_attrs, n * sizeof *kv);
    if (!kv) return LT_ENOMEM;
    x->body_attrs = kv;
    uint8_t(*h)[16] = lt_realloc(x->hashes, n * 16);
    if (!h) return LT_ENOMEM;
    x->hashes = h;
    x->body_cap = x->hash_cap = n;
    return 0;
}

/* Appends one span's row to s->rows (columns as in ch_schema.c). */
static int add_span(ch_store *s, span_scratch *x, uint64_t seq, uint32_t day, const lt_span *sp,
                    lt_str service, const uint8_t res[16], const uint8_t scope[16])
{
    const lt_attrs *at = &sp->attrs;
    int rc = scratch_room(x, at->n);
    if (rc) return rc;
    buf_reset(&x->text);
    buf_reset(&x->values);
    uint32_t n_body = 0, n_hash = 0;
    text_add(&x->text, sp->status_message);
    for (uint32_t i = 0; i < sp->events.n; i++) {
        const lt_event *e = &sp->events.items[i];
        text_add(&x->text, e->name);
        for (uint32_t j = 0; j < e->attrs.n; j++)
            text_value(&x->text, &e->attrs.items[j].value, 0);
    }
    lt_buf *b = &s->rows;
    rb_u64(b, seq);
    rb_u64(b, sp->start_time_unix_nano);
    rb_u64(b, sp->end_time_unix_nano);
    buf_append(b, sp->trace_id, 16);
    buf_append(b, sp->span_id, 8);
    buf_append(b, sp->parent_span_id, 8);
    rb_u8(b, sp->has_parent);
    rb_str(b, sp->name);
    rb_u32(b, sp->kind);
    rb_u32(b, sp->status_code);
    rb_str(b, service);
    buf_append(b, res, 16);
    buf_append(b, scope, 16);
    /* attr_keys, then types, then values */
    rb_varint(b, at->n);
    for (uint32_t i = 0; i < at->n; i++)
        rb_str(b, at->items[i].key);
    rb_varint(b, at->n);
    for (uint32_t i = 0; i < at->n; i++) {
        const lt_value *v = &at->items[i].value;
        uint8_t type = AT_BODY;
        if (v->type == LT_VAL_STRING && v->u.s.len >= CH_CONTENT_MIN) {
            type = AT_CONTENT;
            add_content(s, seq, day, v->u.s, x->hashes[n_hash]);
            rb_varint(&x->values, 16);
            buf_append(&x->values, x->hashes[n_hash++], 16);
        } else if (v->type == LT_VAL_STRING) {
            type = AT_STRING;
            if (v->u.s.len >= CH_TEXT_MIN) text_add(&x->text, v->u.s);
            rb_str(&x->values, v->u.s);
        } else {
            if (v->type == LT_VAL_INT) type = AT_INT;
            if (v->type == LT_VAL_BOOL) type = AT_BOOL;
            if (v->type == LT_VAL_BYTES) type = AT_BYTES;
            if (v->type == LT_VAL_DOUBLE && isfinite(v->u.d)) type = AT_DOUBLE;
            buf_reset(&s->tmp);
            st_value_text(&s->tmp, v);
            rb_str(&x->values, (lt_str){s->tmp.data, s->tmp.len});
            if (type == AT_BODY) x->body_attrs[n_body++] = at->items[i];
        }
        rb_u8(b, type);
    }
    rb_varint(b, at->n);
    buf_append(b, x->values.data, x->values.len);
    /* the GenAI view */
    gfacts f;
    const lt_genai *g = sp->genai;
    if (g) st_facts(sp, service, &f);
    rb_u8(b, g != NULL);
    rb_str(b, g ? st_view_str(g, GA_OPERATION) : LT_STR(""));
    rb_str(b, g ? st_view_str(g, GA_PROVIDER) : LT_STR(""));
    rb_str(b, g ? f.req_model : LT_STR(""));
    rb_str(b, g ? f.resp_model : LT_STR(""));
    rb_str(b, g ? f.dim[LT_GROUP_AGENT] : LT_STR(""));
    rb_str(b, g ? f.dim[LT_GROUP_USER] : LT_STR(""));
    rb_str(b, g ? f.dim[LT_GROUP_CONVERSATION] : LT_STR(""));
    rb_u8(b, g ? f.error : sp->status_code == LT_STATUS_ERROR);
    uint8_t facts = 0;
    for (int i = 0; i < N_TOKENS; i++) {
        rb_u64(b, g && f.has_tok[i] ? (uint64_t)f.tok[i] : 0);
        if (g && f.has_tok[i]) facts |= (uint8_t)(1u << i);
    }
    if (g && f.has_cost) facts |= 32;
    if (g && f.has_ttft) facts |= 64;
    rb_u8(b, facts);
    rb_f64(b, g && f.has_cost ? f.cost : 0);
    rb_f64(b, g && f.has_ttft ? f.ttft : 0);
    buf_reset(&x->view);
    if (g && (rc = ch_view_encode(&x->view, g))) return rc;
    rb_str(b, (lt_str){x->view.data, x->view.len});
    /* the body: the span without the attributes the arrays hold */
    lt_span copy = *sp;
    copy.attrs = (lt_attrs){x->body_attrs, n_body};
    copy.genai = NULL;
    buf_reset(&x->body);
    if ((rc = pb_encode_span(&x->body, &copy))) return rc;
    rb_str(b, (lt_str){x->body.data, x->body.len});
    rb_str(b, (lt_str){x->text.data, x->text.len});
    rb_varint(b, n_hash);
    for (uint32_t i = 0; i < n_hash; i++)
        buf_append(b, x->hashes[i], 16);
    return 0;
}

static uint64_t next_seq(ch_store *s, uint64_t n)
{
    uint64_t now = time_now_ns();
    uint64_t seq = now > s->last_seq ? now : s->last_seq + 1;
    s->last_seq = seq + n;
    return seq;
}

static int insert(ch_store *s, const char *table, const char *cols, const lt_buf *rows)
{
    if (!rows->len) return 0;
    char sql[1024];
    snprintf(sql, sizeof sql, "INSERT INTO %s.%s (%s) FORMAT RowBinary", s->db, table, cols);
    return ch_run(s, sql, rows->data, rows->len, NULL);
}

#define SPAN_COLS                                                                                  \
    "seq, start_ns, end_ns, trace_id, span_id, parent_span_id, has_parent, name, kind, "           \
    "status_code, service, resource, scope, attr_keys, attr_types, attr_values, has_view, "        \
    "operation, provider, request_model, response_model, agent, user, conversation, error, "       \
    "input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, reasoning_tokens, "    \
    "facts, cost, ttft, view, body, text, content"
#define LOG_COLS "seq, time_ns, trace_id, span_id, service, resource, scope, body, text, content"

/* Inserts what the call's rows reference, then the rows, retrying after the backoff. */
static int insert_all(ch_store *s, const char *table, const char *cols)
{
    int rc = 0;
    for (int attempt = 0; attempt < WRITE_TRIES; attempt++) {
        if (attempt) {
            uint64_t until = atomic_load(&s->down_until_ns), now = time_mono_ns();
            uint64_t wait = until > now ? until - now : 50000000ull;
            if (wait > 1000000000ull) wait = 1000000000ull;
            struct timespec ts = {(time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull)};
            nanosleep(&ts, NULL);
        }
        rc = insert(s, "content", "seq, hash, text", &s->content_rows);
        if (!rc)
            rc = insert(s, "resources", "seq, hash, service, attr_keys, attr_values, body",
                        &s->res_rows);
        if (!rc) rc = insert(s, "scopes", "seq, hash, body", &s->scope_rows);
        if (!rc) rc = insert(s, table, cols, &s->rows);
        if (rc != LT_EIO) break;
    }
    if (rc) {
        /* what the sets say was inserted may not be: forget them */
        seen_clear(&s->content_seen);
        seen_clear(&s->res_seen);
        seen_clear(&s->scope_seen);
    }
    return rc;
}

static void reset_rows(ch_store *s)
{
    /* a burst's buffers are not kept past it */
    lt_buf *bufs[] = {&s->rows, &s->content_rows, &s->res_rows, &s->scope_rows, &s->tmp};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        if (bufs[i]->cap > ((size_t)8 << 20)) buf_free(bufs[i]);
    buf_reset(&s->rows);
    buf_reset(&s->content_rows);
    buf_reset(&s->res_rows);
    buf_reset(&s->scope_rows);
    s->rows.oom = s->content_rows.oom = s->res_rows.oom = s->scope_rows.oom = s->tmp.oom = false;
}

static bool rows_oom(const ch_store *s)
{
    return s->rows.oom || s->content_rows.oom || s->res_rows.oom || s->scope_rows.oom || s->tmp.oom;
}

typedef struct {
    const uint8_t *trace_id;
    uint32_t pos;
} span_ref;

static int span_ref_cmp(const void *pa, const void *pb)
{
    const span_ref *a = pa, *b = pb;
    int c = memcmp(a->trace_id, b->trace_id, 16);
    if (c) return c;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* The arrival rank of every span of b (by position in b): ordered by trace id, then position,
 * as the SQLite engine lays out the rows of one write, so that both give the live tail in the
 * same order. A malloc'd array. */
static uint32_t *arrival_ranks(const lt_trace_batch *b)
{
    span_ref *refs = lt_malloc(b->n_spans * sizeof *refs);
    uint32_t *rank = lt_malloc(b->n_spans * sizeof *rank);
    if (!refs || !rank) {
        lt_free(refs);
        lt_free(rank);
        return NULL;
    }
    uint32_t pos = 0;
    for (uint32_t i = 0; i < b->n_rs; i++)
        for (uint32_t j = 0; j < b->rs[i].n_scopes; j++)
            for (uint32_t k = 0; k < b->rs[i].scopes[j].n_spans; k++, pos++)
                refs[pos] = (span_ref){b->rs[i].scopes[j].spans[k].trace_id, pos};
    qsort(refs, pos, sizeof *refs, span_ref_cmp);
    for (uint32_t i = 0; i < pos; i++)
        rank[refs[i].pos] = i;
    lt_free(refs);
    return rank;
}

int ch_write_traces(lt_store *st, const lt_trace_batch *b)
{
    ch_store *s = (ch_store *)st;
    if (s->read_only) return LT_EBUSY;
    if (!b->n_spans) return 0;
    if (b->n_spans > UINT32_MAX) return LT_ETOOBIG;
    uint32_t *rank = arrival_ranks(b);
    if (!rank) return LT_ENOMEM;
    pthread_mutex_lock(&s->wlock);
    reset_rows(s);
    uint64_t seq = next_seq(s, b->n_spans);
    uint32_t day = ch_day(seq), pos = 0;
    span_scratch x = {0};
    int rc = 0;
    for (uint32_t i = 0; i < b->n_rs && !rc; i++) {
        const lt_resource_spans *rs = &b->rs[i];
        uint8_t rh[16];
        add_resource(s, seq, day, &rs->resource, rs->schema_url, rh);
        lt_str service = model_service_name(&rs->resource);
        for (uint32_t j = 0; j < rs->n_scopes && !rc; j++) {
            const lt_scope_spans *ss = &rs->scopes[j];
            uint8_t sh[16];
            add_scope(s, seq, day, &ss->scope, ss->schema_url, sh);
            for (uint32_t k = 0; k < ss->n_spans && !rc; k++)
                rc = add_span(s, &x, seq + rank[pos++], day, &ss->spans[k], service, rh, sh);
        }
    }
    scratch_free(&x);
    lt_free(rank);
    if (!rc && rows_oom(s)) rc = LT_ENOMEM;
    if (!rc) rc = insert_all(s, "spans", SPAN_COLS);
    if (rc == LT_ENOMEM) seen_clear(&s->content_seen);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

static uint64_t log_time(const lt_log_record *lr)
{
    return lr->time_unix_nano ? lr->time_unix_nano : lr->observed_time_unix_nano;
}

int ch_write_logs(lt_store *st, const lt_log_batch *b)
{
    ch_store *s = (ch_store *)st;
    if (s->read_only) return LT_EBUSY;
    if (!b->n_records) return 0;
    pthread_mutex_lock(&s->wlock);
    reset_rows(s);
    uint64_t seq = next_seq(s, b->n_records);
    uint32_t day = ch_day(seq);
    lt_buf body = {0}, text = {0};
    int rc = 0;
    for (uint32_t i = 0; i < b->n_rl && !rc; i++) {
        const lt_resource_logs *rl = &b->rl[i];
        uint8_t rh[16];
        add_resource(s, seq, day, &rl->resource, rl->schema_url, rh);
        lt_str service = model_service_name(&rl->resource);
        for (uint32_t j = 0; j < rl->n_scopes && !rc; j++) {
            const lt_scope_logs *sl = &rl->scopes[j];
            uint8_t sh[16];
            add_scope(s, seq, day, &sl->scope, sl->schema_url, sh);
            for (uint32_t k = 0; k < sl->n_records && !rc; k++) {
                const lt_log_record *lr = &sl->records[k];
                lt_log_record copy = *lr;
                uint8_t h[16];
                bool moved = lr->body.type == LT_VAL_STRING && lr->body.u.s.len >= CH_CONTENT_MIN;
                buf_reset(&text);
                if (moved) {
                    add_content(s, seq, day, lr->body.u.s, h);
                    copy.body.u.s = LT_STR("");
                } else {
                    text_value(&text, &lr->body, 0);
                }
                buf_reset(&body);
                rc = pb_encode_log_record(&body, &copy);
                lt_buf *r = &s->rows;
                rb_u64(r, seq++);
                rb_u64(r, log_time(lr));
                buf_append(r, lr->trace_id, 16);
                buf_append(r, lr->span_id, 8);
                rb_str(r, service);
                buf_append(r, rh, 16);
                buf_append(r, sh, 16);
                rb_str(r, (lt_str){body.data, body.len});
                rb_str(r, (lt_str){text.data, text.len});
                rb_varint(r, moved);
                if (moved) buf_append(r, h, 16);
            }
        }
    }
    if (!rc && (rows_oom(s) || body.oom || text.oom)) rc = LT_ENOMEM;
    buf_free(&body);
    buf_free(&text);
    if (!rc) rc = insert_all(s, "logs", LOG_COLS);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}
