/* pb.c — OTLP protobuf decode and canonical encode (see pb.h).
 *
 * Implements the wire form of opentelemetry-proto v1.x: collector/{trace,logs}/v1
 * Export*ServiceRequest, trace/v1 trace.proto, logs/v1 logs.proto, common/v1 common.proto
 * and resource/v1 resource.proto. Field numbers are cited in each decoder as
 * "name=N" and the tags are built with TAG(N, wire type).
 *
 * Decoding is two passes per message that holds repeated fields: scan() walks the
 * message's own fields once (checking the framing and counting the repeated ones, without
 * looking inside them), then the fields are decoded into arrays of exactly that size taken
 * from the arena. A pass never descends, so the total work stays linear in the input and
 * nothing is copied or reallocated. Strings and bytes are slices of the input. AnyValue
 * nesting recurses, but at most MODEL_MAX_DEPTH levels deep, so hostile nesting cannot
 * exhaust the stack.
 *
 * Encoding writes each sub-message behind a one-byte length placeholder and moves the
 * body up in the rare case that its length needs more than one varint byte, so a message
 * is written in one walk of the model and the output is the minimal (canonical) form.
 * KeyValues with a scalar or string value, by far the most common sub-message, have their
 * size computed up front instead. */
#include "model/pb.h"

#include <assert.h>
#include <string.h>

#include "core/err.h"
#include "model/pb_int.h"

int pb_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    return get_varint(p, end, v);
}

/* ------------------------------------------------------------------------------------ */
/* Decoders                                                                             */
/* ------------------------------------------------------------------------------------ */

static int dec_value(dctx *c, const uint8_t *p, const uint8_t *end, lt_value *v, int depth);
static int dec_kv(dctx *c, const uint8_t *p, const uint8_t *end, lt_kv *kv, int depth);

/* One element of a repeated KeyValue field into attrs (sized by scan()). */
static inline int dec_attr(dctx *c, const uint8_t **pp, const uint8_t *end, lt_attrs *attrs,
                           uint64_t cap)
{
    const uint8_t *s, *e;
    TRY(get_len(pp, end, &s, &e));
    if (UNLIKELY(attrs->n >= cap)) return LT_EINVAL; /* cannot happen: scan() counted */
    return dec_kv(c, s, e, &attrs->items[attrs->n++], 0);
}

/* ArrayValue { values=1 repeated AnyValue } */
static int dec_array(dctx *c, const uint8_t *p, const uint8_t *end, lt_value *v, int depth)
{
    uint64_t n[3];
    TRY(scan(p, end, TAG(1, WT_LEN), 0, 0, n));
    if (n[0] > MODEL_MAX_ATTRS) return LT_ETOOBIG;
    lt_value *items;
    TRY(alloc_array(c, (void **)&items, n[0], sizeof *items));
    uint32_t i = 0;
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        if (tag == TAG(1, WT_LEN)) {
            const uint8_t *s, *e;
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(i >= n[0])) return LT_EINVAL;
            TRY(dec_value(c, s, e, &items[i++], depth + 1));
        } else {
            TRY(skip_unknown(&p, end, tag, BITS(1, 1)));
        }
    }
    v->type = LT_VAL_ARRAY;
    v->u.arr.items = items;
    v->u.arr.n = i;
    return 0;
}

/* KeyValueList { values=1 repeated KeyValue } */
static int dec_kvlist(dctx *c, const uint8_t *p, const uint8_t *end, lt_value *v, int depth)
{
    uint64_t n[3];
    TRY(scan(p, end, TAG(1, WT_LEN), 0, 0, n));
    if (n[0] > MODEL_MAX_ATTRS) return LT_ETOOBIG;
    lt_kv *items;
    TRY(alloc_array(c, (void **)&items, n[0], sizeof *items));
    uint32_t i = 0;
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        if (tag == TAG(1, WT_LEN)) {
            const uint8_t *s, *e;
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(i >= n[0])) return LT_EINVAL;
            TRY(dec_kv(c, s, e, &items[i++], depth + 1));
        } else {
            TRY(skip_unknown(&p, end, tag, BITS(1, 1)));
        }
    }
    v->type = LT_VAL_KVLIST;
    v->u.kv.items = items;
    v->u.kv.n = i;
    return 0;
}

/* AnyValue (oneof value): string_value=1 bool_value=2 int_value=3 double_value=4
 * array_value=5 kvlist_value=6 bytes_value=7; string_value_strindex=8 (profiles only) is
 * skipped. depth counts the arrays/kvlists around this value; a value at depth
 * MODEL_MAX_DEPTH may not hold another one. As for any oneof, the last member wins. */
