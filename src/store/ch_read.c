/* ch_read.c — the ClickHouse engine's reads: one trace by id, the trace list and its stats,
 * the live tail, services and operations (see ch_schema.c for the tables).
 *
 * Every query asks for RowBinary and reads it with rb_reader; user values only ever enter
 * SQL through sql_str / sql_hex (quoted, every unusual byte escaped). A list sums each
 * trace's parts (GROUP BY trace id) inside the range widened by CH_SLACK_NS; span-level
 * filters are one IN subquery over spans each, as each may hold on a different span. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/util.h"
#include "model/pb.h"
#include "store/ch_int.h"

static lt_str keep(lt_arena *a, lt_str s, int *rc)
{
    if (!s.len) return LT_STR("");
    lt_str c = arena_strdup(a, s);
    if (!c.ptr) *rc = LT_ENOMEM;
    return c;
}

/* ---- one trace ---------------------------------------------------------------------- */

typedef struct {
    uint8_t h[16];
    lt_str text;
} hashed;

typedef struct {
    hashed *v;
    size_t n, cap;
} hashes;

static int hashes_add(hashes *hs, const uint8_t h[16])
{
    for (size_t i = 0; i < hs->n; i++)
        if (!memcmp(hs->v[i].h, h, 16)) return 0;
    if (hs->n == hs->cap) {
        size_t cap = hs->cap ? hs->cap * 2 : 32;
        hashed *v = lt_realloc(hs->v, cap * sizeof *v);
        if (!v) return LT_ENOMEM;
        hs->v = v;
        hs->cap = cap;
    }
    memcpy(hs->v[hs->n].h, h, 16);
    hs->v[hs->n++].text = LT_STR("");
    return 0;
}

static const hashed *hashes_find(const hashes *hs, const uint8_t h[16])
{
    for (size_t i = 0; i < hs->n; i++)
        if (!memcmp(hs->v[i].h, h, 16)) return &hs->v[i];
    return NULL;
}

/* Fills the text of every hash from table (content: text; resources, scopes: body). */
static int load_hashed(ch_store *s, const char *table, const char *col, hashes *hs, lt_arena *a)
{
    if (!hs->n) return 0;
    lt_buf sql = {0};
    buf_printf(&sql, "SELECT hash, any(%s) FROM %s.%s WHERE hash IN (", col, s->db, table);
    for (size_t i = 0; i < hs->n; i++) {
        if (i) buf_putc(&sql, ',');
        sql_hex(&sql, hs->v[i].h, 16);
    }
    buf_append_c(&sql, ") GROUP BY hash FORMAT RowBinary");
    rb_reader r;
    int rc = ch_query(s, &sql, a, &r);
    buf_free(&sql);
    while (!rc && rd_more(&r)) {
        uint8_t h[16];
        rd_fixed(&r, h, 16);
        lt_str t = rd_str(&r);
        for (size_t i = 0; i < hs->n; i++)
            if (!memcmp(hs->v[i].h, h, 16)) hs->v[i].text = t;
    }
    if (!rc && r.bad) rc = LT_EIO;
    return rc;
}

/* A stored row of a trace (span or log record), before its parts are put together. */
typedef struct {
    uint64_t seq;
    uint8_t res[16], scope[16];
    lt_str keys, types, values; /* spans: the three arrays, raw RowBinary */
    uint32_t n_attrs;
    bool has_view;
    lt_str view, body;
    uint8_t (*content)[16];
    uint32_t n_content;
} trow;

typedef struct {
    trow *v;
    size_t n, cap;
} trows;

static int trows_push(trows *t, trow **out)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        trow *v = lt_realloc(t->v, cap * sizeof *v);
        if (!v) return LT_ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    *out = &t->v[t->n++];
    memset(*out, 0, sizeof **out);
    return 0;
}

/* Reads an Array(String) in place: its count, and the raw bytes of its elements. */
static lt_str rd_str_array(rb_reader *r, uint32_t *n)
{
    uint64_t k = rd_varint(r);
    const uint8_t *e0 = r->p;
    for (uint64_t i = 0; i < k && !r->bad; i++)
        rd_str(r);
    *n = (uint32_t)k;
    return (lt_str){(const char *)e0, (size_t)(r->p - e0)};
}

static int rd_hashes(rb_reader *r, lt_arena *a, trow *t, hashes *hs)
{
    uint64_t k = rd_varint(r);
    if (r->bad || k > (uint64_t)(r->end - r->p) / 16) {
        r->bad = true;
        return 0;
    }
    t->n_content = (uint32_t)k;
    t->content = k ? arena_alloc(a, k * 16) : NULL;
    if (k && !t->content) return LT_ENOMEM;
    for (uint64_t i = 0; i < k; i++) {
        rd_fixed(r, t->content[i], 16);
        int rc = hashes_add(hs, t->content[i]);
        if (rc) return rc;
    }
    return 0;
}

