/* sqlite_search.c — free text over what spans and log records say, with SQLite's FTS5.
 *
 * What is indexed (lt_trace_query.text in store.h). A run is one write call's spans (or
 * traced log records) of one trace. Its text is cut into units:
 *  - every string of LT_SQLITE_CONTENT_MIN bytes or more is a unit of its own; a JSON array
 *    (gen_ai.input.messages and its kin) is cut at its elements as the content store cuts
 *    it, so that a history resent with every call indexes each message once;
 *  - the run's distinct span names, joined, are one unit (the same in most traces of an
 *    application, so indexed once);
 *  - the rest, joined, is one unit: status messages, string attributes from SEARCH_MIN
 *    bytes (smaller ones are ids, enums and numbers, which have filters of their own),
 *    every string of span events and log bodies, the small elements of cut arrays.
 * A unit is known by a keyed 63-bit hash of its bytes (sq_content_hash). A new unit becomes
 * a document of the index, with the next document id (sequential: FTS5 stores a term's
 * documents as rowid deltas and merges them in rowid order, and measured here random 63-bit
 * rowids made indexing three times slower and the index twice as large); a unit the
 * generation has seen, found through a bounded map from hash to document, only gets a
 * reference (document, run, trace row). Indexing only distinct text is what keeps the index
 * near the size of the content store rather than of the bodies (an agent resends its system
 * prompt and history every call). The map is a cache: a unit it forgot is indexed again
 * under a new id, which costs space, never a match.
 *
 * Generations. FTS5 cannot take a document out of a contentless table unless it is given
 * the document's text again, and the store keeps most of that text nowhere (small strings
 * live inside the bodies). So the index is cut as the bodies are: generation g, the body
 * segment being written, has its own FTS5 table search_g and reference table sref_g. A unit
 * referenced again in a later generation is indexed again there (once per segment, like
 * the content store's last_seg). Retention drops a generation's two tables when no batch is
 * left in its segment: nothing per document, nothing to count. A reference whose run went
 * while its generation stays (retention deletes batches oldest first, inside a segment too)
 * is recognised on read: its first row is below the oldest stored one.
 *
 * Batches. FTS5 writes a new segment of its index at every commit and merges them later;
 * measured on this machine with 1 KB documents: 10 documents per commit index 3.6 MB/s, 100
 * 8.6 MB/s, 3000 22 MB/s (a commit costs ~2 ms on its own). One write call per commit would
 * cap ingest. So a new unit's text (normalized, see norm_put) is appended to search_pending
 * with its references written at once, and the writer moves the pending text into the FTS5
 * tables in one statement per generation once LT_SQLITE_SEARCH_FLUSH_BYTES wait, at the
 * start of a write (in its transaction), and at close. The table, not memory, holds it: a
 * crash loses nothing. A reader matches the pending text through an FTS5 table in its own
 * connection's temp database, filled per query (at most a flush's worth), so text matches
 * the same way the moment its write is acknowledged as after the flush.
 *
 * Matching. The tokenizer is unicode61 with diacritics removed: words of letters and digits,
 * case and accents folded. The query is one FTS5 phrase with a prefix on its last word:
 * the words in that order, adjacent, the last one possibly longer ("order #4821" finds
 * "Order #48213"). A trigram tokenizer would match any substring, but it indexed 1 to 2 MB/s
 * here, ten times slower, into an index three times the text's size. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "store/sqlite_int.h"

enum {
    SEARCH_MIN = 64,         /* attribute strings shorter than this are not indexed */
    SEARCH_MAX_WORD = 64,    /* bytes of a word kept in the index */
    SEARCH_NAMES = 64,       /* distinct span names a run compares (past it: repeats are kept) */
    SEARCH_DOCS = CACHE_MAX, /* units the writer remembers per generation (16 B each) */
};

#define FTS_OPTIONS "content='', columnsize=0, tokenize='unicode61 remove_diacritics 2'"

/* A map from 63-bit keys (stored + 1, so that 0 marks an empty slot) to values. */
typedef struct {
    struct {
        uint64_t k;
        int64_t v;
    } * e;
    size_t cap, n;
} keyset;