static int dec_value(dctx *c, const uint8_t *p, const uint8_t *end, lt_value *v, int depth)
{
    v->type = LT_VAL_EMPTY;
    while (p < end) {
        uint32_t tag;
        uint64_t x;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_LEN):
            TRY(get_string(&p, end, &v->u.s));
            v->type = LT_VAL_STRING;
            break;
        case TAG(2, WT_VARINT):
            TRY(get_varint(&p, end, &x));
            v->u.b = x != 0;
            v->type = LT_VAL_BOOL;
            break;
        case TAG(3, WT_VARINT):
            TRY(get_varint(&p, end, &x));
            v->u.i = (int64_t)x;
            v->type = LT_VAL_INT;
            break;
        case TAG(4, WT_I64):
            TRY(get_fixed64(&p, end, &x));
            memcpy(&v->u.d, &x, 8);
            v->type = LT_VAL_DOUBLE;
            break;
        case TAG(5, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            if (depth >= MODEL_MAX_DEPTH) return LT_ETOOBIG;
            TRY(dec_array(c, s, e, v, depth));
            break;
        case TAG(6, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            if (depth >= MODEL_MAX_DEPTH) return LT_ETOOBIG;
            TRY(dec_kvlist(c, s, e, v, depth));
            break;
        case TAG(7, WT_LEN):
            TRY(get_bytes(&p, end, &v->u.s));
            v->type = LT_VAL_BYTES;
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 7)));
        }
    }
    return 0;
}

/* KeyValue { key=1 value=2; key_strindex=3 (profiles only) skipped } */
static int dec_kv(dctx *c, const uint8_t *p, const uint8_t *end, lt_kv *kv, int depth)
{
    kv->key = (lt_str){NULL, 0};
    kv->value.type = LT_VAL_EMPTY;
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_LEN):
            TRY(get_string(&p, end, &kv->key));
            break;
        case TAG(2, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            /* fast path: a value that is only a string_value of < 128 bytes, as most
             * attributes are */
            if (e - s >= 2 && s[0] == TAG(1, WT_LEN) && s[1] < 0x80 &&
                (size_t)(e - s) == 2u + s[1]) {
                if (UNLIKELY(!utf8_valid(s + 2, s[1]))) return LT_EINVAL;
                kv->value.type = LT_VAL_STRING;
                kv->value.u.s = (lt_str){(const char *)s + 2, s[1]};
            } else {
                TRY(dec_value(c, s, e, &kv->value, depth));
            }
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 2)));
        }
    }
    return 0;
}

/* Resource { attributes=1 dropped_attributes_count=2 entity_refs=3 (skipped) } */
static int dec_resource(dctx *c, const uint8_t *p, const uint8_t *end, lt_resource *r)
{
    uint64_t n[3];
    memset(r, 0, sizeof *r);
    TRY(scan(p, end, TAG(1, WT_LEN), 0, 0, n));
    if (n[0] > MODEL_MAX_ATTRS) return LT_ETOOBIG;
    TRY(alloc_array(c, (void **)&r->attrs.items, n[0], sizeof(lt_kv)));
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_LEN):
            TRY(dec_attr(c, &p, end, &r->attrs, n[0]));
            break;
        case TAG(2, WT_VARINT):
            TRY(get_u32(&p, end, &r->dropped_attributes_count));
            break;
        case TAG(3, WT_LEN): /* entity_refs (development): not kept */
            TRY(skip_field(&p, end, tag));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 3)));
        }
    }
    return 0;
}

/* InstrumentationScope { name=1 version=2 attributes=3 dropped_attributes_count=4 } */
static int dec_scope(dctx *c, const uint8_t *p, const uint8_t *end, lt_scope *sc)
{
    uint64_t n[3];
    memset(sc, 0, sizeof *sc);
    TRY(scan(p, end, TAG(3, WT_LEN), 0, 0, n));
    if (n[0] > MODEL_MAX_ATTRS) return LT_ETOOBIG;
    TRY(alloc_array(c, (void **)&sc->attrs.items, n[0], sizeof(lt_kv)));
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_LEN):
            TRY(get_string(&p, end, &sc->name));
            break;
        case TAG(2, WT_LEN):
            TRY(get_string(&p, end, &sc->version));
            break;
        case TAG(3, WT_LEN):
            TRY(dec_attr(c, &p, end, &sc->attrs, n[0]));
            break;
        case TAG(4, WT_VARINT):
            TRY(get_u32(&p, end, &sc->dropped_attributes_count));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 4)));
        }
    }
    return 0;
}

/* Span.Event { time_unix_nano=1 name=2 attributes=3 dropped_attributes_count=4 } */
static int dec_event(dctx *c, const uint8_t *p, const uint8_t *end, lt_event *ev)
{
    uint64_t n[3];
    memset(ev, 0, sizeof *ev);
    TRY(scan(p, end, TAG(3, WT_LEN), 0, 0, n));
    if (n[0] > MODEL_MAX_ATTRS) return LT_ETOOBIG;
    TRY(alloc_array(c, (void **)&ev->attrs.items, n[0], sizeof(lt_kv)));
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_I64):
            TRY(get_fixed64(&p, end, &ev->time_unix_nano));
            break;
        case TAG(2, WT_LEN):
            TRY(get_string(&p, end, &ev->name));
            break;
        case TAG(3, WT_LEN):
            TRY(dec_attr(c, &p, end, &ev->attrs, n[0]));
            break;
        case TAG(4, WT_VARINT):
            TRY(get_u32(&p, end, &ev->dropped_attributes_count));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 4)));
        }
    }
    return 0;
}

/* Span.Link { trace_id=1 span_id=2 trace_state=3 attributes=4 dropped_attributes_count=5
 * flags=6 (fixed32) } */
