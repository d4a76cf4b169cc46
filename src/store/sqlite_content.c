/* sqlite_content.c — message content stored once per distinct body, compressed.
 *
 * Agents resend the same system prompt and a growing history on every call, so the bodies
 * of their spans and log records are mostly repeats. When a span or log record is written,
 * every string value of LT_SQLITE_CONTENT_MIN bytes or more (attribute values, event and
 * link attribute values, log bodies, strings nested in arrays and maps) leaves the body:
 * the body keeps an empty string in its place and a reference record in front, and the
 * bytes go to the content table once. A string that is a JSON array
 * (gen_ai.input.messages and its kin) is cut at its top-level elements: each element of
 * LT_SQLITE_CHUNK_MIN bytes or more is a piece of its own, the bytes between elements
 * (brackets, commas, blanks) and small elements stay inline in the reference, so a history
 * that grows by one message per call stores one new message per call. Reconstruction
 * concatenates the pieces, so any string comes back byte for byte whether or not it is
 * valid JSON; the split only decides how well it deduplicates.
 *
 * The stored body: [field 19999, length-delimited: reference record][canonical encoding
 * with the moved strings empty] (a span with a GenAI view has field 19998 before them,
 * sqlite_genai.c's). The protobuf decoders skip unknown fields, so the body is still a span
 * (log record) that decodes; the reference record lists, in the order a depth-first walk
 * meets string values (span: attributes, then each event's, then each link's; log record:
 * body, then attributes), which strings moved and how to rebuild them:
 *   varint count; per string: varint (index - previous index - 1), varint length,
 *   varint pieces; per piece varint (length << 1 | stored), then either the block and the
 *   offset of the stored piece, or the inline bytes.
 *
 * Blocks. A call's new pieces are concatenated into blocks of up to BLOCK_MAX bytes, each
 * deflated once and stored as one row of content (with its pieces' lengths, dir): zlib is
 * four times faster and compresses twice as well on a few kilobytes as on one message
 * (measured here: 80 MB/s and 0.45 on 400 bytes, 300 MB/s and 0.27 on 4 KB). A reader
 * inflates a block once per call and takes its pieces from it.
 *
 * Lookups. A piece is known by a 128-bit SipHash-2-4 of its bytes under a random
 * per-store key, plus its length: an accidental or crafted collision is practically
 * impossible, and the bytes are not compared again. New pieces are found through an
 * in-memory map until their blocks are indexed; content_idx (hash -> block, offset) is
 * written in bulk, sorted, once that map holds a sixteenth of it, as trace_idx is (a random
 * B-tree insert per new piece would dirty a page of the index per piece per commit). The
 * map is rebuilt at open from the blocks past the indexed mark (their dir gives the pieces
 * to hash again), so it is never the only copy. Repeats are answered by the map or a
 * bounded cache of recent hits without SQL; only a miss of both reads the index.
 *
 * Retention: a block records the newest segment that references it (last_seg, raised at
 * most once per segment per piece, from the maps). Batches are deleted oldest first, so
 * once no batch is left in a segment <= last_seg nothing references the block: retention
 * deletes those blocks and their index entries. This costs nothing per reference (no
 * reference counts to update on every write) and frees content with segment granularity,
 * as segments themselves are freed; a block lives as long as its longest-lived piece. */
#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "model/pb.h"
#include "store/sqlite_int.h"

enum { BLOCK_MAX = 32 << 10 };

const char sq_content_schema[] =
    "CREATE TABLE content(id INTEGER PRIMARY KEY, last_seg INTEGER NOT NULL,"
    " len INTEGER NOT NULL, dir BLOB NOT NULL, data BLOB NOT NULL);"
    "CREATE INDEX content_seg ON content(last_seg);"
    "CREATE TABLE content_idx(h1 INTEGER NOT NULL, h2 INTEGER NOT NULL, block INTEGER NOT NULL,"
    " off INTEGER NOT NULL, len INTEGER NOT NULL, PRIMARY KEY(h1, block, off)) WITHOUT ROWID;"
    "CREATE INDEX content_idx_block ON content_idx(block);"
    "INSERT INTO meta VALUES('content_k0', random());"
    "INSERT INTO meta VALUES('content_k1', random());"
    "INSERT INTO meta VALUES('content_indexed_upto', 0);";

const char *const sq_content_wsql[W_C_END - W_C_FIRST] = {
    [W_C_FIND - W_C_FIRST] = ("SELECT i.h2, i.block, i.off, i.len, c.last_seg FROM content_idx i"
                              " JOIN content c ON c.id = i.block WHERE i.h1 = ?1"),
    [W_C_ADD - W_C_FIRST] =
        "INSERT INTO content(id, last_seg, len, dir, data) VALUES(?1,?2,?3,?4,?5)",
    [W_C_TOUCH - W_C_FIRST] = "UPDATE content SET last_seg = ?2 WHERE id = ?1 AND last_seg < ?2",
    [W_C_RETIRE - W_C_FIRST] =
        "DELETE FROM content_idx WHERE block IN (SELECT id FROM content WHERE last_seg < ?1)",
    [W_C_RETIRE2 - W_C_FIRST] = "DELETE FROM content WHERE last_seg < ?1",
    [W_C_IDX_ADD - W_C_FIRST] =
        "INSERT OR IGNORE INTO content_idx(h1, h2, block, off, len) VALUES(?1,?2,?3,?4,?5)",
    [W_C_PAST - W_C_FIRST] = "SELECT id, last_seg, len, dir, data FROM content WHERE id > ?1",
};