struct sq_search_w {
    uint32_t gen;       /* the generation whose tables exist and statements are ready */
    sqlite3_stmt *ref;  /* of gen: add a reference */
    sqlite3_stmt *pend; /* append pending text */
    keyset docs;        /* unit key -> its document in gen (bounded, see add_unit) */
    keyset run;         /* keys and strings the current run has taken */
    int64_t next_doc;   /* the next document id; < 0 when unknown (after a rollback) */
    int64_t run_id, trace_row;
    int64_t pending_bytes; /* text in search_pending; < 0 when unknown (after a rollback) */
    lt_buf names, text, norm;
    lt_str seen[SEARCH_NAMES];
    uint32_t n_seen;
    struct {
        lt_str *v; /* the run's strings in text (slices of its items) */
        size_t n, cap;
    } strs;
    sq_pieces pv;
};

/* ---- key sets ------------------------------------------------------------------------------ */

static size_t ks_slot(const keyset *ks, uint64_t k)
{
    return (size_t)((k * 0x9e3779b97f4a7c15ull) >> 17) & (ks->cap - 1);
}

/* The value of key, or NULL. */
static int64_t *ks_get(const keyset *ks, uint64_t key)
{
    if (!ks->cap) return NULL;
    for (size_t i = ks_slot(ks, key);; i = (i + 1) & (ks->cap - 1)) {
        if (!ks->e[i].k) return NULL;
        if (ks->e[i].k == key + 1) return &ks->e[i].v;
    }
}

static bool ks_has(const keyset *ks, uint64_t key)
{
    return ks_get(ks, key) != NULL;
}

static void ks_clear(keyset *ks)
{
    if (ks->e) memset(ks->e, 0, ks->cap * sizeof *ks->e);
    ks->n = 0;
}

/* Adds key (known to be absent) with value v. LT_ENOMEM when the map cannot grow. */
static int ks_put(keyset *ks, uint64_t key, int64_t v)
{
    if ((ks->n + 1) * 2 > ks->cap) {
        keyset g = {.cap = ks->cap ? ks->cap * 2 : 256};
        if (!(g.e = lt_calloc(g.cap, sizeof *g.e))) return LT_ENOMEM;
        for (size_t i = 0; i < ks->cap; i++)
            if (ks->e[i].k) {
                size_t j = ks_slot(&g, ks->e[i].k - 1);
                while (g.e[j].k)
                    j = (j + 1) & (g.cap - 1);
                g.e[j] = ks->e[i];
                g.n++;
            }
        lt_free(ks->e);
        *ks = g;
    }
    size_t j = ks_slot(ks, key);
    while (ks->e[j].k)
        j = (j + 1) & (ks->cap - 1);
    ks->e[j].k = key + 1;
    ks->e[j].v = v;
    ks->n++;
    return 0;
}

static int ks_add(keyset *ks, uint64_t key)
{
    return ks_put(ks, key, 0);
}

static void ks_free(keyset *ks)
{
    lt_free(ks->e);
    memset(ks, 0, sizeof *ks);
}

/* ---- text as the index sees it ------------------------------------------------------------- */

typedef struct {
    lt_buf *out;
    size_t word; /* bytes of the current word written */
    bool cut;    /* the current word is past SEARCH_MAX_WORD: the rest is dropped */
} normer;

static bool word_byte(uint8_t b)
{
    return b >= 0x80 || (b >= '0' && b <= '9') || ((b | 0x20) >= 'a' && (b | 0x20) <= 'z');
}

static void norm_byte(normer *n, uint8_t b)
{
    if (!word_byte(b)) {
        n->word = 0;
        n->cut = false;
        buf_putc(n->out, b < 0x20 || b == 0x7f ? ' ' : (char)b);
        return;
    }
    /* a word is cut only where a character starts, so the text stays UTF-8 */
    if (n->word >= SEARCH_MAX_WORD && (b & 0xc0) != 0x80) n->cut = true;
    if (n->cut) return;
    buf_putc(n->out, (char)b);
    n->word++;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v << 4 | d;
    }
    return v;
}