/* Puts a span's attributes back together from the arrays and the body's typed ones. */
static int rebuild_attrs(const trow *t, const lt_attrs *from_body, const hashes *content,
                         lt_arena *a, lt_attrs *out)
{
    if (!t->n_attrs) {
        *out = (lt_attrs){0};
        return 0;
    }
    lt_kv *kv = arena_calloc(a, t->n_attrs, sizeof *kv);
    if (!kv) return LT_ENOMEM;
    rb_reader kr = {(const uint8_t *)t->keys.ptr, (const uint8_t *)t->keys.ptr + t->keys.len,
                    false};
    rb_reader vr = {(const uint8_t *)t->values.ptr, (const uint8_t *)t->values.ptr + t->values.len,
                    false};
    const uint8_t *types = (const uint8_t *)t->types.ptr;
    uint32_t next_body = 0;
    for (uint32_t i = 0; i < t->n_attrs; i++) {
        kv[i].key = rd_str(&kr);
        lt_str v = rd_str(&vr);
        lt_value *val = &kv[i].value;
        char tmp[64];
        switch (types[i]) {
        case AT_STRING:
            *val = (lt_value){.type = LT_VAL_STRING, .u.s = v};
            break;
        case AT_CONTENT: {
            const hashed *h = v.len == 16 ? hashes_find(content, (const uint8_t *)v.ptr) : NULL;
            if (!h) return LT_EIO;
            *val = (lt_value){.type = LT_VAL_STRING, .u.s = h->text};
            break;
        }
        case AT_INT:
            val->type = LT_VAL_INT;
            if (parse_i64(v, &val->u.i)) return LT_EIO;
            break;
        case AT_DOUBLE:
            if (v.len >= sizeof tmp) return LT_EIO;
            memcpy(tmp, v.ptr, v.len);
            tmp[v.len] = 0;
            val->type = LT_VAL_DOUBLE;
            val->u.d = strtod(tmp, NULL);
            break;
        case AT_BOOL:
            *val = (lt_value){.type = LT_VAL_BOOL, .u.b = lt_str_eq_c(v, "true")};
            break;
        case AT_BYTES: {
            uint8_t *p = arena_alloc(a, v.len / 4 * 3 + 3);
            if (!p) return LT_ENOMEM;
            long n = base64_decode(v, p);
            if (n < 0) return LT_EIO;
            *val = (lt_value){.type = LT_VAL_BYTES, .u.s = {(const char *)p, (size_t)n}};
            break;
        }
        case AT_BODY:
            if (next_body >= from_body->n) return LT_EIO;
            *val = from_body->items[next_body++].value;
            break;
        default:
            return LT_EIO;
        }
    }
    if (kr.bad || vr.bad) return LT_EIO;
    *out = (lt_attrs){kv, t->n_attrs};
    return 0;
}

typedef struct {
    size_t first; /* index of its first row (rows are in arrival order) */
    uint32_t n;
    uint8_t res[16], scope[16];
} tgroup;

/* Groups rows by (resource, scope) in order of first arrival; idx lists the rows of every
 * group one after the other. */
static int group_rows(const trows *t, lt_arena *a, tgroup **groups, uint32_t *n_groups,
                      size_t **idx)
{
    tgroup *g = arena_calloc(a, t->n ? t->n : 1, sizeof *g);
    size_t *order = arena_calloc(a, t->n ? t->n : 1, sizeof *order);
    if (!g || !order) return LT_ENOMEM;
    uint32_t ng = 0;
    size_t *of = lt_calloc(t->n ? t->n : 1, sizeof *of);
    if (!of) return LT_ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        uint32_t k = 0;
        while (k < ng &&
               (memcmp(g[k].res, t->v[i].res, 16) || memcmp(g[k].scope, t->v[i].scope, 16)))
            k++;
        if (k == ng) {
            memcpy(g[k].res, t->v[i].res, 16);
            memcpy(g[k].scope, t->v[i].scope, 16);
            ng++;
        }
        of[i] = k;
        g[k].n++;
    }
    size_t at = 0;
    for (uint32_t k = 0; k < ng; k++) {
        g[k].first = at;
        at += g[k].n;
        g[k].n = 0;
    }
    for (size_t i = 0; i < t->n; i++)
        order[g[of[i]].first + g[of[i]].n++] = i;
    lt_free(of);
    *groups = g;
    *n_groups = ng;
    *idx = order;
    return 0;
}

static int decode_meta(const hashed *h, bool scope, lt_arena *a, void *out, lt_str *url)
{
    if (!h) return LT_EIO;
    rb_reader r = {(const uint8_t *)h->text.ptr, (const uint8_t *)h->text.ptr + h->text.len, false};
    *url = rd_str(&r);
    if (r.bad) return LT_EIO;
    size_t n = (size_t)(r.end - r.p);
    return scope ? pb_decode_scope(a, r.p, n, out) : pb_decode_resource(a, r.p, n, out);
}

static int load_rows(ch_store *s, lt_buf *sql, bool spans, lt_arena *a, trows *t, hashes *content,
                     hashes *res, hashes *scopes)
{
    rb_reader r;
    int rc = ch_query(s, sql, a, &r);
    while (!rc && rd_more(&r)) {
        trow *w;
        if ((rc = trows_push(t, &w))) break;
        w->seq = rd_u64(&r);
        rd_fixed(&r, w->res, 16);
        rd_fixed(&r, w->scope, 16);
        if (spans) {
            w->keys = rd_str_array(&r, &w->n_attrs);
            uint32_t nt = 0;
            uint64_t k = rd_varint(&r);
            if (k > (uint64_t)(r.end - r.p)) r.bad = true;
            w->types = (lt_str){(const char *)r.p, r.bad ? 0 : (size_t)k};
            if (!r.bad) r.p += k;
            nt = (uint32_t)k;
            w->values = rd_str_array(&r, &nt);
            if (nt != w->n_attrs || k != w->n_attrs) r.bad = true;
            w->has_view = rd_u8(&r);
            w->view = rd_str(&r);
        }
        w->body = rd_str(&r);
        rc = rd_hashes(&r, a, w, content);
        if (!rc) rc = hashes_add(res, w->res);
        if (!rc) rc = hashes_add(scopes, w->scope);
    }
    if (!rc && r.bad) rc = LT_EIO;
    return rc;
}

/* The resource and scope of group g, decoded from their stored bodies. */
static int group_meta(const tgroup *g, const hashes *res, const hashes *scopes, lt_arena *a,
                      lt_resource *r, lt_str *r_url, lt_scope *sc, lt_str *sc_url)
{
    int rc = decode_meta(hashes_find(res, g->res), false, a, r, r_url);
    return rc ? rc : decode_meta(hashes_find(scopes, g->scope), true, a, sc, sc_url);
}