const char *const sq_content_rsql[R_C_END - R_C_FIRST] = {
    [R_C_GET - R_C_FIRST] = "SELECT len, data FROM content WHERE id = ?1",
};

/* The reference field: number 19999 (the range protobuf reserves for implementations, never
 * used by OTLP), wire type 2. Canonical encodings start with a lower field, so the three
 * bytes of its tag never begin a body without references. */
static const uint8_t ref_tag[3] = {0xfa, 0xe1, 0x09};
static_assert(((19999u << 3 | 2) & 0x7f) == (0xfa & 0x7f), "tag byte 0");

/* ---- SipHash-2-4 with a 128-bit output (Aumasson and Bernstein, 2012) ------------------- */

static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = rotl(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = rotl(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = rotl(v2, 32);                                                                         \
    } while (0)

/* out[0], out[1]: the two halves of the 16-byte digest, as little-endian words. */
static void siphash128(uint64_t k0, uint64_t k1, const uint8_t *in, size_t len, uint64_t out[2])
{
    uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
    v1 ^= 0xee;
    const uint8_t *end = in + (len - len % 8);
    for (; in != end; in += 8) {
        uint64_t m = le64(in);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++)
        b |= (uint64_t)in[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xee;
    for (int i = 0; i < 4; i++)
        SIPROUND;
    out[0] = v0 ^ v1 ^ v2 ^ v3;
    v1 ^= 0xdd;
    for (int i = 0; i < 4; i++)
        SIPROUND;
    out[1] = v0 ^ v1 ^ v2 ^ v3;
}

/* ---- writer state -------------------------------------------------------------------------- */

/* A known piece: its hash and length, where it is, and its block's last_seg as last seen. */
typedef struct {
    uint64_t h1, h2;
    uint64_t len;
    int64_t block; /* 0 = empty slot */
    uint64_t off;
    int64_t last_seg;
} cent;

typedef struct {
    cent *e;
    size_t cap, n;
} cmap;

struct sq_content_w {
    uint64_t k0, k1;
    cmap pend;  /* every piece of the blocks past indexed_upto */
    cmap cache; /* recent hits among indexed blocks (bounded) */
    bool valid; /* pend, next_block and the block being filled match the table */
    int64_t indexed_upto, next_block, idx_entries;
    bool idx_counted;
    lt_buf blk, dir; /* the block being filled: its bytes, its pieces' lengths */
    z_stream z;
    bool z_ready;
    lt_buf zbuf;
    lt_arena *scratch; /* the stripped copy of one item */
    lt_buf refs;
    sq_pieces pv; /* the pieces of the string being moved */
    uint32_t nrefs;
    uint64_t idx, prev; /* string index of the walk; next expected reference index */
};

uint64_t sq_content_hash(const sq_store *s, const void *p, size_t n)
{
    uint64_t h[2];
    siphash128(s->content->k0, s->content->k1, p, n, h);
    return h[0] & INT64_MAX;
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return lt_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    lt_free(p);
}

int sq_content_open(sq_store *s, bool created)
{
    (void)created; /* the schema made the key */
    sq_content_w *c = lt_calloc(1, sizeof *c);
    if (!c) return LT_ENOMEM;
    s->content = c;
    int64_t k0 = 0, k1 = 0;
    int rc = sq_query_int(s->wdb, "SELECT v FROM meta WHERE k = 'content_k0'", &k0);
    if (!rc) rc = sq_query_int(s->wdb, "SELECT v FROM meta WHERE k = 'content_k1'", &k1);
    c->k0 = (uint64_t)k0;
    c->k1 = (uint64_t)k1;
    if (!rc && !(c->scratch = arena_new())) rc = LT_ENOMEM;
    return rc;
}

void sq_content_close(sq_store *s)
{
    sq_content_w *c = s->content;
    if (!c) return;
    if (c->z_ready) deflateEnd(&c->z);
    lt_free(c->pend.e);
    lt_free(c->cache.e);
    arena_free(c->scratch);
    buf_free(&c->blk);
    buf_free(&c->dir);
    buf_free(&c->refs);
    buf_free(&c->zbuf);
    lt_free(c->pv.v);
    lt_free(c);
    s->content = NULL;
}

static void map_clear(cmap *m)
{
    if (m->e) memset(m->e, 0, m->cap * sizeof *m->e);
    m->n = 0;
}

void sq_content_rolled_back(sq_store *s)
{
    /* blocks and index entries the rollback removed, last_seg it undid */
    if (s->content) s->content->valid = false;
}

static cent *map_find(cmap *m, const uint64_t h[2], uint64_t len)
{
    if (!m->cap) return NULL;
    for (size_t i = h[0] & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        cent *e = &m->e[i];
        if (!e->block) return NULL;
        if (e->h1 == h[0] && e->h2 == h[1] && e->len == len) return e;
    }
}

/* Adds an entry (known to be absent); LT_ENOMEM only when the map cannot grow. */
static int map_put(cmap *m, cent ent)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        cent *e = lt_calloc(cap, sizeof *e);
        if (!e) return LT_ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->e[i].block) {
                size_t j = m->e[i].h1 & (cap - 1);
                while (e[j].block)
                    j = (j + 1) & (cap - 1);
                e[j] = m->e[i];
            }
        lt_free(m->e);
        m->e = e;
        m->cap = cap;
    }
    size_t j = ent.h1 & (m->cap - 1);
    while (m->e[j].block)
        j = (j + 1) & (m->cap - 1);
    m->e[j] = ent;
    m->n++;
    return 0;
}