static void norm_cp(normer *n, uint32_t cp)
{
    uint8_t u[4];
    size_t k;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        k = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3f));
        k = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xe0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp & 0x3f));
        k = 3;
    } else {
        u[0] = (uint8_t)(0xf0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (uint8_t)(0x80 | (cp & 0x3f));
        k = 4;
    }
    for (size_t i = 0; i < k; i++)
        norm_byte(n, u[i]);
}

/* Appends p[0..len) to out as the index sees it: JSON escapes decoded (most content is JSON
 * text, and "\nHello" must give the word Hello, "caf\u00e9" the word café), the other
 * escapes and control bytes as blanks, words cut at SEARCH_MAX_WORD bytes (base64 data and
 * the like would fill the index with terms nobody types). p is UTF-8; so is the result. */
static void norm_put(lt_buf *out, const char *p, size_t len)
{
    normer n = {.out = out};
    for (size_t i = 0; i < len;) {
        if (p[i] != '\\' || i + 1 >= len) {
            norm_byte(&n, (uint8_t)p[i++]);
            continue;
        }
        int cp = p[i + 1] == 'u' && len - i >= 6 ? hex4(p + i + 2) : -1;
        if (cp < 0) {
            norm_byte(&n, ' '); /* \n, \t, \", \\ ... */
            i += 2;
            continue;
        }
        i += 6;
        if (cp >= 0xd800 && cp <= 0xdbff && len - i >= 6 && p[i] == '\\' && p[i + 1] == 'u') {
            int lo = hex4(p + i + 2);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                norm_cp(&n, 0x10000 + (((uint32_t)cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00));
                i += 6;
                continue;
            }
        }
        if (cp >= 0xd800 && cp <= 0xdfff)
            norm_byte(&n, ' '); /* a lone surrogate is no character */
        else
            norm_cp(&n, (uint32_t)cp);
    }
}

/* ---- writing ------------------------------------------------------------------------------- */

int sq_search_open(sq_store *s)
{
    sq_search_w *w = lt_calloc(1, sizeof *w);
    if (!w) return LT_ENOMEM;
    s->search = w;
    w->pending_bytes = w->next_doc = -1;
    /* stores made before search existed get the table here; generations come with writes */
    int rc =
        sq_exec_sql(s->wdb, "CREATE TABLE IF NOT EXISTS search_pending(id INTEGER PRIMARY KEY,"
                            " gen INTEGER NOT NULL, doc INTEGER NOT NULL, body TEXT NOT NULL)");
    if (!rc &&
        sqlite3_prepare_v3(s->wdb, "INSERT INTO search_pending(gen, doc, body) VALUES(?1,?2,?3)",
                           -1, SQLITE_PREPARE_PERSISTENT, &w->pend, NULL) != SQLITE_OK)
        rc = sq_err(s->wdb, sqlite3_errcode(s->wdb), "prepare search");
    return rc;
}

static void gen_forget(sq_search_w *w)
{
    sqlite3_finalize(w->ref);
    w->ref = NULL;
    w->gen = 0;
    ks_clear(&w->docs);
}

void sq_search_close(sq_store *s)
{
    sq_search_w *w = s->search;
    if (!w) return;
    gen_forget(w);
    sqlite3_finalize(w->pend);
    ks_free(&w->docs);
    ks_free(&w->run);
    buf_free(&w->names);
    buf_free(&w->text);
    buf_free(&w->norm);
    lt_free(w->pv.v);
    lt_free(w->strs.v);
    lt_free(w);
    s->search = NULL;
}

void sq_search_rolled_back(sq_store *s)
{
    sq_search_w *w = s->search;
    if (!w) return;
    /* the rollback may have taken the generation's tables, documents, references and
     * pending text */
    gen_forget(w);
    w->pending_bytes = w->next_doc = -1;
}

/* The next document id: past every document that was given one (flushed, pending, or
 * referenced), whatever generation holds it. */
