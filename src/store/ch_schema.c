/* ch_schema.c — the ClickHouse schema (see ch_int.h).
 *
 * Written for the oldest ClickHouse in use (Debian's 18.16) and current ones alike: no Map,
 * no DateTime64, no LowCardinality, no codecs; UInt64 nanoseconds, parallel key/value arrays.
 *
 * - spans: one immutable row per span. Typed columns for what lists, filters and aggregates
 *   read (times, ids, names, status, service, the GenAI view's dimensions, tokens, cost,
 *   TTFT); attributes as parallel key/type/value arrays; the rest of the span (events, links,
 *   status message, flags, attributes that are arrays or maps) in body, protobuf; strings of
 *   CH_CONTENT_MIN bytes or more only as a hash into content. Ordered by (hour of start,
 *   trace id): time ranges and a trace's hours are pruned by the primary key.
 * - logs: one row per log record, body protobuf, ordered by trace id.
 * - content, resources, scopes: deduplicated by hash (ReplacingMergeTree by hash; readers
 *   take one row per hash, so an unmerged duplicate never shows); list and aggregate queries
 *   never read them.
 * - traces: partial trace summaries, one per trace per insert, written by a materialized view
 *   of spans; a read sums a trace's parts (GROUP BY trace id).
 * - trace_index: the trace id lookup table (a materialized view too): a trace's first and
 *   last span start, ordered by trace id, so reading a trace by id reads only its hours.
 * - operations: the distinct (service, span name, kind), from a materialized view.
 *
 * Every table is partitioned by arrival day (seq is the arrival time in ns): retention drops
 * whole days, and a day holds every content, resource and scope row its spans reference. */
#include <stdio.h>

#include "store/ch_int.h"

typedef struct {
    const char *name;
    const char *columns;
    const char *seq; /* the arrival time column the day partitions come from */
    bool replacing;
    const char *order_by;
    const char *shard_key; /* Distributed sharding key (cluster) */
} table_def;

static const table_def tables[] = {
    {"spans",
     "seq UInt64, start_ns UInt64, end_ns UInt64, trace_id FixedString(16), span_id "
     "FixedString(8), parent_span_id FixedString(8), has_parent UInt8, name String, kind UInt32, "
     "status_code UInt32, service String, resource FixedString(16), scope FixedString(16), "
     "attr_keys Array(String), attr_types Array(UInt8), attr_values Array(String), has_view "
     "UInt8, operation String, provider String, request_model String, response_model String, "
     "agent String, user String, conversation String, error UInt8, input_tokens Int64, "
     "output_tokens Int64, cache_read_tokens Int64, cache_creation_tokens Int64, "
     "reasoning_tokens Int64, facts UInt8, cost Float64, ttft Float64, view String, body "
     "String, text String, content Array(FixedString(16))",
     "seq", false, "(intDiv(start_ns, 3600000000000), trace_id, span_id)", "cityHash64(trace_id)"},
    {"logs",
     "seq UInt64, time_ns UInt64, trace_id FixedString(16), span_id FixedString(8), service "
     "String, resource FixedString(16), scope FixedString(16), body String, text String, content "
     "Array(FixedString(16))",
     "seq", false, "(trace_id, seq)", "cityHash64(trace_id)"},
    {"content", "seq UInt64, hash FixedString(16), text String", "seq", true, "hash",
     "cityHash64(hash)"},
    {"resources",
     "seq UInt64, hash FixedString(16), service String, attr_keys Array(String), attr_values "
     "Array(String), body String",
     "seq", true, "hash", "cityHash64(hash)"},
    {"scopes", "seq UInt64, hash FixedString(16), body String", "seq", true, "hash",
     "cityHash64(hash)"},
    {"traces",
     "last_seq UInt64, trace_id FixedString(16), start_min UInt64, end_max UInt64, spans UInt64, "
     "errors UInt64, has_root UInt8, root_seq UInt64, root_name String, root_service String, "
     "services Array(String), llm_calls UInt64, in_tokens UInt64, out_tokens UInt64, cost_sum "
     "Float64",
     "last_seq", false, "(intDiv(start_min, 3600000000000), trace_id)", "cityHash64(trace_id)"},
    {"trace_index", "seq UInt64, trace_id FixedString(16), first_ns UInt64, last_ns UInt64", "seq",
     false, "trace_id", "cityHash64(trace_id)"},
    {"operations", "seq UInt64, service String, name String, kind UInt32", "seq", true,
     "(service, name, kind)", "cityHash64(service)"},
};