/* Remembers a hit in the bounded cache; a failure only costs a later lookup. */
static void cache_hit(sq_content_w *c, cent ent)
{
    if (c->cache.n >= CACHE_MAX) map_clear(&c->cache);
    map_put(&c->cache, ent);
}

/* Deflates p into c->zbuf (raw deflate, no header); *smaller false when that does not make
 * it smaller (then the bytes are stored as they are). */
static int deflate_into(sq_content_w *c, const uint8_t *p, size_t n, bool *smaller)
{
    *smaller = false;
    if (!c->z_ready) {
        memset(&c->z, 0, sizeof c->z);
        c->z.zalloc = z_alloc;
        c->z.zfree = z_free;
        if (deflateInit2(&c->z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return LT_ENOMEM;
        c->z_ready = true;
    } else if (deflateReset(&c->z) != Z_OK) {
        return LT_ENOMEM;
    }
    if (n > UINT32_MAX / 2) return 0; /* stored as it is */
    size_t bound = deflateBound(&c->z, (uLong)n);
    buf_reset(&c->zbuf);
    if (buf_reserve(&c->zbuf, bound)) return LT_ENOMEM;
    c->z.next_in = (Bytef *)p;
    c->z.avail_in = (uInt)n;
    c->z.next_out = (Bytef *)c->zbuf.data;
    c->z.avail_out = (uInt)bound;
    int zr = deflate(&c->z, Z_FINISH);
    if (zr != Z_STREAM_END) return zr == Z_MEM_ERROR ? LT_ENOMEM : 0;
    c->zbuf.len = bound - c->z.avail_out;
    *smaller = c->zbuf.len < n;
    return 0;
}

/* Stores the block being filled as content row next_block. */
static int flush_block(sq_store *s)
{
    sq_content_w *c = s->content;
    if (!c->blk.len) return 0;
    bool smaller;
    int rc = deflate_into(c, (const uint8_t *)c->blk.data, c->blk.len, &smaller);
    if (rc) return rc;
    sqlite3_stmt *add = s->ws[W_C_ADD];
    sqlite3_bind_int64(add, 1, c->next_block);
    sqlite3_bind_int64(add, 2, s->cur_seg);
    sqlite3_bind_int64(add, 3, (int64_t)c->blk.len);
    sq_bind_buf(add, 4, &c->dir);
    sq_bind_buf(add, 5, smaller ? &c->zbuf : &c->blk);
    if ((rc = sq_exec_stmt(s->wdb, add, "add content"))) return rc;
    s->seg_extra += smaller ? c->zbuf.len : c->blk.len;
    c->next_block++;
    buf_reset(&c->blk);
    buf_reset(&c->dir);
    return 0;
}

int sq_content_end(sq_store *s)
{
    return flush_block(s);
}

static int touch(sq_store *s, int64_t block, int64_t seg)
{
    sqlite3_stmt *t = s->ws[W_C_TOUCH];
    sqlite3_bind_int64(t, 1, block);
    sqlite3_bind_int64(t, 2, seg);
    return sq_exec_stmt(s->wdb, t, "touch content");
}

/* Where piece p[0..n) is stored: found, or appended to the block being filled. Its block's
 * last_seg is raised to the current segment. */
static int content_put(sq_store *s, const uint8_t *p, size_t n, int64_t *block, uint64_t *off)
{
    sq_content_w *c = s->content;
    uint64_t h[2];
    siphash128(c->k0, c->k1, p, n, h);
    int64_t seg = s->cur_seg;
    int rc;
    cent *e = map_find(&c->pend, h, n);
    if (!e) e = map_find(&c->cache, h, n);
    if (e) {
        *block = e->block;
        *off = e->off;
        if (e->last_seg >= seg || e->block >= c->next_block) return 0;
        if ((rc = touch(s, e->block, seg))) return rc;
        e->last_seg = seg;
        return 0;
    }
    /* the index: pieces of blocks up to indexed_upto */
    sqlite3_stmt *f = s->ws[W_C_FIND];
    sqlite3_bind_int64(f, 1, (int64_t)h[0]);
    int src;
    cent found = {0};
    while ((src = sqlite3_step(f)) == SQLITE_ROW)
        if ((uint64_t)sqlite3_column_int64(f, 0) == h[1] &&
            (uint64_t)sqlite3_column_int64(f, 3) == n) {
            found = (cent){h[0],
                           h[1],
                           n,
                           sqlite3_column_int64(f, 1),
                           (uint64_t)sqlite3_column_int64(f, 2),
                           sqlite3_column_int64(f, 4)};
            break;
        }
    sqlite3_reset(f);
    if (src != SQLITE_ROW && src != SQLITE_DONE) return sq_err(s->wdb, src, "find content");
    if (found.block) {
        if (found.last_seg < seg) {
            if ((rc = touch(s, found.block, seg))) return rc;
            found.last_seg = seg;
        }
        *block = found.block;
        *off = found.off;
        cache_hit(c, found);
        return 0;
    }
    /* new: into the block being filled (a large piece gets a block of its own) */
    if (c->blk.len && c->blk.len + n > BLOCK_MAX && (rc = flush_block(s))) return rc;
    *block = c->next_block;
    *off = c->blk.len;
    sq_put(&c->blk, p, n);
    sq_put_var(&c->dir, n);
    if (c->blk.oom || c->dir.oom) return LT_ENOMEM;
    if ((rc = map_put(&c->pend, (cent){h[0], h[1], n, *block, *off, seg}))) return rc;
    if (c->blk.len >= BLOCK_MAX) return flush_block(s);
    return 0;
}

/* Inflates a block's data (n bytes) into out (len bytes, its raw size). */
static int inflate_block(const uint8_t *p, size_t n, char *out, size_t len)
{
    if (n == len) {
        if (len) memcpy(out, p, len);
        return 0;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    z.zalloc = z_alloc;
    z.zfree = z_free;
    if (inflateInit2(&z, -15) != Z_OK) return LT_ENOMEM;
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)len;
    int zr = inflate(&z, Z_FINISH), rc = 0;
    if (zr == Z_MEM_ERROR)
        rc = LT_ENOMEM;
    else if (zr != Z_STREAM_END || z.avail_out)
        rc = LT_EIO;
    inflateEnd(&z);
    return rc;
}

/* Rebuilds pend from the blocks past the indexed mark, hashing their pieces again. */
static int rebuild_pending(sq_store *s)
{
    sq_content_w *c = s->content;
    map_clear(&c->pend);
    map_clear(&c->cache);
    buf_reset(&c->blk);
    buf_reset(&c->dir);
    int64_t max = 0;
    int rc = sq_query_int(s->wdb, "SELECT v FROM meta WHERE k = 'content_indexed_upto'",
                          &c->indexed_upto);
    if (!rc) rc = sq_query_int(s->wdb, "SELECT max(id) FROM content", &max);
    if (!rc && !c->idx_counted) {
        rc = sq_query_int(s->wdb, "SELECT count(*) FROM content_idx", &c->idx_entries);
        c->idx_counted = !rc;
    }
    if (rc) return rc;
    c->next_block = (max > c->indexed_upto ? max : c->indexed_upto) + 1;
    sqlite3_stmt *st = s->ws[W_C_PAST];
    sqlite3_bind_int64(st, 1, c->indexed_upto);
    int src;
    lt_buf raw = {0};
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t block = sqlite3_column_int64(st, 0), seg = sqlite3_column_int64(st, 1);
        size_t len = (size_t)sqlite3_column_int64(st, 2);
        const uint8_t *d = sqlite3_column_blob(st, 3),
                      *dend = sq_end(d, (size_t)sqlite3_column_bytes(st, 3));
        buf_reset(&raw);
        if (buf_reserve(&raw, len + 1)) {
            rc = LT_ENOMEM;
            break;
        }
        if ((rc = inflate_block(sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4),
                                raw.data, len)))
            break;
        uint64_t off = 0, n;
        while (!rc && d < dend) {
            if (!sq_get_varint(&d, dend, &n) || n > len - off) {
                rc = LT_EIO;
                break;
            }
            uint64_t h[2];
            siphash128(c->k0, c->k1, (const uint8_t *)raw.data + off, (size_t)n, h);
            if (!map_find(&c->pend, h, n))
                rc = map_put(&c->pend, (cent){h[0], h[1], n, block, off, seg});
            off += n;
        }
    }
    sqlite3_reset(st);
    buf_free(&raw);
    if (!rc && src != SQLITE_DONE) rc = sq_err(s->wdb, src, "read content");
    if (rc == LT_EIO) log_error("store: a content block does not match its directory");
    c->valid = !rc;
    return rc;
}