static int dec_link(dctx *c, const uint8_t *p, const uint8_t *end, lt_link *l)
{
    uint64_t n[3];
    memset(l, 0, sizeof *l);
    TRY(scan(p, end, TAG(4, WT_LEN), 0, 0, n));
    if (n[0] > MODEL_MAX_ATTRS) return LT_ETOOBIG;
    TRY(alloc_array(c, (void **)&l->attrs.items, n[0], sizeof(lt_kv)));
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_LEN):
            TRY(get_id(&p, end, l->trace_id, 16));
            break;
        case TAG(2, WT_LEN):
            TRY(get_id(&p, end, l->span_id, 8));
            break;
        case TAG(3, WT_LEN):
            TRY(get_string(&p, end, &l->trace_state));
            break;
        case TAG(4, WT_LEN):
            TRY(dec_attr(c, &p, end, &l->attrs, n[0]));
            break;
        case TAG(5, WT_VARINT):
            TRY(get_u32(&p, end, &l->dropped_attributes_count));
            break;
        case TAG(6, WT_I32):
            TRY(get_fixed32(&p, end, &l->flags));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 6)));
        }
    }
    return 0;
}

/* Status { message=2 code=3 } (1 is reserved). Fields merge into the span, as a second
 * Status message would merge into the first. */
static int dec_status(const uint8_t *p, const uint8_t *end, lt_span *s)
{
    while (p < end) {
        uint32_t tag;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(2, WT_LEN):
            TRY(get_string(&p, end, &s->status_message));
            break;
        case TAG(3, WT_VARINT):
            TRY(get_u32(&p, end, &s->status_code));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(2, 3)));
        }
    }
    return 0;
}

/* Span { trace_id=1 span_id=2 trace_state=3 parent_span_id=4 name=5 kind=6
 * start_time_unix_nano=7 end_time_unix_nano=8 attributes=9 dropped_attributes_count=10
 * events=11 dropped_events_count=12 links=13 dropped_links_count=14 status=15
 * flags=16 (fixed32) } */
static int dec_span(dctx *c, const uint8_t *p, const uint8_t *end, lt_span *sp)
{
    uint64_t n[3];
    memset(sp, 0, sizeof *sp);
    TRY(scan(p, end, TAG(9, WT_LEN), TAG(11, WT_LEN), TAG(13, WT_LEN), n));
    if (n[0] > MODEL_MAX_ATTRS) return LT_ETOOBIG;
    TRY(count_items(c, n[1] + n[2]));
    /* one arena block for all three arrays (every element size is a multiple of 8) */
    size_t sz_a = (size_t)n[0] * sizeof(lt_kv), sz_e = (size_t)n[1] * sizeof(lt_event);
    size_t sz = sz_a + sz_e + (size_t)n[2] * sizeof(lt_link);
    if (sz) {
        char *m = arena_alloc(c->a, sz);
        if (!m) return LT_ENOMEM;
        if (n[0]) sp->attrs.items = (lt_kv *)m;
        if (n[1]) sp->events.items = (lt_event *)(m + sz_a);
        if (n[2]) sp->links.items = (lt_link *)(m + sz_a + sz_e);
    }
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_LEN):
            TRY(get_id(&p, end, sp->trace_id, 16));
            break;
        case TAG(2, WT_LEN):
            TRY(get_id(&p, end, sp->span_id, 8));
            break;
        case TAG(3, WT_LEN):
            TRY(get_string(&p, end, &sp->trace_state));
            break;
        case TAG(4, WT_LEN):
            TRY(get_id(&p, end, sp->parent_span_id, 8));
            sp->has_parent = !model_id_is_zero(sp->parent_span_id, 8);
            break;
        case TAG(5, WT_LEN):
            TRY(get_string(&p, end, &sp->name));
            break;
        case TAG(6, WT_VARINT):
            TRY(get_u32(&p, end, &sp->kind));
            break;
        case TAG(7, WT_I64):
            TRY(get_fixed64(&p, end, &sp->start_time_unix_nano));
            break;
        case TAG(8, WT_I64):
            TRY(get_fixed64(&p, end, &sp->end_time_unix_nano));
            break;
        case TAG(9, WT_LEN):
            TRY(dec_attr(c, &p, end, &sp->attrs, n[0]));
            break;
        case TAG(10, WT_VARINT):
            TRY(get_u32(&p, end, &sp->dropped_attributes_count));
            break;
        case TAG(11, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(sp->events.n >= n[1])) return LT_EINVAL;
            TRY(dec_event(c, s, e, &sp->events.items[sp->events.n++]));
            break;
        case TAG(12, WT_VARINT):
            TRY(get_u32(&p, end, &sp->dropped_events_count));
            break;
        case TAG(13, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(sp->links.n >= n[2])) return LT_EINVAL;
            TRY(dec_link(c, s, e, &sp->links.items[sp->links.n++]));
            break;
        case TAG(14, WT_VARINT):
            TRY(get_u32(&p, end, &sp->dropped_links_count));
            break;
        case TAG(15, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            TRY(dec_status(s, e, sp));
            break;
        case TAG(16, WT_I32):
            TRY(get_fixed32(&p, end, &sp->flags));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 16)));
        }
    }
    return 0;
}

static const char REJECT_IDS[] = "span with invalid trace_id or span_id dropped";