/* The materialized views: target table, then the SELECT over spans. */
static const struct {
    const char *target;
    const char *select;
} views[] = {
    {"traces",
     "SELECT max(seq) AS last_seq, trace_id, min(start_ns) AS start_min, max(end_ns) AS end_max, "
     "count() AS spans, toUInt64(sum(status_code = 2)) AS errors, toUInt8(max(has_parent = 0)) "
     "AS has_root, minIf(seq, has_parent = 0) AS root_seq, argMinIf(name, seq, has_parent = 0) "
     "AS root_name, argMinIf(service, seq, has_parent = 0) AS root_service, "
     "groupUniqArray(service) AS services, toUInt64(sum(bitAnd(facts, 3) != 0)) AS llm_calls, "
     "toUInt64(sumIf(input_tokens, bitAnd(facts, 1) != 0 AND input_tokens > 0)) AS in_tokens, "
     "toUInt64(sumIf(output_tokens, bitAnd(facts, 2) != 0 AND output_tokens > 0)) AS out_tokens, "
     "sumIf(cost, bitAnd(facts, 32) != 0) AS cost_sum FROM %s GROUP BY trace_id"},
    {"trace_index", "SELECT max(seq) AS seq, trace_id, min(start_ns) AS first_ns, max(start_ns) AS "
                    "last_ns FROM %s GROUP BY trace_id"},
    {"operations",
     "SELECT max(seq) AS seq, service, name, kind FROM %s GROUP BY service, name, kind"},
};

const char *ch_table_name(size_t i)
{
    return i < sizeof tables / sizeof *tables ? tables[i].name : NULL;
}

void ch_schema_ddl(lt_buf *out, const char *db, const char *cluster, uint64_t ttl_ns)
{
    char on[300] = "";
    if (cluster) snprintf(on, sizeof on, " ON CLUSTER %s", cluster);
    buf_printf(out, "CREATE DATABASE IF NOT EXISTS %s%s", db, on);
    const char *suffix = cluster ? "_local" : "";
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        const table_def *t = &tables[i];
        buf_printf(out, ";\n\nCREATE TABLE IF NOT EXISTS %s.%s%s%s (%s)\nENGINE = ", db, t->name,
                   suffix, on, t->columns);
        if (cluster)
            buf_printf(out,
                       "Replicated%sMergeTree('/clickhouse/tables/{shard}/%s/%s', '{replica}')",
                       t->replacing ? "Replacing" : "", db, t->name);
        else
            buf_printf(out, "%sMergeTree", t->replacing ? "Replacing" : "");
        buf_printf(out,
                   "\nPARTITION BY toYYYYMMDD(toDateTime(intDiv(%s, 1000000000)))\nORDER BY %s",
                   t->seq, t->order_by);
        if (ttl_ns)
            buf_printf(out, "\nTTL toDateTime(intDiv(%s, 1000000000)) + INTERVAL %llu SECOND",
                       t->seq, (unsigned long long)(ttl_ns / 1000000000ull));
        if (cluster)
            buf_printf(out,
                       ";\n\nCREATE TABLE IF NOT EXISTS %s.%s%s AS %s.%s_local\nENGINE = "
                       "Distributed(%s, %s, %s_local, %s)",
                       db, t->name, on, db, t->name, cluster, db, t->name, t->shard_key);
    }
    /* each view reads the local spans table (on a cluster, the shard's own rows: a trace's
     * spans all live on the shard its id hashes to) and writes the local target */
    for (size_t i = 0; i < sizeof views / sizeof *views; i++) {
        char src[300];
        snprintf(src, sizeof src, "%s.spans%s", db, suffix);
        buf_printf(out, ";\n\nCREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s_mv%s TO %s.%s%s AS ", db,
                   views[i].target, on, db, views[i].target, suffix);
        buf_printf(out, views[i].select, src);
    }
}