static int cent_cmp(const void *pa, const void *pb)
{
    const cent *a = pa, *b = pb;
    if (a->h1 != b->h1) return (int64_t)a->h1 < (int64_t)b->h1 ? -1 : 1; /* as SQLite sorts */
    if (a->block != b->block) return a->block < b->block ? -1 : 1;
    return a->off < b->off ? -1 : a->off > b->off;
}

/* Writes pend into content_idx, sorted (each leaf written once), and marks its blocks as
 * indexed; the entries move to the cache. */
static int index_pending(sq_store *s)
{
    sq_content_w *c = s->content;
    cent *v = lt_malloc((c->pend.n ? c->pend.n : 1) * sizeof *v);
    if (!v) return LT_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < c->pend.cap; i++)
        if (c->pend.e[i].block) v[n++] = c->pend.e[i];
    if (n > 1) qsort(v, n, sizeof *v, cent_cmp);
    int rc = 0;
    sqlite3_stmt *st = s->ws[W_C_IDX_ADD];
    for (size_t i = 0; i < n && !rc; i++) {
        sqlite3_bind_int64(st, 1, (int64_t)v[i].h1);
        sqlite3_bind_int64(st, 2, (int64_t)v[i].h2);
        sqlite3_bind_int64(st, 3, v[i].block);
        sqlite3_bind_int64(st, 4, (int64_t)v[i].off);
        sqlite3_bind_int64(st, 5, (int64_t)v[i].len);
        rc = sq_exec_stmt(s->wdb, st, "index content");
    }
    if (!rc) {
        sqlite3_stmt *ms = s->ws[W_META_SET];
        sqlite3_bind_text(ms, 1, "content_indexed_upto", -1, SQLITE_STATIC);
        sqlite3_bind_int64(ms, 2, c->next_block - 1);
        rc = sq_exec_stmt(s->wdb, ms, "content mark");
    }
    if (!rc) {
        c->indexed_upto = c->next_block - 1;
        c->idx_entries += (int64_t)n;
        map_clear(&c->pend);
        for (size_t i = 0; i < n && i < CACHE_MAX / 2; i++)
            cache_hit(c, v[n - 1 - i]); /* the newest are the likeliest repeats */
    }
    lt_free(v);
    return rc;
}