static int next_doc(sq_store *s, int64_t *out)
{
    int64_t flushed = 0, pending = 0, referenced = 0;
    char sql[128];
    int rc = sq_query_int(s->wdb, "SELECT v FROM meta WHERE k = 'search_doc_upto'", &flushed);
    if (!rc) rc = sq_query_int(s->wdb, "SELECT max(doc) FROM search_pending", &pending);
    if (!rc && s->search->gen) {
        snprintf(sql, sizeof sql, "SELECT max(doc) FROM sref_%" PRIu32, s->search->gen);
        rc = sq_query_int(s->wdb, sql, &referenced);
    }
    int64_t m = flushed > pending ? flushed : pending;
    *out = (m > referenced ? m : referenced) + 1;
    return rc;
}

/* Makes the current segment's generation ready: its tables (created in the open
 * transaction when missing) and statements. */
static int gen_ready(sq_store *s)
{
    sq_search_w *w = s->search;
    if (w->gen == s->cur_seg && w->ref && w->next_doc > 0) return 0;
    gen_forget(w);
    char sql[512];
    uint32_t g = s->cur_seg;
    snprintf(sql, sizeof sql,
             "CREATE VIRTUAL TABLE IF NOT EXISTS search_%" PRIu32 " USING fts5(body, " FTS_OPTIONS
             ");"
             "CREATE TABLE IF NOT EXISTS sref_%" PRIu32 "(doc INTEGER NOT NULL, run INTEGER NOT"
             " NULL, trace_row INTEGER NOT NULL, PRIMARY KEY(doc, run)) WITHOUT ROWID;",
             g, g);
    int rc = sq_exec_sql(s->wdb, sql);
    if (rc) return rc;
    snprintf(sql, sizeof sql,
             "INSERT OR IGNORE INTO sref_%" PRIu32 "(doc, run, trace_row) VALUES(?1,?2,?3)", g);
    int src = sqlite3_prepare_v3(s->wdb, sql, -1, SQLITE_PREPARE_PERSISTENT, &w->ref, NULL);
    if (src != SQLITE_OK) return sq_err(s->wdb, src, "prepare search");
    w->gen = g;
    if ((rc = next_doc(s, &w->next_doc))) gen_forget(w);
    return rc;
}

/* References unit p[0..n) from the current run; a unit the generation has not seen (as far
 * as the map knows) becomes a document, its text pending. */
static int add_unit(sq_store *s, const char *p, size_t n)
{
    sq_search_w *w = s->search;
    uint64_t key = sq_content_hash(s, p, n), run_key = key & ~(1ull << 62); /* text_add's */
    if (ks_has(&w->run, run_key)) return 0;
    int rc = ks_add(&w->run, run_key);
    if (rc) return rc;
    int64_t *known = ks_get(&w->docs, key), doc;
    if (known) {
        doc = *known;
    } else {
        doc = w->next_doc;
        buf_reset(&w->norm);
        norm_put(&w->norm, p, n);
        if (w->norm.oom) return LT_ENOMEM;
        sqlite3_bind_int64(w->pend, 1, w->gen);
        sqlite3_bind_int64(w->pend, 2, doc);
        sqlite3_bind_text(w->pend, 3, w->norm.data ? w->norm.data : "", (int)w->norm.len,
                          SQLITE_STATIC);
        if ((rc = sq_exec_stmt(s->wdb, w->pend, "search pending"))) return rc;
        w->next_doc++;
        if (w->pending_bytes >= 0) w->pending_bytes += (int64_t)w->norm.len;
        /* bounded memory: a forgotten unit is indexed again if it comes back */
        if (w->docs.n >= SEARCH_DOCS) ks_clear(&w->docs);
        if ((rc = ks_put(&w->docs, key, doc))) return rc;
    }
    sqlite3_bind_int64(w->ref, 1, doc);
    sqlite3_bind_int64(w->ref, 2, w->run_id);
    sqlite3_bind_int64(w->ref, 3, w->trace_row);
    return sq_exec_stmt(s->wdb, w->ref, "search reference");
}

/* Adds p[0..n) to the run's joined text unless the run has it already (the same system
 * prompt or tool description comes with every span of a run). */