/* ResourceSpans / ResourceLogs / ResourceMetrics { resource=1 scope_*=2 schema_url=3;
 * 1000 = the old instrumentation_library_*, read as scope_* }: one layout, the scope-level
 * messages decoded by dec_one into an array of scope_size elements. */
int pbi_dec_resource_group(dctx *c, const uint8_t *p, const uint8_t *end, lt_resource *resource,
                           lt_str *schema_url, void **scopes, uint32_t *n_scopes, size_t scope_size,
                           pbi_dec_fn dec_one)
{
    uint64_t n[3];
    TRY(scan(p, end, TAG(2, WT_LEN), TAG(FIELD_OLD_SCOPES, WT_LEN), 0, n));
    uint64_t ns = n[0] + n[1];
    if (ns > MODEL_MAX_ITEMS) return LT_ETOOBIG;
    TRY(alloc_array(c, scopes, ns, scope_size));
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            TRY(dec_resource(c, s, e, resource));
            break;
        case TAG(2, WT_LEN):
        case TAG(FIELD_OLD_SCOPES, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(*n_scopes >= ns)) return LT_EINVAL;
            TRY(dec_one(c, s, e, (char *)*scopes + (size_t)(*n_scopes)++ * scope_size));
            break;
        case TAG(3, WT_LEN):
            TRY(get_string(&p, end, schema_url));
            break;
        default:
            if ((tag >> 3) == FIELD_OLD_SCOPES) return LT_EINVAL;
            TRY(skip_unknown(&p, end, tag, BITS(1, 3)));
        }
    }
    return 0;
}

/* Export{Trace,Logs,Metrics}ServiceRequest { resource_*=1 } (also TracesData, LogsData,
 * MetricsData): the resource-level messages decoded by dec_group into an array. */
int pbi_dec_request(dctx *c, const uint8_t *p, size_t len, void **groups, uint32_t *n_groups,
                    size_t group_size, pbi_dec_fn dec_group)
{
    const uint8_t *end = len ? p + len : p; /* p may be NULL when len is 0 */
    uint64_t n[3];
    TRY(scan(p, end, TAG(1, WT_LEN), 0, 0, n));
    if (n[0] > MODEL_MAX_ITEMS) return LT_ETOOBIG;
    TRY(alloc_array(c, groups, n[0], group_size));
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        if (tag == TAG(1, WT_LEN)) {
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(*n_groups >= n[0])) return LT_EINVAL;
            TRY(dec_group(c, s, e, (char *)*groups + (size_t)(*n_groups)++ * group_size));
        } else {
            TRY(skip_unknown(&p, end, tag, BITS(1, 1)));
        }
    }
    return 0;
}

/* ScopeSpans { scope=1 spans=2 schema_url=3 } */
static int dec_scope_spans(dctx *c, const uint8_t *p, const uint8_t *end, void *out)
{
    lt_scope_spans *ss = out;
    uint64_t n[3];
    memset(ss, 0, sizeof *ss);
    TRY(scan(p, end, TAG(2, WT_LEN), 0, 0, n));
    TRY(count_items(c, n[0]));
    TRY(alloc_array(c, (void **)&ss->spans, n[0], sizeof(lt_span)));
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            TRY(dec_scope(c, s, e, &ss->scope));
            break;
        case TAG(2, WT_LEN): {
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(ss->n_spans >= n[0])) return LT_EINVAL;
            lt_span *sp = &ss->spans[ss->n_spans];
            TRY(dec_span(c, s, e, sp));
            /* OTLP: an all-zero trace_id or span_id is invalid; drop the span only */
            if (model_id_is_zero(sp->trace_id, 16) || model_id_is_zero(sp->span_id, 8))
                c->rejected++;
            else
                ss->n_spans++;
            break;
        }
        case TAG(3, WT_LEN):
            TRY(get_string(&p, end, &ss->schema_url));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 3)));
        }
    }
    return 0;
}

static int dec_resource_spans(dctx *c, const uint8_t *p, const uint8_t *end, void *out)
{
    lt_resource_spans *rs = out;
    memset(rs, 0, sizeof *rs);
    return pbi_dec_resource_group(c, p, end, &rs->resource, &rs->schema_url, (void **)&rs->scopes,
                                  &rs->n_scopes, sizeof *rs->scopes, dec_scope_spans);
}

int pb_decode_traces(lt_arena *a, const uint8_t *p, size_t len, lt_trace_batch *out)
{
    dctx c = {.a = a};
    memset(out, 0, sizeof *out);
    TRY(pbi_dec_request(&c, p, len, (void **)&out->rs, &out->n_rs, sizeof *out->rs,
                        dec_resource_spans));
    for (uint32_t i = 0; i < out->n_rs; i++)
        for (uint32_t k = 0; k < out->rs[i].n_scopes; k++)
            out->n_spans += out->rs[i].scopes[k].n_spans;
    out->rejected = c.rejected;
    if (c.rejected) out->reject_reason = (lt_str){REJECT_IDS, sizeof REJECT_IDS - 1};
    return 0;
}

/* LogRecord { time_unix_nano=1 severity_number=2 severity_text=3 (4 reserved) body=5
 * attributes=6 dropped_attributes_count=7 flags=8 (fixed32) trace_id=9 span_id=10
 * observed_time_unix_nano=11 event_name=12 } */