int sq_content_prepare(sq_store *s)
{
    sq_content_w *c = s->content;
    int rc = 0;
    if (!c->valid && (rc = rebuild_pending(s))) return rc;
    int64_t threshold = c->idx_entries / 16;
    if (threshold < LT_SQLITE_CONTENT_INDEX_MIN) threshold = LT_SQLITE_CONTENT_INDEX_MIN;
    if (threshold > INDEX_FLUSH_MAX) threshold = INDEX_FLUSH_MAX;
    if ((int64_t)c->pend.n < threshold) return 0;
    if ((rc = index_pending(s))) c->valid = false;
    return rc;
}

/* ---- splitting ----------------------------------------------------------------------------- */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int piece_add(sq_pieces *pv, size_t off, size_t len, bool content)
{
    if (!len) return 0;
    if (pv->n && !content && !pv->v[pv->n - 1].content) {
        pv->v[pv->n - 1].len += len; /* inline bytes next to inline bytes: one piece */
        return 0;
    }
    if (pv->n == pv->cap) {
        size_t cap = pv->cap ? pv->cap * 2 : 64;
        sq_piece *v = lt_realloc(pv->v, cap * sizeof *v);
        if (!v) return LT_ENOMEM;
        pv->v = v;
        pv->cap = cap;
    }
    pv->v[pv->n++] = (sq_piece){off, len, content};
    return 0;
}

/* The end of the JSON string value whose opening quote is at p[i]: the index of its closing
 * quote, or n when there is none. */
static size_t string_end(const char *p, size_t n, size_t i)
{
    for (size_t j = i + 1; j < n;) {
        const char *q = memchr(p + j, '"', n - j);
        if (!q) return n;
        size_t k = (size_t)(q - p), bs = 0;
        while (k - bs > i + 1 && p[k - bs - 1] == '\\')
            bs++;
        if (bs % 2 == 0) return k;
        j = k + 1;
    }
    return n;
}

int sq_split_json_array(sq_pieces *pv, const char *p, size_t n)
{
    size_t i = 0, glue = 0;
    bool any = false;
    int rc;
    pv->n = 0;
    while (i < n && is_ws(p[i]))
        i++;
    if (i == n || p[i] != '[') return 0;
    i++;
    for (;;) {
        while (i < n && is_ws(p[i]))
            i++;
        if (i == n) return 0;
        if (p[i] == ']') break; /* empty array, or a trailing comma */
        size_t start = i;
        int depth = 0;
        for (; i < n; i++) {
            char ch = p[i];
            if (ch == '"') {
                if ((i = string_end(p, n, i)) == n) return 0;
            } else if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                if (!depth) break;
                depth--;
            } else if (ch == ',' && !depth) {
                break;
            }
        }
        if (i >= n) return 0;
        size_t end = i;
        while (end > start && is_ws(p[end - 1]))
            end--;
        bool alone = end - start >= LT_SQLITE_CHUNK_MIN;
        any |= alone;
        if ((rc = piece_add(pv, glue, start - glue, false)) ||
            (rc = piece_add(pv, start, end - start, alone)))
            return rc;
        glue = end;
        if (p[i] == ']') break;
        i++; /* the comma */
    }
    for (size_t k = i + 1; k < n; k++)
        if (!is_ws(p[k])) return 0;
    if ((rc = piece_add(pv, glue, n - glue, false))) return rc;
    return any;
}

/* Moves string v out: appends its reference (the walk is at string index c->idx). */
static int move_string(sq_store *s, lt_str v)
{
    sq_content_w *c = s->content;
    int rc = sq_split_json_array(&c->pv, v.ptr, v.len);
    if (rc < 0) return rc;
    if (!rc) {
        c->pv.n = 0;
        if ((rc = piece_add(&c->pv, 0, v.len, true))) return rc;
    }
    sq_put_var(&c->refs, c->idx - c->prev);
    sq_put_var(&c->refs, v.len);
    sq_put_var(&c->refs, c->pv.n);
    for (size_t i = 0; i < c->pv.n; i++) {
        const sq_piece *pc = &c->pv.v[i];
        sq_put_var(&c->refs, (uint64_t)pc->len << 1 | pc->content);
        if (pc->content) {
            int64_t block = 0;
            uint64_t off = 0;
            if ((rc = content_put(s, (const uint8_t *)v.ptr + pc->off, pc->len, &block, &off)))
                return rc;
            sq_put_var(&c->refs, (uint64_t)block);
            sq_put_var(&c->refs, off);
        } else {
            sq_put(&c->refs, v.ptr + pc->off, pc->len);
        }
    }
    c->prev = c->idx + 1;
    c->nrefs++;
    return c->refs.oom ? LT_ENOMEM : 0;
}

/* ---- walking values -------------------------------------------------------------------------
 * Both directions walk the same values in the same order and count every string value;
 * values deeper than MODEL_MAX_DEPTH (which no decoder accepts) are not entered. */

/* Counts the string values under v and whether one of them is large. */
static void scan_value(const lt_value *v, int depth, uint64_t *strings, bool *large)
{
    if (depth > MODEL_MAX_DEPTH) return;
    if (v->type == LT_VAL_STRING) {
        (*strings)++;
        if (v->u.s.len >= LT_SQLITE_CONTENT_MIN) *large = true;
    } else if (v->type == LT_VAL_ARRAY) {
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            scan_value(&v->u.arr.items[i], depth + 1, strings, large);
    } else if (v->type == LT_VAL_KVLIST) {
        for (uint32_t i = 0; i < v->u.kv.n; i++)
            scan_value(&v->u.kv.items[i].value, depth + 1, strings, large);
    }
}