static int text_add(sq_store *s, const char *p, size_t n)
{
    sq_search_w *w = s->search;
    /* kept apart from unit keys: the run map holds both */
    uint64_t key = (sq_quick_hash(0x9e3779b97f4a7c15ull ^ n, p, n) & INT64_MAX) | 1ull << 62;
    const int64_t *at = ks_get(&w->run, key);
    if (at && w->strs.v[*at].len == n && !memcmp(w->strs.v[*at].ptr, p, n)) return 0;
    lt_str *v = sq_grow(w->strs.v, &w->strs.cap, w->strs.n, sizeof *v);
    if (!v) return LT_ENOMEM;
    w->strs.v = v;
    /* a different string of the same hash is simply kept twice */
    if (!at && ks_put(&w->run, key, (int64_t)w->strs.n)) return LT_ENOMEM;
    w->strs.v[w->strs.n++] = (lt_str){p, n};
    buf_append(&w->text, p, n);
    buf_putc(&w->text, '\n');
    return w->text.oom ? LT_ENOMEM : 0;
}

/* Takes string v when it has at least min bytes: as units when it is large, else into the
 * joined text. */
static int take_string(sq_store *s, lt_str v, size_t min)
{
    sq_search_w *w = s->search;
    if (!v.len || v.len < min) return 0;
    if (v.len < LT_SQLITE_CONTENT_MIN) return text_add(s, v.ptr, v.len);
    int rc = sq_split_json_array(&w->pv, v.ptr, v.len);
    if (rc <= 0) return rc < 0 ? rc : add_unit(s, v.ptr, v.len);
    rc = 0;
    for (size_t i = 0; i < w->pv.n && !rc; i++) {
        const sq_piece *pc = &w->pv.v[i];
        rc = pc->content ? add_unit(s, v.ptr + pc->off, pc->len)
                         : text_add(s, v.ptr + pc->off, pc->len);
    }
    return rc;
}

static int take_value(sq_store *s, const lt_value *v, size_t min, int depth)
{
    int rc = 0;
    if (depth > MODEL_MAX_DEPTH) return 0;
    if (v->type == LT_VAL_STRING) return take_string(s, v->u.s, min);
    if (v->type == LT_VAL_ARRAY)
        for (uint32_t i = 0; i < v->u.arr.n && !rc; i++)
            rc = take_value(s, &v->u.arr.items[i], min, depth + 1);
    else if (v->type == LT_VAL_KVLIST)
        for (uint32_t i = 0; i < v->u.kv.n && !rc; i++)
            rc = take_value(s, &v->u.kv.items[i].value, min, depth + 1);
    return rc;
}

static int take_attrs(sq_store *s, const lt_attrs *a, size_t min)
{
    int rc = 0;
    for (uint32_t i = 0; i < a->n && !rc; i++)
        rc = take_value(s, &a->items[i].value, min, 0);
    return rc;
}

static int take_name(sq_store *s, lt_str name)
{
    sq_search_w *w = s->search;
    if (!name.len) return 0;
    for (uint32_t i = 0; i < w->n_seen; i++)
        if (lt_str_eq(w->seen[i], name)) return 0;
    if (w->n_seen < SEARCH_NAMES) w->seen[w->n_seen++] = name;
    buf_append(&w->names, name.ptr, name.len);
    buf_putc(&w->names, '\n');
    return w->names.oom ? LT_ENOMEM : 0;
}

int sq_search_run(sq_store *s, int sig, const item_ref *refs, size_t n, int64_t run,
                  int64_t trace_row)
{
    sq_search_w *w = s->search;
    int rc = gen_ready(s);
    if (rc) return rc;
    w->run_id = run;
    w->trace_row = trace_row;
    w->n_seen = 0;
    ks_clear(&w->run);
    w->strs.n = 0;
    buf_reset(&w->names);
    buf_reset(&w->text);
    for (size_t i = 0; i < n && !rc; i++) {
        if (sig == SIG_SPANS) {
            const lt_span *sp = refs[i].item;
            if (!(rc = take_name(s, sp->name)) && !(rc = take_string(s, sp->status_message, 1)))
                rc = take_attrs(s, &sp->attrs, SEARCH_MIN);
            for (uint32_t e = 0; e < sp->events.n && !rc; e++)
                rc = take_attrs(s, &sp->events.items[e].attrs, 1);
        } else {
            const lt_log_record *lr = refs[i].item;
            if (!(rc = take_value(s, &lr->body, 1, 0))) rc = take_attrs(s, &lr->attrs, SEARCH_MIN);
        }
    }
    if (!rc && w->names.len) rc = add_unit(s, w->names.data, w->names.len);
    if (!rc && w->text.len) rc = add_unit(s, w->text.data, w->text.len);
    return rc;
}