static int dec_log_record(dctx *c, const uint8_t *p, const uint8_t *end, lt_log_record *r)
{
    uint64_t n[3];
    memset(r, 0, sizeof *r);
    TRY(scan(p, end, TAG(6, WT_LEN), 0, 0, n));
    if (n[0] > MODEL_MAX_ATTRS) return LT_ETOOBIG;
    TRY(alloc_array(c, (void **)&r->attrs.items, n[0], sizeof(lt_kv)));
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_I64):
            TRY(get_fixed64(&p, end, &r->time_unix_nano));
            break;
        case TAG(2, WT_VARINT):
            TRY(get_u32(&p, end, &r->severity_number));
            break;
        case TAG(3, WT_LEN):
            TRY(get_string(&p, end, &r->severity_text));
            break;
        case TAG(5, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            TRY(dec_value(c, s, e, &r->body, 0));
            break;
        case TAG(6, WT_LEN):
            TRY(dec_attr(c, &p, end, &r->attrs, n[0]));
            break;
        case TAG(7, WT_VARINT):
            TRY(get_u32(&p, end, &r->dropped_attributes_count));
            break;
        case TAG(8, WT_I32):
            TRY(get_fixed32(&p, end, &r->flags));
            break;
        case TAG(9, WT_LEN):
            TRY(get_id(&p, end, r->trace_id, 16));
            break;
        case TAG(10, WT_LEN):
            TRY(get_id(&p, end, r->span_id, 8));
            break;
        case TAG(11, WT_I64):
            TRY(get_fixed64(&p, end, &r->observed_time_unix_nano));
            break;
        case TAG(12, WT_LEN):
            TRY(get_string(&p, end, &r->event_name));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 3) | BITS(5, 12)));
        }
    }
    return 0;
}

/* ScopeLogs { scope=1 log_records=2 schema_url=3 } */
static int dec_scope_logs(dctx *c, const uint8_t *p, const uint8_t *end, void *out)
{
    lt_scope_logs *sl = out;
    uint64_t n[3];
    memset(sl, 0, sizeof *sl);
    TRY(scan(p, end, TAG(2, WT_LEN), 0, 0, n));
    TRY(count_items(c, n[0]));
    TRY(alloc_array(c, (void **)&sl->records, n[0], sizeof(lt_log_record)));
    while (p < end) {
        uint32_t tag;
        const uint8_t *s, *e;
        TRY(get_tag(&p, end, &tag));
        switch (tag) {
        case TAG(1, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            TRY(dec_scope(c, s, e, &sl->scope));
            break;
        case TAG(2, WT_LEN):
            TRY(get_len(&p, end, &s, &e));
            if (UNLIKELY(sl->n_records >= n[0])) return LT_EINVAL;
            TRY(dec_log_record(c, s, e, &sl->records[sl->n_records++]));
            break;
        case TAG(3, WT_LEN):
            TRY(get_string(&p, end, &sl->schema_url));
            break;
        default:
            TRY(skip_unknown(&p, end, tag, BITS(1, 3)));
        }
    }
    return 0;
}

static int dec_resource_logs(dctx *c, const uint8_t *p, const uint8_t *end, void *out)
{
    lt_resource_logs *rl = out;
    memset(rl, 0, sizeof *rl);
    return pbi_dec_resource_group(c, p, end, &rl->resource, &rl->schema_url, (void **)&rl->scopes,
                                  &rl->n_scopes, sizeof *rl->scopes, dec_scope_logs);
}

int pb_decode_logs(lt_arena *a, const uint8_t *p, size_t len, lt_log_batch *out)
{
    dctx c = {.a = a};
    memset(out, 0, sizeof *out);
    TRY(pbi_dec_request(&c, p, len, (void **)&out->rl, &out->n_rl, sizeof *out->rl,
                        dec_resource_logs));
    for (uint32_t i = 0; i < out->n_rl; i++)
        for (uint32_t k = 0; k < out->rl[i].n_scopes; k++)
            out->n_records += out->rl[i].scopes[k].n_records;
    return 0;
}

int pb_decode_span(lt_arena *a, const uint8_t *p, size_t n, lt_span *out)
{
    dctx c = {.a = a};
    return dec_span(&c, p, n ? p + n : p, out);
}

int pb_decode_resource(lt_arena *a, const uint8_t *p, size_t n, lt_resource *out)
{
    dctx c = {.a = a};
    return dec_resource(&c, p, n ? p + n : p, out);
}

int pb_decode_scope(lt_arena *a, const uint8_t *p, size_t n, lt_scope *out)
{
    dctx c = {.a = a};
    return dec_scope(&c, p, n ? p + n : p, out);
}

int pb_decode_log_record(lt_arena *a, const uint8_t *p, size_t n, lt_log_record *out)
{
    dctx c = {.a = a};
    return dec_log_record(&c, p, n ? p + n : p, out);
}

int pbi_dec_attr(dctx *c, const uint8_t **pp, const uint8_t *end, lt_attrs *attrs, uint64_t cap)
{
    return dec_attr(c, pp, end, attrs, cap);
}

int pbi_dec_resource(dctx *c, const uint8_t *p, const uint8_t *end, lt_resource *r)
{
    return dec_resource(c, p, end, r);
}

int pbi_dec_scope(dctx *c, const uint8_t *p, const uint8_t *end, lt_scope *s)
{
    return dec_scope(c, p, end, s);
}

/* ------------------------------------------------------------------------------------ */
/* Encoders                                                                             */
/* ------------------------------------------------------------------------------------ */

static void enc_kv_body(lt_buf *b, const lt_kv *kv);

/* The body of an AnyValue. A oneof member is written even at its default value (an int
 * 0 is not an empty value); EMPTY (or an unknown type) writes nothing. */
static void enc_value_body(lt_buf *b, const lt_value *v)
{
    size_t m, m2;
    uint64_t bits;
    switch (v->type) {
    case LT_VAL_STRING:
        put_bytes_field(b, TAG(1, WT_LEN), v->u.s.ptr, v->u.s.len);
        break;
    case LT_VAL_BOOL:
        put_varint_field(b, TAG(2, WT_VARINT), v->u.b ? 1 : 0);
        break;
    case LT_VAL_INT:
        put_varint_field(b, TAG(3, WT_VARINT), (uint64_t)v->u.i);
        break;
    case LT_VAL_DOUBLE:
        memcpy(&bits, &v->u.d, 8);
        put_fixed64_field(b, TAG(4, WT_I64), bits);
        break;
    case LT_VAL_ARRAY:
        m = msg_begin(b, TAG(5, WT_LEN));
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            m2 = msg_begin(b, TAG(1, WT_LEN));
            enc_value_body(b, &v->u.arr.items[i]);
            msg_end(b, m2);
        }
        msg_end(b, m);
        break;
    case LT_VAL_KVLIST:
        m = msg_begin(b, TAG(6, WT_LEN));
        for (uint32_t i = 0; i < v->u.kv.n; i++) {
            m2 = msg_begin(b, TAG(1, WT_LEN));
            enc_kv_body(b, &v->u.kv.items[i]);
            msg_end(b, m2);
        }
        msg_end(b, m);
        break;
    case LT_VAL_BYTES:
        put_bytes_field(b, TAG(7, WT_LEN), v->u.s.ptr, v->u.s.len);
        break;
    default:
        break;
    }
}