static int build_spans(const trows *t, const hashes *content, const hashes *res,
                       const hashes *scopes, lt_arena *a, lt_trace_batch *out)
{
    tgroup *g;
    uint32_t ng;
    size_t *idx;
    int rc = group_rows(t, a, &g, &ng, &idx);
    if (rc) return rc;
    lt_resource_spans *rs = arena_calloc(a, ng ? ng : 1, sizeof *rs);
    if (!rs) return LT_ENOMEM;
    for (uint32_t k = 0; k < ng && !rc; k++) {
        rs[k].n_scopes = 1;
        rs[k].scopes = arena_calloc(a, 1, sizeof *rs[k].scopes);
        lt_scope_spans *ss = rs[k].scopes;
        if (!ss || !(ss->spans = arena_calloc(a, g[k].n, sizeof *ss->spans))) return LT_ENOMEM;
        ss->n_spans = g[k].n;
        rc = group_meta(&g[k], res, scopes, a, &rs[k].resource, &rs[k].schema_url, &ss->scope,
                        &ss->schema_url);
        for (uint32_t i = 0; i < g[k].n && !rc; i++) {
            const trow *w = &t->v[idx[g[k].first + i]];
            lt_span *sp = &ss->spans[i];
            rc = pb_decode_span(a, (const uint8_t *)w->body.ptr, w->body.len, sp);
            lt_attrs body_attrs = sp->attrs;
            if (!rc) rc = rebuild_attrs(w, &body_attrs, content, a, &sp->attrs);
            if (!rc && w->has_view) {
                lt_genai *gv;
                rc = ch_view_decode(a, (const uint8_t *)w->view.ptr, w->view.len, &gv);
                if (!rc) sp->genai = gv;
            }
        }
        out->n_spans += g[k].n;
    }
    out->rs = rs;
    out->n_rs = ng;
    return rc == LT_EINVAL ? LT_EIO : rc;
}

static int build_logs(const trows *t, const hashes *content, const hashes *res,
                      const hashes *scopes, lt_arena *a, lt_log_batch *out)
{
    tgroup *g;
    uint32_t ng;
    size_t *idx;
    int rc = group_rows(t, a, &g, &ng, &idx);
    if (rc) return rc;
    lt_resource_logs *rl = arena_calloc(a, ng ? ng : 1, sizeof *rl);
    if (!rl) return LT_ENOMEM;
    for (uint32_t k = 0; k < ng && !rc; k++) {
        rl[k].n_scopes = 1;
        rl[k].scopes = arena_calloc(a, 1, sizeof *rl[k].scopes);
        lt_scope_logs *sl = rl[k].scopes;
        if (!sl || !(sl->records = arena_calloc(a, g[k].n, sizeof *sl->records))) return LT_ENOMEM;
        sl->n_records = g[k].n;
        rc = group_meta(&g[k], res, scopes, a, &rl[k].resource, &rl[k].schema_url, &sl->scope,
                        &sl->schema_url);
        for (uint32_t i = 0; i < g[k].n && !rc; i++) {
            const trow *w = &t->v[idx[g[k].first + i]];
            lt_log_record *lr = &sl->records[i];
            rc = pb_decode_log_record(a, (const uint8_t *)w->body.ptr, w->body.len, lr);
            if (!rc && w->n_content) {
                const hashed *h = hashes_find(content, w->content[0]);
                if (!h)
                    rc = LT_EIO;
                else
                    lr->body = (lt_value){.type = LT_VAL_STRING, .u.s = h->text};
            }
        }
        out->n_records += g[k].n;
    }
    out->rl = rl;
    out->n_rl = ng;
    return rc == LT_EINVAL ? LT_EIO : rc;
}

int ch_get_trace(lt_store *st, const uint8_t id[16], lt_arena *a, lt_trace_data *out)
{
    ch_store *s = (ch_store *)st;
    memset(out, 0, sizeof *out);
    lt_buf sql = {0};
    buf_printf(&sql,
               "SELECT min(first_ns), max(last_ns), count() FROM %s.trace_index WHERE "
               "trace_id = ",
               s->db);
    sql_hex(&sql, id, 16);
    buf_append_c(&sql, " FORMAT RowBinary");
    rb_reader r;
    int rc = ch_query(s, &sql, a, &r);
    uint64_t first = rd_u64(&r), last = rd_u64(&r), n = rd_u64(&r);
    if (!rc && r.bad) rc = LT_EIO;
    if (!rc && !n) rc = LT_ENOTFOUND;
    trows spans = {0}, logs = {0};
    hashes content = {0}, res = {0}, scopes = {0};
    if (!rc) {
        buf_reset(&sql);
        buf_printf(
            &sql,
            "SELECT seq, resource, scope, attr_keys, attr_types, attr_values, has_view, view, "
            "body, content FROM %s.spans WHERE intDiv(start_ns, 3600000000000) BETWEEN %llu "
            "AND %llu AND trace_id = ",
            s->db, (unsigned long long)(first / CH_HOUR_NS),
            (unsigned long long)(last / CH_HOUR_NS));
        sql_hex(&sql, id, 16);
        buf_append_c(&sql, " ORDER BY seq FORMAT RowBinary");
        rc = load_rows(s, &sql, true, a, &spans, &content, &res, &scopes);
    }
    if (!rc) {
        buf_reset(&sql);
        buf_printf(
            &sql,
            "SELECT seq, resource, scope, body, content FROM %s.logs WHERE trace_id = ", s->db);
        sql_hex(&sql, id, 16);
        buf_append_c(&sql, " ORDER BY seq FORMAT RowBinary");
        rc = load_rows(s, &sql, false, a, &logs, &content, &res, &scopes);
    }
    if (!rc && !spans.n) rc = LT_ENOTFOUND; /* the index row arrived before the spans'? */
    if (!rc) rc = load_hashed(s, "content", "text", &content, a);
    if (!rc) rc = load_hashed(s, "resources", "body", &res, a);
    if (!rc) rc = load_hashed(s, "scopes", "body", &scopes, a);
    if (!rc) rc = build_spans(&spans, &content, &res, &scopes, a, &out->spans);
    if (!rc) rc = build_logs(&logs, &content, &res, &scopes, a, &out->logs);
    buf_free(&sql);
    lt_free(spans.v);
    lt_free(logs.v);
    lt_free(content.v);
    lt_free(res.v);
    lt_free(scopes.v);
    return rc;
}

/* ---- listing traces ------------------------------------------------------------------ */

/* Accents, as SQLite's index (unicode61, remove_diacritics) ignores them: the Latin letters
 * of U+00C0..U+017F that decompose into an ASCII letter and combining marks, with that letter,
 * and per ASCII letter its lowercase accented forms. */