/* Moves the pending text into the generations' FTS5 tables: one statement per generation,
 * so FTS5 writes each term's new entries once. */
static int flush_pending(sq_store *s)
{
    sqlite3_stmt *gs = NULL;
    int rc = 0, src;
    if (sqlite3_prepare_v2(s->wdb, "SELECT DISTINCT gen FROM search_pending", -1, &gs, NULL) !=
        SQLITE_OK)
        return sq_err(s->wdb, sqlite3_errcode(s->wdb), "search flush");
    while (!rc && (src = sqlite3_step(gs)) == SQLITE_ROW) {
        int64_t g = sqlite3_column_int64(gs, 0);
        char sql[256];
        snprintf(sql, sizeof sql,
                 "INSERT INTO search_%" PRId64 "(rowid, body) SELECT doc, body FROM search_pending"
                 " WHERE gen = %" PRId64 " ORDER BY id",
                 g, g);
        rc = sq_exec_sql(s->wdb, sql);
    }
    if (!rc && src != SQLITE_DONE) rc = sq_err(s->wdb, src, "search flush");
    sqlite3_finalize(gs);
    /* the documents' ids stay taken once their text has left the table */
    if (!rc)
        rc = sq_exec_sql(s->wdb, "INSERT OR REPLACE INTO meta(k, v) SELECT 'search_doc_upto',"
                                 " max(doc) FROM search_pending HAVING count(*) > 0;"
                                 "DELETE FROM search_pending;");
    return rc;
}

int sq_search_prepare(sq_store *s, bool force)
{
    sq_search_w *w = s->search;
    int rc = 0;
    if (!w) return 0;
    if (w->pending_bytes < 0) {
        rc = sq_query_int(s->wdb,
                          "SELECT coalesce(sum(length(CAST(body AS BLOB))), 0) FROM search_pending",
                          &w->pending_bytes);
        if (rc) {
            w->pending_bytes = -1;
            return rc;
        }
    }
    if (!w->pending_bytes || (!force && w->pending_bytes < LT_SQLITE_SEARCH_FLUSH_BYTES)) return 0;
    if ((rc = flush_pending(s))) return rc;
    w->pending_bytes = 0;
    return 0;
}

/* The generations whose tables exist, ascending, in a malloc'd array; with pending set, also
 * whether search_pending exists. */
static int list_gens(sqlite3 *db, int64_t **out, size_t *n, bool *pending)
{
    sqlite3_stmt *st = NULL;
    int64_t *v = NULL;
    size_t cap = 0, k = 0;
    int rc = 0, src;
    *out = NULL;
    *n = 0;
    if (pending) *pending = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, CAST(substr(name, 6) AS INTEGER) FROM sqlite_master"
                           " WHERE type = 'table' AND (name GLOB 'sref_[0-9]*' OR"
                           " name = 'search_pending') ORDER BY 2",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_err(db, sqlite3_errcode(db), "search generations");
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name && strcmp(name, "search_pending") == 0) {
            if (pending) *pending = true;
            continue;
        }
        int64_t *nv = sq_grow(v, &cap, k, sizeof *v);
        if (!nv) {
            rc = LT_ENOMEM;
            break;
        }
        v = nv;
        v[k++] = sqlite3_column_int64(st, 1);
    }
    if (!rc && src != SQLITE_DONE) rc = sq_err(db, src, "search generations");
    sqlite3_finalize(st);
    if (rc) {
        lt_free(v);
        return rc;
    }
    *out = v;
    *n = k;
    return 0;
}