/* Size of an AnyValue body whose size is known without walking children; 0 with
 * *ok = false for arrays and kvlists. */
static inline size_t scalar_value_size(const lt_value *v, bool *ok)
{
    *ok = true;
    switch (v->type) {
    case LT_VAL_STRING:
    case LT_VAL_BYTES:
        return 1 + varint_size(v->u.s.len) + v->u.s.len;
    case LT_VAL_BOOL:
        return 2;
    case LT_VAL_INT:
        return 1 + varint_size((uint64_t)v->u.i);
    case LT_VAL_DOUBLE:
        return 9;
    case LT_VAL_ARRAY:
    case LT_VAL_KVLIST:
        *ok = false;
        return 0;
    default:
        return 0;
    }
}

/* KeyValue { key=1 value=2 }; an EMPTY value is the default and is omitted. */
static void enc_kv_body(lt_buf *b, const lt_kv *kv)
{
    opt_str(b, TAG(1, WT_LEN), kv->key);
    if (kv->value.type == LT_VAL_EMPTY) return;
    bool ok;
    size_t vs = scalar_value_size(&kv->value, &ok);
    if (ok) {
        if (!room(b, 1 + 10)) return;
        uint8_t *q = wpos(b);
        *q++ = TAG(2, WT_LEN);
        q = wr_varint(q, vs);
        b->len = (size_t)(q - (uint8_t *)b->data);
        enc_value_body(b, &kv->value);
    } else {
        size_t m = msg_begin(b, TAG(2, WT_LEN));
        enc_value_body(b, &kv->value);
        msg_end(b, m);
    }
}

/* A repeated KeyValue field. Scalar-valued pairs get their length up front. */
static void enc_attrs(lt_buf *b, uint32_t tag, const lt_attrs *a)
{
    for (uint32_t i = 0; i < a->n; i++) {
        const lt_kv *kv = &a->items[i];
        bool ok;
        size_t vs = scalar_value_size(&kv->value, &ok);
        if (ok) {
            size_t ks = kv->key.len ? 1 + varint_size(kv->key.len) + kv->key.len : 0;
            size_t body = ks + (kv->value.type == LT_VAL_EMPTY ? 0 : 1 + varint_size(vs) + vs);
            if (!room(b, 15)) return;
            uint8_t *q = wr_varint(wr_varint(wpos(b), tag), body);
            b->len = (size_t)(q - (uint8_t *)b->data);
            enc_kv_body(b, kv);
        } else {
            size_t m = msg_begin(b, tag);
            enc_kv_body(b, kv);
            msg_end(b, m);
        }
    }
}

/* Resource { attributes=1 dropped_attributes_count=2 } */
static void enc_resource_body(lt_buf *b, const lt_resource *r)
{
    enc_attrs(b, TAG(1, WT_LEN), &r->attrs);
    opt_varint(b, TAG(2, WT_VARINT), r->dropped_attributes_count);
}