static const struct {
    uint16_t cp;
    char base;
} folds[] = {{0xC0, 'a'},  {0xC1, 'a'},  {0xC2, 'a'},  {0xC3, 'a'},  {0xC4, 'a'},  {0xC5, 'a'},
             {0xC7, 'c'},  {0xC8, 'e'},  {0xC9, 'e'},  {0xCA, 'e'},  {0xCB, 'e'},  {0xCC, 'i'},
             {0xCD, 'i'},  {0xCE, 'i'},  {0xCF, 'i'},  {0xD1, 'n'},  {0xD2, 'o'},  {0xD3, 'o'},
             {0xD4, 'o'},  {0xD5, 'o'},  {0xD6, 'o'},  {0xD9, 'u'},  {0xDA, 'u'},  {0xDB, 'u'},
             {0xDC, 'u'},  {0xDD, 'y'},  {0xE0, 'a'},  {0xE1, 'a'},  {0xE2, 'a'},  {0xE3, 'a'},
             {0xE4, 'a'},  {0xE5, 'a'},  {0xE7, 'c'},  {0xE8, 'e'},  {0xE9, 'e'},  {0xEA, 'e'},
             {0xEB, 'e'},  {0xEC, 'i'},  {0xED, 'i'},  {0xEE, 'i'},  {0xEF, 'i'},  {0xF1, 'n'},
             {0xF2, 'o'},  {0xF3, 'o'},  {0xF4, 'o'},  {0xF5, 'o'},  {0xF6, 'o'},  {0xF9, 'u'},
             {0xFA, 'u'},  {0xFB, 'u'},  {0xFC, 'u'},  {0xFD, 'y'},  {0xFF, 'y'},  {0x100, 'a'},
             {0x101, 'a'}, {0x102, 'a'}, {0x103, 'a'}, {0x104, 'a'}, {0x105, 'a'}, {0x106, 'c'},
             {0x107, 'c'}, {0x108, 'c'}, {0x109, 'c'}, {0x10A, 'c'}, {0x10B, 'c'}, {0x10C, 'c'},
             {0x10D, 'c'}, {0x10E, 'd'}, {0x10F, 'd'}, {0x112, 'e'}, {0x113, 'e'}, {0x114, 'e'},
             {0x115, 'e'}, {0x116, 'e'}, {0x117, 'e'}, {0x118, 'e'}, {0x119, 'e'}, {0x11A, 'e'},
             {0x11B, 'e'}, {0x11C, 'g'}, {0x11D, 'g'}, {0x11E, 'g'}, {0x11F, 'g'}, {0x120, 'g'},
             {0x121, 'g'}, {0x122, 'g'}, {0x123, 'g'}, {0x124, 'h'}, {0x125, 'h'}, {0x128, 'i'},
             {0x129, 'i'}, {0x12A, 'i'}, {0x12B, 'i'}, {0x12C, 'i'}, {0x12D, 'i'}, {0x12E, 'i'},
             {0x12F, 'i'}, {0x130, 'i'}, {0x134, 'j'}, {0x135, 'j'}, {0x136, 'k'}, {0x137, 'k'},
             {0x139, 'l'}, {0x13A, 'l'}, {0x13B, 'l'}, {0x13C, 'l'}, {0x13D, 'l'}, {0x13E, 'l'},
             {0x143, 'n'}, {0x144, 'n'}, {0x145, 'n'}, {0x146, 'n'}, {0x147, 'n'}, {0x148, 'n'},
             {0x14C, 'o'}, {0x14D, 'o'}, {0x14E, 'o'}, {0x14F, 'o'}, {0x150, 'o'}, {0x151, 'o'},
             {0x154, 'r'}, {0x155, 'r'}, {0x156, 'r'}, {0x157, 'r'}, {0x158, 'r'}, {0x159, 'r'},
             {0x15A, 's'}, {0x15B, 's'}, {0x15C, 's'}, {0x15D, 's'}, {0x15E, 's'}, {0x15F, 's'},
             {0x160, 's'}, {0x161, 's'}, {0x162, 't'}, {0x163, 't'}, {0x164, 't'}, {0x165, 't'},
             {0x168, 'u'}, {0x169, 'u'}, {0x16A, 'u'}, {0x16B, 'u'}, {0x16C, 'u'}, {0x16D, 'u'},
             {0x16E, 'u'}, {0x16F, 'u'}, {0x170, 'u'}, {0x171, 'u'}, {0x172, 'u'}, {0x173, 'u'},
             {0x174, 'w'}, {0x175, 'w'}, {0x176, 'y'}, {0x177, 'y'}, {0x178, 'y'}, {0x179, 'z'},
             {0x17A, 'z'}, {0x17B, 'z'}, {0x17C, 'z'}, {0x17D, 'z'}, {0x17E, 'z'}};
static const char *const accented[26] = {
    ['a' - 'a'] = "àáâãäåāăą",  ['c' - 'a'] = "çćĉċč", ['d' - 'a'] = "ď",
    ['e' - 'a'] = "èéêëēĕėęě",  ['g' - 'a'] = "ĝğġģ",  ['h' - 'a'] = "ĥ",
    ['i' - 'a'] = "ìíîïĩīĭį",   ['j' - 'a'] = "ĵ",     ['k' - 'a'] = "ķ",
    ['l' - 'a'] = "ĺļľ",        ['n' - 'a'] = "ñńņň",  ['o' - 'a'] = "òóôõöōŏő",
    ['r' - 'a'] = "ŕŗř",        ['s' - 'a'] = "śŝşš",  ['t' - 'a'] = "ţť",
    ['u' - 'a'] = "ùúûüũūŭůűų", ['w' - 'a'] = "ŵ",     ['y' - 'a'] = "ýÿŷ",
    ['z' - 'a'] = "źżž",
};

/* Decodes the UTF-8 sequence at p (n bytes left): its length, or 0 when it is not one. */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len = p[0] < 0x80         ? 1
                 : (p[0] >> 5) == 6  ? 2
                 : (p[0] >> 4) == 14 ? 3
                 : (p[0] >> 3) == 30 ? 4
                                     : 0;
    if (!len || len > n) return 0;
    uint32_t v = len == 1 ? p[0] : p[0] & (0x7f >> len);
    for (size_t k = 1; k < len; k++) {
        if ((p[k] >> 6) != 2) return 0;
        v = v << 6 | (p[k] & 0x3f);
    }
    *cp = v;
    return len;
}