int sq_search_retire(sq_store *s)
{
    sq_search_w *w = s->search;
    int64_t min_seg = 0, *gens = NULL;
    size_t n = 0;
    int rc = sq_query_int(s->wdb, "SELECT min(seg) FROM batches", &min_seg);
    if (rc) return rc;
    /* every generation whose segment holds no batch any more (all of them when none is left) */
    int64_t keep = min_seg ? min_seg : (int64_t)s->cur_seg + 1;
    if ((rc = list_gens(s->wdb, &gens, &n, NULL))) return rc;
    char sql[256];
    bool dropped = false;
    for (size_t i = 0; i < n && !rc && gens[i] < keep; i++) {
        if (!dropped && w) gen_forget(w); /* no statement of ours may hold a dropped table */
        dropped = true;
        snprintf(sql, sizeof sql,
                 "DROP TABLE IF EXISTS search_%" PRId64 "; DROP TABLE IF EXISTS sref_%" PRId64 ";",
                 gens[i], gens[i]);
        rc = sq_exec_sql(s->wdb, sql);
    }
    lt_free(gens);
    if (!rc && dropped) {
        snprintf(sql, sizeof sql, "DELETE FROM search_pending WHERE gen < %" PRId64, keep);
        rc = sq_exec_sql(s->wdb, sql);
        if (w) w->pending_bytes = -1;
    }
    return rc;
}

int sq_search_drop_from(sq_store *s, int64_t span_from, int64_t log_from)
{
    int64_t exists = 0;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sref_%" PRIu32
             "'",
             s->cur_seg);
    int rc = sq_query_int(s->wdb, sql, &exists);
    if (rc || !exists) return rc;
    /* the lost runs' row ids will be given to new rows: their references must go */
    snprintf(sql, sizeof sql,
             "DELETE FROM sref_%" PRIu32 " WHERE (run > 0 AND run >= %" PRId64 ") OR (run < 0 AND"
             " -run >= %" PRId64 ")",
             s->cur_seg, span_from ? span_from : INT64_MAX, log_from ? log_from : INT64_MAX);
    return sq_exec_sql(s->wdb, sql);
}

/* ---- reading ------------------------------------------------------------------------------- */

/* The FTS5 query for text: one phrase, its last word a prefix. Empty when text has no
 * character the index keeps. */
static void fts_query(lt_buf *out, lt_str text)
{
    lt_buf norm = {0};
    norm_put(&norm, text.ptr, text.len);
    buf_putc(out, '"');
    for (size_t i = 0; i < norm.len; i++) {
        if (norm.data[i] == '"') buf_putc(out, '"'); /* the phrase's only special character */
        buf_putc(out, norm.data[i]);
    }
    buf_append_c(out, "\"*");
    if (norm.oom) out->oom = true;
    buf_free(&norm);
}

/* The first row of the oldest stored batch of a signal (INT64_MAX when there is none):
 * rows below it went (retention deletes batches oldest first). */
static int oldest_row(reader *r, int sig, int64_t *out)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT first_id FROM batches WHERE signal = %d ORDER BY id LIMIT 1",
             sig);
    int64_t v = 0;
    int rc = sq_query_int(r->db, sql, &v);
    *out = v ? v : INT64_MAX;
    return rc;
}

typedef struct {
    reader *r;
    keyset rows; /* trace rows found */
    int64_t *v;  /* ... in the order found */
    size_t n, cap;
    uint64_t budget;
    int64_t span0, log0;
} hits;

/* Takes the (run, trace row) rows of st. */
static int take_refs(hits *f, sqlite3_stmt *st)
{
    int src, rc = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (!f->budget) return LT_ETOOBIG;
        f->budget--;
        int64_t run = sqlite3_column_int64(st, 0), row = sqlite3_column_int64(st, 1);
        if (run > 0 ? run < f->span0 : -run < f->log0) continue; /* the run went */
        if (ks_has(&f->rows, (uint64_t)row)) continue;
        if ((rc = ks_add(&f->rows, (uint64_t)row))) return rc;
        int64_t *v = sq_grow(f->v, &f->cap, f->n, sizeof *v);
        if (!v) return LT_ENOMEM;
        f->v = v;
        v[f->n++] = row;
    }
    if (src == SQLITE_DONE) return 0;
    /* an FTS5 query it cannot parse: the text's fault, not the store's */
    if ((src & 0xff) == SQLITE_ERROR) return LT_EINVAL;
    return sq_err(f->r->db, src, "search");
}