/* InstrumentationScope { name=1 version=2 attributes=3 dropped_attributes_count=4 } */
static void enc_scope_body(lt_buf *b, const lt_scope *s)
{
    opt_str(b, TAG(1, WT_LEN), s->name);
    opt_str(b, TAG(2, WT_LEN), s->version);
    enc_attrs(b, TAG(3, WT_LEN), &s->attrs);
    opt_varint(b, TAG(4, WT_VARINT), s->dropped_attributes_count);
}

void pbi_enc_attrs(lt_buf *b, uint32_t tag, const lt_attrs *a)
{
    enc_attrs(b, tag, a);
}

void pbi_enc_resource(lt_buf *b, uint32_t tag, const lt_resource *r)
{
    if (r->attrs.n == 0 && r->dropped_attributes_count == 0) return;
    size_t m = msg_begin(b, tag);
    enc_resource_body(b, r);
    msg_end(b, m);
}

void pbi_enc_scope(lt_buf *b, uint32_t tag, const lt_scope *s)
{
    if (s->name.len == 0 && s->version.len == 0 && s->attrs.n == 0 &&
        s->dropped_attributes_count == 0)
        return;
    size_t m = msg_begin(b, tag);
    enc_scope_body(b, s);
    msg_end(b, m);
}

/* Span (field numbers at dec_span) */
static void enc_span_body(lt_buf *b, const lt_span *s)
{
    size_t m;
    opt_id(b, TAG(1, WT_LEN), s->trace_id, 16);
    opt_id(b, TAG(2, WT_LEN), s->span_id, 8);
    opt_str(b, TAG(3, WT_LEN), s->trace_state);
    if (s->has_parent) put_bytes_field(b, TAG(4, WT_LEN), s->parent_span_id, 8);
    opt_str(b, TAG(5, WT_LEN), s->name);
    opt_varint(b, TAG(6, WT_VARINT), s->kind);
    opt_fixed64(b, TAG(7, WT_I64), s->start_time_unix_nano);
    opt_fixed64(b, TAG(8, WT_I64), s->end_time_unix_nano);
    enc_attrs(b, TAG(9, WT_LEN), &s->attrs);
    opt_varint(b, TAG(10, WT_VARINT), s->dropped_attributes_count);
    for (uint32_t i = 0; i < s->events.n; i++) {
        const lt_event *ev = &s->events.items[i];
        m = msg_begin(b, TAG(11, WT_LEN));
        opt_fixed64(b, TAG(1, WT_I64), ev->time_unix_nano);
        opt_str(b, TAG(2, WT_LEN), ev->name);
        enc_attrs(b, TAG(3, WT_LEN), &ev->attrs);
        opt_varint(b, TAG(4, WT_VARINT), ev->dropped_attributes_count);
        msg_end(b, m);
    }
    opt_varint(b, TAG(12, WT_VARINT), s->dropped_events_count);
    for (uint32_t i = 0; i < s->links.n; i++) {
        const lt_link *l = &s->links.items[i];
        m = msg_begin(b, TAG(13, WT_LEN));
        opt_id(b, TAG(1, WT_LEN), l->trace_id, 16);
        opt_id(b, TAG(2, WT_LEN), l->span_id, 8);
        opt_str(b, TAG(3, WT_LEN), l->trace_state);
        enc_attrs(b, TAG(4, WT_LEN), &l->attrs);
        opt_varint(b, TAG(5, WT_VARINT), l->dropped_attributes_count);
        opt_fixed32(b, TAG(6, WT_I32), l->flags);
        msg_end(b, m);
    }
    opt_varint(b, TAG(14, WT_VARINT), s->dropped_links_count);
    if (s->status_message.len || s->status_code) {
        m = msg_begin(b, TAG(15, WT_LEN));
        opt_str(b, TAG(2, WT_LEN), s->status_message);
        opt_varint(b, TAG(3, WT_VARINT), s->status_code);
        msg_end(b, m);
    }
    opt_fixed32(b, TAG(16, WT_I32), s->flags);
}

/* LogRecord (field numbers at dec_log_record) */
static void enc_log_record_body(lt_buf *b, const lt_log_record *r)
{
    opt_fixed64(b, TAG(1, WT_I64), r->time_unix_nano);
    opt_varint(b, TAG(2, WT_VARINT), r->severity_number);
    opt_str(b, TAG(3, WT_LEN), r->severity_text);
    if (r->body.type != LT_VAL_EMPTY) {
        size_t m = msg_begin(b, TAG(5, WT_LEN));
        enc_value_body(b, &r->body);
        msg_end(b, m);
    }
    enc_attrs(b, TAG(6, WT_LEN), &r->attrs);
    opt_varint(b, TAG(7, WT_VARINT), r->dropped_attributes_count);
    opt_fixed32(b, TAG(8, WT_I32), r->flags);
    opt_id(b, TAG(9, WT_LEN), r->trace_id, 16);
    opt_id(b, TAG(10, WT_LEN), r->span_id, 8);
    opt_fixed64(b, TAG(11, WT_I64), r->observed_time_unix_nano);
    opt_str(b, TAG(12, WT_LEN), r->event_name);
}