/* A regular expression (RE2, as ClickHouse's match takes it) for free text: the words of text
 * in this order, separated by anything that is not a letter or digit, the last one as a
 * prefix, each letter also matching its accented forms. It is matched against lowerUTF8 of
 * the text, the words lowercased here: ClickHouse before 19 looks for a regex's literal part
 * case-sensitively even under (?i). LT_EINVAL when text has no word or is not UTF-8. */
static int text_regex(lt_str text, lt_buf *re)
{
    buf_append_c(re, "(?:^|[^\\pL\\pN])");
    bool any = false, in_word = false;
    const unsigned char *p = (const unsigned char *)text.ptr;
    for (size_t i = 0; i < text.len;) {
        uint32_t cp;
        size_t len = utf8_next(p + i, text.len - i, &cp);
        if (!len) return LT_EINVAL; /* RE2 refuses a pattern that is not UTF-8 */
        char base = 0;
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) base = (char)(cp | 0x20);
        for (size_t k = 0; !base && k < sizeof folds / sizeof *folds; k++)
            if (folds[k].cp == cp) base = folds[k].base;
        bool word = base || cp >= 0x80 || (cp >= '0' && cp <= '9') || cp == '_';
        if (!word) {
            in_word = false;
            i += len;
            continue;
        }
        if (!in_word && any) buf_append_c(re, "[^\\pL\\pN]+");
        if (base && accented[base - 'a'])
            buf_printf(re, "[%c%s]", base, accented[base - 'a']);
        else if (base)
            buf_putc(re, base);
        else if (cp == '_')
            buf_append_c(re, "\\_");
        else
            buf_append(re, p + i, len);
        in_word = any = true;
        i += len;
    }
    return any ? (re->oom ? LT_ENOMEM : 0) : LT_EINVAL;
}

/* The hours a query's range (widened by the slack) covers, as a condition on column col. */
static void time_cond(lt_buf *sql, const char *col, uint64_t start_min, uint64_t start_max)
{
    if (start_min)
        buf_printf(sql, " AND intDiv(%s, 3600000000000) >= %llu", col,
                   (unsigned long long)((start_min > CH_SLACK_NS ? start_min - CH_SLACK_NS : 0) /
                                        CH_HOUR_NS));
    if (start_max && start_max < UINT64_MAX - CH_SLACK_NS)
        buf_printf(sql, " AND intDiv(%s, 3600000000000) <= %llu", col,
                   (unsigned long long)((start_max + CH_SLACK_NS) / CH_HOUR_NS));
}

static void span_filter(ch_store *s, lt_buf *sql, const lt_trace_query *q, const char *cond)
{
    buf_printf(sql, " AND trace_id IN (SELECT trace_id FROM %s.spans WHERE 1", s->db);
    time_cond(sql, "start_ns", q->start_min, q->start_max);
    buf_printf(sql, " AND (%s))", cond);
}

static void eq_cond(lt_buf *c, const char *col, lt_str v)
{
    buf_reset(c);
    buf_printf(c, "%s = ", col);
    sql_str(c, v);
}

/* Appends the span-level filters of q (attribute, GenAI values, free text). */
static int span_filters(ch_store *s, lt_buf *sql, const lt_trace_query *q)
{
    lt_buf c = {0};
    if (q->attr_key.len) {
        lt_buf k = {0}, v = {0};
        sql_str(&k, q->attr_key);
        sql_str(&v, q->attr_value);
        buf_printf(
            &c,
            "(has(attr_keys, %s) AND attr_values[indexOf(attr_keys, %s)] = %s) OR resource GLOBAL "
            "IN (SELECT hash FROM %s.resources WHERE has(attr_keys, %s) AND "
            "attr_values[indexOf(attr_keys, %s)] = %s)",
            k.data, k.data, v.data, s->db, k.data, k.data, v.data);
        buf_free(&k);
        buf_free(&v);
        span_filter(s, sql, q, c.data);
    }
    if (q->model.len) {
        lt_buf v = {0};
        sql_str(&v, q->model);
        buf_reset(&c);
        buf_printf(&c, "has_view AND (request_model = %s OR response_model = %s)", v.data, v.data);
        buf_free(&v);
        span_filter(s, sql, q, c.data);
    }
    static const struct {
        size_t off;
        const char *col;
    } eqs[] = {
        {offsetof(lt_trace_query, provider), "provider"},
        {offsetof(lt_trace_query, operation), "operation"},
        {offsetof(lt_trace_query, conversation), "conversation"},
        {offsetof(lt_trace_query, user), "user"},
    };
    for (size_t i = 0; i < sizeof eqs / sizeof *eqs; i++) {
        lt_str v = *(const lt_str *)((const char *)q + eqs[i].off);
        if (!v.len) continue;
        eq_cond(&c, eqs[i].col, v);
        buf_append_c(&c, " AND has_view");
        span_filter(s, sql, q, c.data);
    }
    int rc = 0;
    if (q->text.len) {
        lt_buf re = {0}, lit = {0};
        rc = text_regex(q->text, &re);
        if (rc == LT_EINVAL) { /* no word to look for: nothing matches */
            buf_append_c(sql, " AND 0");
            rc = 0;
        } else if (!rc) {
            sql_str(&lit, (lt_str){re.data, re.len});
            buf_printf(
                sql,
                " AND trace_id IN (SELECT trace_id FROM %s.spans WHERE (match(lowerUTF8(name), %s) "
                "OR match(lowerUTF8(text), %s) OR hasAny(content, (SELECT groupArray(hash) "
                "FROM (SELECT hash FROM %s.content WHERE match(lowerUTF8(text), %s) LIMIT "
                "%d))))",
                s->db, lit.data, lit.data, s->db, lit.data, CH_SEARCH_MAX);
            time_cond(sql, "start_ns", q->start_min, q->start_max);
            buf_printf(
                sql,
                " UNION ALL SELECT trace_id FROM %s.logs WHERE match(lowerUTF8(text), %s) OR "
                "hasAny(content, (SELECT groupArray(hash) FROM (SELECT hash FROM %s.content "
                "WHERE match(lowerUTF8(text), %s) LIMIT %d))))",
                s->db, lit.data, s->db, lit.data, CH_SEARCH_MAX);
        }
        buf_free(&re);
        buf_free(&lit);
    }
    buf_free(&c);
    return rc;
}