static bool attrs_large(const lt_attrs *a)
{
    uint64_t n = 0;
    bool large = false;
    for (uint32_t i = 0; i < a->n && !large; i++)
        scan_value(&a->items[i].value, 0, &n, &large);
    return large;
}

static int strip_attrs(sq_store *s, const lt_attrs *in, lt_attrs *out, int depth);

/* *out is v with its large strings moved out (a copy in scratch where anything changes). */
static int strip_value(sq_store *s, const lt_value *v, lt_value *out, int depth)
{
    sq_content_w *c = s->content;
    *out = *v;
    if (depth > MODEL_MAX_DEPTH) return 0;
    if (v->type == LT_VAL_STRING) {
        int rc = 0;
        if (v->u.s.len >= LT_SQLITE_CONTENT_MIN) {
            rc = move_string(s, v->u.s);
            out->u.s = LT_STR("");
        }
        c->idx++;
        return rc;
    }
    if (v->type != LT_VAL_ARRAY && v->type != LT_VAL_KVLIST) return 0;
    uint64_t strings = 0;
    bool large = false;
    scan_value(v, depth, &strings, &large);
    if (!large) {
        c->idx += strings;
        return 0;
    }
    if (v->type == LT_VAL_KVLIST) return strip_attrs(s, &v->u.kv, &out->u.kv, depth + 1);
    lt_value *items = arena_calloc(c->scratch, v->u.arr.n, sizeof *items);
    if (!items) return LT_ENOMEM;
    out->u.arr.items = items;
    for (uint32_t i = 0; i < v->u.arr.n; i++) {
        int rc = strip_value(s, &v->u.arr.items[i], &items[i], depth + 1);
        if (rc) return rc;
    }
    return 0;
}

static int strip_attrs(sq_store *s, const lt_attrs *in, lt_attrs *out, int depth)
{
    *out = *in;
    if (!in->n) return 0;
    lt_kv *kv = arena_calloc(s->content->scratch, in->n, sizeof *kv);
    if (!kv) return LT_ENOMEM;
    out->items = kv;
    for (uint32_t i = 0; i < in->n; i++) {
        kv[i].key = in->items[i].key;
        int rc = strip_value(s, &in->items[i].value, &kv[i].value, depth);
        if (rc) return rc;
    }
    return 0;
}

static void refs_begin(sq_content_w *c)
{
    arena_reset(c->scratch);
    buf_reset(&c->refs);
    c->nrefs = 0;
    c->idx = c->prev = 0;
}

/* Appends the reference field, then lets the caller append the stripped encoding. */
static void refs_put(sq_content_w *c, lt_buf *out)
{
    uint8_t cnt[10], len[10];
    size_t nc = sq_put_varint(cnt, c->nrefs);
    size_t nl = sq_put_varint(len, nc + c->refs.len);
    buf_append(out, ref_tag, sizeof ref_tag);
    buf_append(out, len, nl);
    buf_append(out, cnt, nc);
    buf_append(out, c->refs.data, c->refs.len);
}

int sq_content_encode_span(sq_store *s, const lt_span *sp, lt_buf *out)
{
    bool large = attrs_large(&sp->attrs);
    for (uint32_t i = 0; i < sp->events.n && !large; i++)
        large = attrs_large(&sp->events.items[i].attrs);
    for (uint32_t i = 0; i < sp->links.n && !large; i++)
        large = attrs_large(&sp->links.items[i].attrs);
    if (!large) return pb_encode_span(out, sp) ? LT_ENOMEM : 0;
    sq_content_w *c = s->content;
    refs_begin(c);
    lt_span cp = *sp;
    int rc = strip_attrs(s, &sp->attrs, &cp.attrs, 0);
    if (!rc && sp->events.n) {
        lt_event *ev = arena_calloc(c->scratch, sp->events.n, sizeof *ev);
        if (!ev) return LT_ENOMEM;
        for (uint32_t i = 0; i < sp->events.n && !rc; i++) {
            ev[i] = sp->events.items[i];
            rc = strip_attrs(s, &sp->events.items[i].attrs, &ev[i].attrs, 0);
        }
        cp.events.items = ev;
    }
    if (!rc && sp->links.n) {
        lt_link *ln = arena_calloc(c->scratch, sp->links.n, sizeof *ln);
        if (!ln) return LT_ENOMEM;
        for (uint32_t i = 0; i < sp->links.n && !rc; i++) {
            ln[i] = sp->links.items[i];
            rc = strip_attrs(s, &sp->links.items[i].attrs, &ln[i].attrs, 0);
        }
        cp.links.items = ln;
    }
    if (rc) return rc;
    size_t at = out->len;
    refs_put(c, out);
    if (out->oom || pb_encode_span(out, &cp)) {
        out->len = at;
        return LT_ENOMEM;
    }
    return 0;
}

int sq_content_encode_log(sq_store *s, const lt_log_record *lr, lt_buf *out)
{
    uint64_t n = 0;
    bool large = false;
    scan_value(&lr->body, 0, &n, &large);
    if (!large) large = attrs_large(&lr->attrs);
    if (!large) return pb_encode_log_record(out, lr) ? LT_ENOMEM : 0;
    sq_content_w *c = s->content;
    refs_begin(c);
    lt_log_record cp = *lr;
    int rc = strip_value(s, &lr->body, &cp.body, 0);
    if (!rc) rc = strip_attrs(s, &lr->attrs, &cp.attrs, 0);
    if (rc) return rc;
    size_t at = out->len;
    refs_put(c, out);
    if (out->oom || pb_encode_log_record(out, &cp)) {
        out->len = at;
        return LT_ENOMEM;
    }
    return 0;
}