/* Common tail of every public encoder: NUL-terminate, or undo on failure. */
static int enc_finish(lt_buf *b, size_t start)
{
    if (b->oom) {
        if (b->data && start <= b->len) {
            b->len = start;
            b->data[start] = 0;
        }
        return LT_ENOMEM;
    }
    if (b->data) b->data[b->len] = 0;
    return 0;
}

int pbi_enc_finish(lt_buf *b, size_t start)
{
    return enc_finish(b, start);
}

int pb_encode_traces(lt_buf *out, const lt_trace_batch *tb)
{
    size_t start = out->len;
    if (out->oom) return LT_ENOMEM;
    for (uint32_t i = 0; i < tb->n_rs; i++) {
        const lt_resource_spans *rs = &tb->rs[i];
        size_t m = msg_begin(out, TAG(1, WT_LEN));
        pbi_enc_resource(out, TAG(1, WT_LEN), &rs->resource);
        for (uint32_t j = 0; j < rs->n_scopes; j++) {
            const lt_scope_spans *ss = &rs->scopes[j];
            size_t ms = msg_begin(out, TAG(2, WT_LEN));
            pbi_enc_scope(out, TAG(1, WT_LEN), &ss->scope);
            for (uint32_t k = 0; k < ss->n_spans; k++) {
                size_t mp = msg_begin(out, TAG(2, WT_LEN));
                enc_span_body(out, &ss->spans[k]);
                msg_end(out, mp);
            }
            opt_str(out, TAG(3, WT_LEN), ss->schema_url);
            msg_end(out, ms);
        }
        opt_str(out, TAG(3, WT_LEN), rs->schema_url);
        msg_end(out, m);
    }
    return enc_finish(out, start);
}

int pb_encode_logs(lt_buf *out, const lt_log_batch *lb)
{
    size_t start = out->len;
    if (out->oom) return LT_ENOMEM;
    for (uint32_t i = 0; i < lb->n_rl; i++) {
        const lt_resource_logs *rl = &lb->rl[i];
        size_t m = msg_begin(out, TAG(1, WT_LEN));
        pbi_enc_resource(out, TAG(1, WT_LEN), &rl->resource);
        for (uint32_t j = 0; j < rl->n_scopes; j++) {
            const lt_scope_logs *sl = &rl->scopes[j];
            size_t ms = msg_begin(out, TAG(2, WT_LEN));
            pbi_enc_scope(out, TAG(1, WT_LEN), &sl->scope);
            for (uint32_t k = 0; k < sl->n_records; k++) {
                size_t mp = msg_begin(out, TAG(2, WT_LEN));
                enc_log_record_body(out, &sl->records[k]);
                msg_end(out, mp);
            }
            opt_str(out, TAG(3, WT_LEN), sl->schema_url);
            msg_end(out, ms);
        }
        opt_str(out, TAG(3, WT_LEN), rl->schema_url);
        msg_end(out, m);
    }
    return enc_finish(out, start);
}

int pb_encode_span(lt_buf *out, const lt_span *s)
{
    size_t start = out->len;
    if (out->oom) return LT_ENOMEM;
    enc_span_body(out, s);
    return enc_finish(out, start);
}

int pb_encode_resource(lt_buf *out, const lt_resource *r)
{
    size_t start = out->len;
    if (out->oom) return LT_ENOMEM;
    enc_resource_body(out, r);
    return enc_finish(out, start);
}

int pb_encode_scope(lt_buf *out, const lt_scope *s)
{
    size_t start = out->len;
    if (out->oom) return LT_ENOMEM;
    enc_scope_body(out, s);
    return enc_finish(out, start);
}

int pb_encode_log_record(lt_buf *out, const lt_log_record *r)
{
    size_t start = out->len;
    if (out->oom) return LT_ENOMEM;
    enc_log_record_body(out, r);
    return enc_finish(out, start);
}

/* Export{Trace,Logs,Metrics}ServiceResponse { partial_success=1 {
 *     rejected_spans / rejected_log_records / rejected_data_points=1 (int64)
 *     error_message=2 } } */
int pb_encode_export_response(lt_buf *out, uint64_t rejected, lt_str msg)
{
    size_t start = out->len;
    if (out->oom) return LT_ENOMEM;
    if (rejected == 0 && msg.len == 0) return enc_finish(out, start);
    size_t m = msg_begin(out, TAG(1, WT_LEN));
    opt_varint(out, TAG(1, WT_VARINT), rejected);
    opt_str(out, TAG(2, WT_LEN), msg);
    msg_end(out, m);
    return enc_finish(out, start);
}

/* google.rpc.Status { code=1 (int32) message=2 details=3 (not written) } */
int pb_encode_status(lt_buf *out, int32_t code, lt_str msg)
{
    size_t start = out->len;
    if (out->oom) return LT_ENOMEM;
    /* int32: a negative value is sign-extended to ten bytes, as protobuf does */
    opt_varint(out, TAG(1, WT_VARINT), (uint64_t)(int64_t)code);
    opt_str(out, TAG(2, WT_LEN), msg);
    return enc_finish(out, start);
}

int pb_put_varint(lt_buf *out, uint64_t v)
{
    size_t start = out->len;
    if (out->oom) return LT_ENOMEM;
    if (room(out, 10)) out->len = (size_t)(wr_varint(wpos(out), v) - (uint8_t *)out->data);
    return enc_finish(out, start);
}