#define SUMMARY_COLS                                                                               \
    "trace_id, min(start_min) AS s, max(end_max) AS e, sum(spans), sum(errors) AS er, "            \
    "argMinIf(root_name, root_seq, has_root = 1) AS rn, argMinIf(root_service, root_seq, "         \
    "has_root = 1), arraySlice(arraySort(groupUniqArrayArray(services)), 1, 64) AS sv, "           \
    "sum(llm_calls), sum(in_tokens) AS it, sum(out_tokens) AS ot, sum(cost_sum) AS c"

/* The grouped query of q's traces, without ORDER BY / LIMIT; ids (n of them) restrict it to
 * those traces. */
static int summary_query(ch_store *s, lt_buf *sql, const lt_trace_query *q,
                         const uint8_t (*ids)[16], size_t n_ids, bool cursor)
{
    buf_printf(sql, "SELECT " SUMMARY_COLS " FROM %s.traces WHERE 1", s->db);
    time_cond(sql, "start_min", q->start_min, q->start_max);
    if (n_ids) {
        buf_append_c(sql, " AND trace_id IN (");
        for (size_t i = 0; i < n_ids; i++) {
            if (i) buf_putc(sql, ',');
            sql_hex(sql, ids[i], 16);
        }
        buf_putc(sql, ')');
    }
    int rc = span_filters(s, sql, q);
    if (rc) return rc;
    buf_append_c(sql, " GROUP BY trace_id HAVING 1");
    if (q->start_min) buf_printf(sql, " AND s >= %llu", (unsigned long long)q->start_min);
    if (q->start_max) buf_printf(sql, " AND s <= %llu", (unsigned long long)q->start_max);
    if (q->min_duration_ns)
        buf_printf(sql, " AND if(e > s, e - s, 0) >= %llu", (unsigned long long)q->min_duration_ns);
    if (q->max_duration_ns)
        buf_printf(sql, " AND if(e > s, e - s, 0) <= %llu", (unsigned long long)q->max_duration_ns);
    if (q->errors_only) buf_append_c(sql, " AND er > 0");
    if (q->name.len) {
        buf_append_c(sql, " AND rn = ");
        sql_str(sql, q->name);
    }
    if (q->service.len) {
        buf_append_c(sql, " AND has(groupUniqArrayArray(services), ");
        sql_str(sql, q->service);
        buf_putc(sql, ')');
    }
    if (q->min_cost > 0) buf_printf(sql, " AND c >= %.17g", q->min_cost);
    if (q->min_tokens) buf_printf(sql, " AND it + ot >= %llu", (unsigned long long)q->min_tokens);
    if (cursor && q->has_cursor) {
        buf_printf(sql, " AND (s < %llu OR (s = %llu AND trace_id < ",
                   (unsigned long long)q->cursor_start, (unsigned long long)q->cursor_start);
        sql_hex(sql, q->cursor_trace_id, 16);
        buf_append_c(sql, "))");
    }
    return sql->oom ? LT_ENOMEM : 0;
}

static int read_summary(rb_reader *r, lt_arena *a, lt_trace_summary *t)
{
    int rc = 0;
    memset(t, 0, sizeof *t);
    rd_fixed(r, t->trace_id, 16);
    t->start_unix_nano = rd_u64(r);
    t->end_unix_nano = rd_u64(r);
    t->span_count = (uint32_t)rd_u64(r);
    t->error_count = (uint32_t)rd_u64(r);
    t->root_name = keep(a, rd_str(r), &rc);
    t->root_service = keep(a, rd_str(r), &rc);
    uint64_t n = rd_varint(r);
    if (n > 64 || r->bad) {
        r->bad = true;
        return LT_EIO;
    }
    t->services = n ? arena_calloc(a, n, sizeof *t->services) : NULL;
    if (n && !t->services) return LT_ENOMEM;
    t->n_services = (uint32_t)n;
    for (uint64_t i = 0; i < n; i++)
        t->services[i] = keep(a, rd_str(r), &rc);
    t->llm_calls = (uint32_t)rd_u64(r);
    t->input_tokens = rd_u64(r);
    t->output_tokens = rd_u64(r);
    t->cost = rd_f64(r);
    return rc ? rc : r->bad ? LT_EIO : 0;
}

/* One page of q's list, trying only traces that started at or after from. */
static int list_page(ch_store *s, const lt_trace_query *q, uint64_t from, uint32_t limit,
                     lt_arena *a, lt_trace_list *out)
{
    lt_trace_query w = *q;
    w.start_min = from;
    lt_buf sql = {0};
    int rc = summary_query(s, &sql, &w, NULL, 0, true);
    if (!rc)
        buf_printf(&sql, " ORDER BY s DESC, trace_id DESC LIMIT %u FORMAT RowBinary", limit + 1);
    rb_reader r;
    if (!rc) rc = ch_query(s, &sql, a, &r);
    buf_free(&sql);
    if (rc) return rc;
    out->n = 0;
    while (!rc && rd_more(&r) && out->n < limit + 1)
        rc = read_summary(&r, a, &out->items[out->n++]);
    return rc;
}

/* The newest trace start of the store (0 when it is empty). */
static int newest_start(ch_store *s, lt_arena *a, uint64_t *out)
{
    lt_buf sql = {0};
    buf_printf(&sql, "SELECT max(start_min) FROM %s.traces FORMAT RowBinary", s->db);
    rb_reader r;
    int rc = ch_query(s, &sql, a, &r);
    buf_free(&sql);
    *out = rc ? 0 : rd_u64(&r);
    return rc ? rc : r.bad ? LT_EIO : 0;
}

/* Newest first. Summing every trace of a long range to keep the newest few would read all of
 * them: the page is looked for in the newest hour below the range's end (or the cursor)
 * first, then in windows 16 times wider, until it is full or the window is the range. A page
 * found in a window is the page of the whole range: every trace outside it is older. */