int sq_content_retire(sq_store *s)
{
    sqlite3_stmt *a = s->ws[W_C_RETIRE], *b = s->ws[W_C_RETIRE2];
    /* blocks referenced only from segments before the oldest batch left (all of them when
     * no batch is left) */
    int64_t upto = 0;
    int rc = sq_query_int(s->wdb, "SELECT min(seg) FROM batches", &upto);
    if (rc) return rc;
    if (!upto) upto = (int64_t)s->cur_seg + 1;
    sqlite3_bind_int64(a, 1, upto);
    sqlite3_bind_int64(b, 1, upto);
    rc = sq_exec_stmt(s->wdb, a, "retire content index");
    if (!rc) s->content->idx_entries -= sqlite3_changes(s->wdb);
    if (!rc) rc = sq_exec_stmt(s->wdb, b, "retire content");
    /* the maps may point into blocks that went */
    if (!rc && sqlite3_changes(s->wdb) > 0) s->content->valid = false;
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------- */

void sq_cread_reset(sq_cread *c)
{
    if (c->e) memset(c->e, 0, c->cap * sizeof *c->e);
    c->n = 0;
}

void sq_cread_free(sq_cread *c)
{
    lt_free(c->e);
    memset(c, 0, sizeof *c);
}

static size_t cread_slot(const sq_cread *c, int64_t id)
{
    return (size_t)((uint64_t)id * 0x9e3779b97f4a7c15ull >> 40) & (c->cap - 1);
}

static const char *cread_get(const sq_cread *c, int64_t id, size_t *len)
{
    if (!c->cap) return NULL;
    for (size_t i = cread_slot(c, id);; i = (i + 1) & (c->cap - 1)) {
        if (!c->e[i].id) return NULL;
        if (c->e[i].id == id) {
            *len = c->e[i].len;
            return c->e[i].p;
        }
    }
}

static void cread_put(sq_cread *c, int64_t id, const char *p, size_t len)
{
    if ((c->n + 1) * 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        void *v = lt_calloc(cap, sizeof *c->e);
        if (!v) return;
        sq_cread old = *c;
        c->e = v;
        c->cap = cap;
        c->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.e[i].id) cread_put(c, old.e[i].id, old.e[i].p, old.e[i].len);
        lt_free(old.e);
    }
    size_t i = cread_slot(c, id);
    while (c->e[i].id)
        i = (i + 1) & (c->cap - 1);
    c->e[i].id = id;
    c->e[i].p = p;
    c->e[i].len = len;
    c->n++;
}

/* The n bytes at off of block id (inflated once per call, into the arena). */
static int fetch(reader *r, sq_cread *c, lt_arena *a, int64_t id, uint64_t off, size_t n,
                 const char **out)
{
    size_t blen = 0;
    const char *b = cread_get(c, id, &blen);
    if (!b) {
        sqlite3_stmt *st = NULL;
        int rc = sq_rstmt(r, R_C_GET, &st);
        if (rc) return rc;
        sqlite3_bind_int64(st, 1, id);
        int src = sqlite3_step(st);
        if (src != SQLITE_ROW) {
            sqlite3_reset(st);
            if (src != SQLITE_DONE) return sq_err(r->db, src, "read content");
            log_error("store: content block %" PRId64 " is missing", id);
            return LT_EIO;
        }
        blen = (size_t)sqlite3_column_int64(st, 0);
        size_t dn = (size_t)sqlite3_column_bytes(st, 1);
        char *d = arena_alloc(a, blen + 1);
        if (!d)
            rc = LT_ENOMEM;
        else if (dn > blen)
            rc = LT_EIO;
        else
            rc = inflate_block(sqlite3_column_blob(st, 1), dn, d, blen);
        sqlite3_reset(st);
        if (rc == LT_EIO) log_error("store: content block %" PRId64 " does not inflate", id);
        if (rc) return rc;
        d[blen] = 0;
        cread_put(c, id, d, blen);
        b = d;
    }
    if (off > blen || n > blen - off) {
        log_error("store: a reference lies outside content block %" PRId64, id);
        return LT_EIO;
    }
    *out = b + off;
    return 0;
}

typedef struct {
    reader *r;
    sq_cread *c;
    lt_arena *a;
    const uint8_t *p, *end; /* the references not used yet */
    uint64_t left;          /* references not used yet */
    uint64_t idx, next;     /* string index of the walk; index of the next reference */
    int rc;
} restore;

static bool next_ref(restore *x)
{
    uint64_t d;
    if (!x->left) return false;
    if (!sq_get_varint(&x->p, x->end, &d)) {
        x->rc = LT_EIO;
        return false;
    }
    x->next += d;
    return true;
}