static int search_stmt(reader *r, const char *sql, sqlite3_stmt **st)
{
    int src = sqlite3_prepare_v2(r->db, sql, -1, st, NULL);
    return src == SQLITE_OK ? 0 : sq_err(r->db, src, "prepare search");
}

/* The pending text that matches q: the reader's temp FTS5 table is filled with it, then
 * each match's references are taken from its generation. */
static int search_pending(hits *f, const lt_buf *q)
{
    reader *r = f->r;
    sqlite3_stmt *st = NULL, *refs = NULL;
    int64_t refs_gen = -1;
    char sql[256];
    int rc = sq_exec_sql(r->db, "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_recent USING"
                                " fts5(body, tokenize='unicode61 remove_diacritics 2');"
                                "DELETE FROM temp.search_recent;"
                                "INSERT INTO temp.search_recent(rowid, body) SELECT id, body"
                                " FROM main.search_pending;");
    if (rc) return rc;
    if ((rc = search_stmt(r,
                          "SELECT p.gen, p.doc FROM main.search_pending p WHERE p.id IN"
                          " (SELECT rowid FROM temp.search_recent WHERE search_recent MATCH ?1)",
                          &st)))
        return rc;
    sqlite3_bind_text(st, 1, q->data, (int)q->len, SQLITE_STATIC);
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t g = sqlite3_column_int64(st, 0);
        if (g != refs_gen) {
            sqlite3_finalize(refs);
            refs = NULL;
            snprintf(sql, sizeof sql, "SELECT run, trace_row FROM sref_%" PRId64 " WHERE doc = ?1",
                     g);
            if ((rc = search_stmt(r, sql, &refs))) break;
            refs_gen = g;
        }
        sqlite3_reset(refs);
        sqlite3_bind_int64(refs, 1, sqlite3_column_int64(st, 1));
        rc = take_refs(f, refs);
    }
    if (!rc && src != SQLITE_DONE)
        rc = (src & 0xff) == SQLITE_ERROR ? LT_EINVAL : sq_err(r->db, src, "search");
    sqlite3_finalize(refs);
    sqlite3_finalize(st);
    /* the copy is not kept: the next query fills it from its own snapshot */
    int drc = sq_exec_sql(r->db, "DELETE FROM temp.search_recent");
    return rc ? rc : drc;
}

int sq_search_traces(reader *r, lt_str text, uint64_t budget, int64_t **out, size_t *n)
{
    hits f = {.r = r, .budget = budget};
    lt_buf q = {0};
    int64_t *gens = NULL;
    size_t ng = 0;
    bool pending = false;
    *out = NULL;
    *n = 0;
    fts_query(&q, text);
    int rc = q.oom ? LT_ENOMEM : 0;
    if (!rc) rc = oldest_row(r, SIG_SPANS, &f.span0);
    if (!rc) rc = oldest_row(r, SIG_LOGS, &f.log0);
    if (!rc) rc = list_gens(r->db, &gens, &ng, &pending);
    for (size_t i = ng; i-- > 0 && !rc;) {
        char sql[256];
        sqlite3_stmt *st = NULL;
        snprintf(sql, sizeof sql,
                 "SELECT run, trace_row FROM sref_%" PRId64 " WHERE doc IN (SELECT rowid FROM"
                 " search_%" PRId64 " WHERE search_%" PRId64 " MATCH ?1)",
                 gens[i], gens[i], gens[i]);
        if ((rc = search_stmt(r, sql, &st))) break;
        sqlite3_bind_text(st, 1, q.data, (int)q.len, SQLITE_STATIC);
        rc = take_refs(&f, st);
        sqlite3_finalize(st);
    }
    if (!rc && pending) rc = search_pending(&f, &q);
    lt_free(gens);
    buf_free(&q);
    ks_free(&f.rows);
    if (rc) {
        lt_free(f.v);
        return rc;
    }
    *out = f.v;
    *n = f.n;
    return 0;
}