int ch_list_traces(lt_store *st, const lt_trace_query *q, lt_arena *a, lt_trace_list *out)
{
    ch_store *s = (ch_store *)st;
    memset(out, 0, sizeof *out);
    uint32_t limit = q->limit ? (q->limit > 1000 ? 1000 : q->limit) : 20;
    out->items = arena_calloc(a, limit + 1, sizeof *out->items);
    if (!out->items) return LT_ENOMEM;
    uint64_t hi = q->start_max, lo = q->start_min;
    int rc = 0;
    if (q->has_cursor && (!hi || q->cursor_start < hi)) hi = q->cursor_start;
    if (!hi) rc = newest_start(s, a, &hi);
    for (uint64_t width = CH_HOUR_NS; !rc;) {
        uint64_t from = hi > lo && hi - lo > width ? hi - width : lo;
        if ((rc = list_page(s, q, from, limit, a, out)) || out->n > limit || from == lo) break;
        width = width > UINT64_MAX / 16 ? UINT64_MAX : width * 16;
    }
    if (rc) return rc;
    if (out->n > limit) {
        out->n = limit;
        out->more = true;
        const lt_trace_summary *last = &out->items[limit - 1];
        out->next_start = last->start_unix_nano;
        memcpy(out->next_trace_id, last->trace_id, 16);
    }
    return 0;
}

/* ---- trace stats ---------------------------------------------------------------------- */

typedef struct {
    uint8_t id[16];
    uint64_t start, dur;
    double cost;
} brief;

static int newer(const brief *a, const brief *b)
{
    if (a->start != b->start) return a->start > b->start ? -1 : 1;
    return -memcmp(a->id, b->id, 16);
}

static int by_cost(const void *pa, const void *pb)
{
    const brief *a = pa, *b = pb;
    if (a->cost != b->cost) return a->cost > b->cost ? -1 : 1;
    return newer(a, b);
}

static int by_dur(const void *pa, const void *pb)
{
    const brief *a = pa, *b = pb;
    if (a->dur != b->dur) return a->dur > b->dur ? -1 : 1;
    return newer(a, b);
}

static uint32_t cost_bucket(double c)
{
    if (!(c > 0)) return 0;
    uint32_t i = LT_COST_BUCKETS - 1;
    while (i > 1 && c < store_cost_bucket_min(i))
        i--;
    return i;
}

/* Fills the summaries of the n briefs (in their order). */
static int fill(ch_store *s, const lt_trace_query *q, const brief *b, uint32_t n, lt_arena *a,
                lt_trace_summary **out)
{
    *out = NULL;
    if (!n) return 0;
    uint8_t(*ids)[16] = lt_malloc(n * 16);
    if (!ids) return LT_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        memcpy(ids[i], b[i].id, 16);
    lt_buf sql = {0};
    int rc = summary_query(s, &sql, q, (const uint8_t(*)[16])ids, n, false);
    lt_free(ids);
    buf_append_c(&sql, " FORMAT RowBinary");
    rb_reader r;
    if (!rc) rc = ch_query(s, &sql, a, &r);
    buf_free(&sql);
    lt_trace_summary *t = arena_calloc(a, n, sizeof *t);
    if (!rc && !t) rc = LT_ENOMEM;
    while (!rc && rd_more(&r)) {
        lt_trace_summary one;
        if ((rc = read_summary(&r, a, &one))) break;
        for (uint32_t i = 0; i < n; i++)
            if (!memcmp(b[i].id, one.trace_id, 16)) t[i] = one;
    }
    *out = t;
    return rc;
}

int ch_trace_stats(lt_store *st, const lt_trace_query *q, uint32_t k, lt_arena *a,
                   lt_trace_stats *out)
{
    ch_store *s = (ch_store *)st;
    memset(out, 0, sizeof *out);
    if (k > 1000) k = 1000;
    lt_buf sql = {0};
    buf_append_c(&sql, "SELECT trace_id, s, if(e > s, e - s, 0), c FROM (");
    int rc = summary_query(s, &sql, q, NULL, 0, false);
    if (rc) {
        buf_free(&sql);
        return rc;
    }
    buf_printf(&sql, " ORDER BY s DESC, trace_id DESC LIMIT %d) FORMAT RowBinary",
               CH_STATS_MAX + 1);
    rb_reader r;
    rc = ch_query(s, &sql, a, &r);
    buf_free(&sql);
    if (rc) return rc;
    size_t cap = 1024, n = 0;
    brief *v = lt_malloc(cap * sizeof *v);
    if (!v) return LT_ENOMEM;
    while (rd_more(&r)) {
        if (n == cap) {
            brief *nv = lt_realloc(v, cap * 2 * sizeof *v);
            if (!nv) {
                lt_free(v);
                return LT_ENOMEM;
            }
            v = nv;
            cap *= 2;
        }
        rd_fixed(&r, v[n].id, 16);
        v[n].start = rd_u64(&r);
        v[n].dur = rd_u64(&r);
        v[n].cost = rd_f64(&r);
        n++;
    }
    if (r.bad) {
        lt_free(v);
        return LT_EIO;
    }
    if (n > CH_STATS_MAX) {
        n = CH_STATS_MAX;
        out->partial = true;
    }
    out->traces = n;
    size_t n_cost = 0;
    for (size_t i = 0; i < n; i++) {
        out->cost_hist[cost_bucket(v[i].cost)]++;
        if (v[i].cost > 0) n_cost++;
    }
    qsort(v, n, sizeof *v, by_cost);
    out->n_cost = (uint32_t)(n_cost < k ? n_cost : k);
    rc = fill(s, q, v, out->n_cost, a, &out->by_cost);
    if (!rc) {
        qsort(v, n, sizeof *v, by_dur);
        out->n_duration = (uint32_t)(n < k ? n : k);
        rc = fill(s, q, v, out->n_duration, a, &out->by_duration);
    }
    lt_free(v);
    return rc;
}

/* ---- live tail, services, operations ---------------------------------------------------- */

/* The newest seq past after (0 when there is none). */
static int newest_seq(ch_store *s, uint64_t after, lt_arena *a, uint64_t *out)
{
    lt_buf sql = {0};
    buf_printf(&sql, "SELECT max(seq) FROM %s.spans WHERE seq > %llu FORMAT RowBinary", s->db,
               (unsigned long long)after);
    rb_reader r;
    int rc = ch_query(s, &sql, a, &r);
    buf_free(&sql);
    *out = rc ? 0 : rd_u64(&r);
    return rc ? rc : r.bad ? LT_EIO : 0;
}