/* Rebuilds the string of the reference at x->p into *out. */
static int rebuild(restore *x, lt_str *out)
{
    uint64_t len, npieces, hdr, id;
    if (!sq_get_varint(&x->p, x->end, &len) || !sq_get_varint(&x->p, x->end, &npieces) ||
        npieces > (uint64_t)(x->end - x->p))
        return LT_EIO;
    char *d = NULL;
    size_t at = 0;
    for (uint64_t i = 0; i < npieces; i++) {
        if (!sq_get_varint(&x->p, x->end, &hdr)) return LT_EIO;
        uint64_t pl = hdr >> 1;
        if (pl > len - at) return LT_EIO;
        const char *src = NULL;
        if (hdr & 1) {
            int rc;
            uint64_t off;
            if (!sq_get_varint(&x->p, x->end, &id) || !sq_get_varint(&x->p, x->end, &off))
                return LT_EIO;
            if ((rc = fetch(x->r, x->c, x->a, (int64_t)id, off, (size_t)pl, &src))) return rc;
            if (npieces == 1) { /* the whole string: a slice of the block, no copy */
                if (pl != len) return LT_EIO;
                *out = (lt_str){src, (size_t)len};
                return 0;
            }
        } else {
            if (pl > (uint64_t)(x->end - x->p)) return LT_EIO;
            src = (const char *)x->p;
            x->p += pl;
        }
        if (!d && !(d = arena_alloc(x->a, (size_t)len + 1))) return LT_ENOMEM;
        if (pl) memcpy(d + at, src, (size_t)pl);
        at += (size_t)pl;
    }
    if (at != len) return LT_EIO;
    if (!d && !(d = arena_alloc(x->a, 1))) return LT_ENOMEM;
    d[at] = 0;
    *out = (lt_str){d, (size_t)len};
    return 0;
}

static void restore_value(restore *x, lt_value *v, int depth)
{
    if (x->rc || !x->left || depth > MODEL_MAX_DEPTH) return;
    if (v->type == LT_VAL_STRING) {
        if (x->idx++ != x->next) return;
        if ((x->rc = rebuild(x, &v->u.s))) return;
        x->left--;
        x->next++;
        if (x->left) next_ref(x);
    } else if (v->type == LT_VAL_ARRAY) {
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            restore_value(x, &v->u.arr.items[i], depth + 1);
    } else if (v->type == LT_VAL_KVLIST) {
        for (uint32_t i = 0; i < v->u.kv.n; i++)
            restore_value(x, &v->u.kv.items[i].value, depth + 1);
    }
}

static void restore_attrs(restore *x, lt_attrs *a)
{
    for (uint32_t i = 0; i < a->n; i++)
        restore_value(x, &a->items[i].value, 0);
}

/* The leading fields of a stored body: the view (19998) and the references (19999), each
 * at most once, in that order; *p and *n are left on the encoding after them. */
static int body_fields(const uint8_t **p, size_t *n, lt_str *view, lt_str *refs)
{
    static const uint8_t view_tag[3] = {0xf2, 0xe1, 0x09};
    *view = *refs = (lt_str){NULL, 0};
    for (int k = 0; k < 2; k++) {
        bool is_view = *n >= 3 && memcmp(*p, view_tag, 3) == 0 && k == 0;
        bool is_refs = *n >= 3 && memcmp(*p, ref_tag, 3) == 0;
        if (!is_view && !is_refs) break;
        const uint8_t *q = *p + 3, *end = *p + *n;
        uint64_t len;
        if (!sq_get_varint(&q, end, &len) || len > (uint64_t)(end - q)) return LT_EIO;
        lt_str *f = is_view ? view : refs;
        *f = (lt_str){(const char *)q, (size_t)len};
        *n = (size_t)(end - (q + len));
        *p = q + len;
        if (is_refs) break;
    }
    return 0;
}

int sq_body_view(const uint8_t *p, size_t n, lt_str *view)
{
    lt_str refs;
    return body_fields(&p, &n, view, &refs);
}

/* Splits a stored body into its view field, its reference record (x; empty when none) and
 * the encoding. */
static int split_body(const uint8_t **p, size_t *n, restore *x, lt_str *view)
{
    lt_str refs, v;
    x->p = x->end = NULL;
    x->left = 0;
    int rc = body_fields(p, n, &v, &refs);
    if (view) *view = v;
    if (rc || !refs.ptr) return rc;
    x->p = (const uint8_t *)refs.ptr;
    x->end = x->p + refs.len;
    if (!sq_get_varint(&x->p, x->end, &x->left)) return LT_EIO;
    x->idx = x->next = 0;
    if (x->left) next_ref(x);
    return x->rc;
}

int sq_content_decode_span(reader *r, sq_cread *c, lt_arena *a, const uint8_t *p, size_t n,
                           lt_span *out, lt_str *view)
{
    restore x = {.r = r, .c = c, .a = a};
    int rc = split_body(&p, &n, &x, view);
    if (!rc) rc = pb_decode_span(a, p, n, out);
    if (rc || !x.left) return rc;
    restore_attrs(&x, &out->attrs);
    for (uint32_t i = 0; i < out->events.n; i++)
        restore_attrs(&x, &out->events.items[i].attrs);
    for (uint32_t i = 0; i < out->links.n; i++)
        restore_attrs(&x, &out->links.items[i].attrs);
    if (!x.rc && x.left) x.rc = LT_EIO; /* a reference to no string */
    return x.rc;
}

int sq_content_decode_log(reader *r, sq_cread *c, lt_arena *a, const uint8_t *p, size_t n,
                          lt_log_record *out)
{
    restore x = {.r = r, .c = c, .a = a};
    int rc = split_body(&p, &n, &x, NULL);
    if (!rc) rc = pb_decode_log_record(a, p, n, out);
    if (rc || !x.left) return rc;
    restore_value(&x, &out->body, 0);
    restore_attrs(&x, &out->attrs);
    if (!x.rc && x.left) x.rc = LT_EIO;
    return x.rc;
}