int ch_tail_spans(lt_store *st, const lt_tail_query *q, lt_arena *a, lt_tail *out)
{
    ch_store *s = (ch_store *)st;
    memset(out, 0, sizeof *out);
    uint32_t limit = q->limit ? (q->limit > 1000 ? 1000 : q->limit) : 100;
    uint64_t after = q->has_after ? q->after : 0, mx;
    /* the newest span first: everything up to it is examined by the query below, so the next
     * call may start past it (a span inserted meanwhile lies past it too) */
    int rc = newest_seq(s, after, a, &mx);
    if (rc) return rc;
    out->next = mx ? mx : after;
    out->items = arena_calloc(a, limit, sizeof *out->items);
    if (!out->items) return LT_ENOMEM;
    if (!mx) return 0;
    lt_buf sql = {0}, cond = {0};
    buf_printf(&cond, "seq > %llu AND seq <= %llu", (unsigned long long)after,
               (unsigned long long)mx);
    if (q->service.len) {
        buf_append_c(&cond, " AND service = ");
        sql_str(&cond, q->service);
    }
    if (q->model.len) {
        buf_append_c(&cond, " AND has_view AND (request_model = ");
        sql_str(&cond, q->model);
        buf_append_c(&cond, " OR response_model = ");
        sql_str(&cond, q->model);
        buf_putc(&cond, ')');
    }
    if (q->errors_only) buf_append_c(&cond, " AND status_code = 2");
    buf_printf(&sql,
               "SELECT seq, trace_id, span_id, parent_span_id, has_parent, name, service, kind, "
               "status_code, start_ns, end_ns, has_view, operation, provider, if(response_model != "
               "'', response_model, request_model), facts, input_tokens, output_tokens, cost FROM "
               "%s.spans WHERE %s ORDER BY seq %s LIMIT %u FORMAT RowBinary",
               s->db, cond.data, q->has_after ? "ASC" : "DESC", limit);
    buf_free(&cond);
    rb_reader r;
    rc = ch_query(s, &sql, a, &r);
    buf_free(&sql);
    if (rc) return rc;
    while (!rc && rd_more(&r) && out->n < limit) {
        lt_span_brief *b = &out->items[out->n++];
        b->seq = rd_u64(&r);
        rd_fixed(&r, b->trace_id, 16);
        rd_fixed(&r, b->span_id, 8);
        rd_fixed(&r, b->parent_span_id, 8);
        b->has_parent = rd_u8(&r);
        b->name = keep(a, rd_str(&r), &rc);
        b->service = keep(a, rd_str(&r), &rc);
        b->kind = rd_u32(&r);
        b->status_code = rd_u32(&r);
        b->start_unix_nano = rd_u64(&r);
        b->end_unix_nano = rd_u64(&r);
        b->has_view = rd_u8(&r);
        b->operation = keep(a, rd_str(&r), &rc);
        b->provider = keep(a, rd_str(&r), &rc);
        b->model = keep(a, rd_str(&r), &rc);
        uint8_t facts = rd_u8(&r);
        b->input_tokens = rd_u64(&r);
        b->output_tokens = rd_u64(&r);
        b->cost = rd_f64(&r);
        b->has_input_tokens = b->has_view && (facts & 1);
        b->has_output_tokens = b->has_view && (facts & 2);
        b->has_cost = b->has_view && (facts & 32);
    }
    if (!rc && r.bad) rc = LT_EIO;
    if (rc) return rc;
    if (!q->has_after) /* newest first from ClickHouse: the contract is arrival order */
        for (uint32_t i = 0; i < out->n / 2; i++) {
            lt_span_brief t = out->items[i];
            out->items[i] = out->items[out->n - 1 - i];
            out->items[out->n - 1 - i] = t;
        }
    else if (out->n == limit) /* a full page: the rest comes next time */
        out->next = out->items[out->n - 1].seq;
    return 0;
}

int ch_list_services(lt_store *st, lt_arena *a, lt_str **out, uint32_t *n)
{
    ch_store *s = (ch_store *)st;
    *out = NULL;
    *n = 0;
    lt_buf sql = {0};
    buf_printf(&sql, "SELECT DISTINCT service FROM %s.operations ORDER BY service FORMAT RowBinary",
               s->db);
    rb_reader r;
    int rc = ch_query(s, &sql, a, &r);
    buf_free(&sql);
    size_t cap = 0;
    while (!rc && rd_more(&r)) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            lt_str *v = arena_alloc(a, cap * sizeof *v);
            if (!v) return LT_ENOMEM;
            if (*n) memcpy(v, *out, *n * sizeof *v);
            *out = v;
        }
        (*out)[(*n)++] = keep(a, rd_str(&r), &rc);
    }
    return rc ? rc : r.bad ? LT_EIO : 0;
}

int ch_list_operations(lt_store *st, lt_str service, lt_arena *a, lt_operation **out, uint32_t *n)
{
    ch_store *s = (ch_store *)st;
    *out = NULL;
    *n = 0;
    lt_buf sql = {0};
    buf_printf(&sql, "SELECT DISTINCT name, kind FROM %s.operations", s->db);
    if (service.len) {
        buf_append_c(&sql, " WHERE service = ");
        sql_str(&sql, service);
    }
    buf_append_c(&sql, " ORDER BY name, kind FORMAT RowBinary");
    rb_reader r;
    int rc = ch_query(s, &sql, a, &r);
    buf_free(&sql);
    size_t cap = 0;
    while (!rc && rd_more(&r)) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            lt_operation *v = arena_alloc(a, cap * sizeof *v);
            if (!v) return LT_ENOMEM;
            if (*n) memcpy(v, *out, *n * sizeof *v);
            *out = v;
        }
        lt_operation *o = &(*out)[(*n)++];
        o->name = keep(a, rd_str(&r), &rc);
        o->span_kind = rd_u32(&r);
    }
    return rc ? rc : r.bad ? LT_EIO : 0;
}
