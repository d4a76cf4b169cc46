/* components.c — the component registry (components.h): one table per component type.
 *
 * Option names and meanings follow the OpenTelemetry Collector's documentation for each
 * component (collector core and collector-contrib), limited to what the issue asks
 * llmtrace to implement. `llmtrace` is our own storage exporter. */
#include "pipeline/components.h"

#include "pipeline/redact.h"
#include "pipeline/spanmetrics.h"

#include <string.h>

#define ALL_SIGNALS (SIG_TRACES | SIG_METRICS | SIG_LOGS)

/* ---- receivers ---------------------------------------------------------------------- */

static const cfg_option otlp_receiver_opts[] = {
    {"protocols", CFG_OPT_MAP, "grpc and/or http, each with its endpoint"},
    {0},
};
static const cfg_option otlp_protocols_opts[] = {
    {"grpc", CFG_OPT_MAP, "OTLP/gRPC server (default endpoint 127.0.0.1:4317)"},
    {"http", CFG_OPT_MAP, "OTLP/HTTP server (default endpoint 127.0.0.1:4318)"},
    {0},
};
static const cfg_option otlp_server_opts[] = {
    {"endpoint", CFG_OPT_STRING, "HOST:PORT to listen on"},
    {0},
};
static const component_sub otlp_receiver_subs[] = {
    {"protocols", otlp_protocols_opts},
    {"protocols.grpc", otlp_server_opts},
    {"protocols.http", otlp_server_opts},
    {0},
};

/* ---- processors --------------------------------------------------------------------- */

static const cfg_option transform_opts[] = {
    {"error_mode", CFG_OPT_STRING, "ignore, silent or propagate"},
    {"trace_statements", CFG_OPT_LIST, "OTTL statements on resource, scope, span, spanevent"},
    {"log_statements", CFG_OPT_LIST, "OTTL statements on resource, scope, log"},
    {0},
};

static const cfg_option tail_sampling_opts[] = {
    {"decision_wait", CFG_OPT_DURATION, "time from a trace's first span to its decision (30s)"},
    {"num_traces", CFG_OPT_INT, "traces held in memory awaiting a decision (50000)"},
    {"expected_new_traces_per_sec", CFG_OPT_INT, "sizing hint for the trace table"},
    {"decision_cache", CFG_OPT_MAP, "decisions remembered for late spans"},
    {"policies", CFG_OPT_LIST, "the sampling policies, any of which keeps a trace"},
    {0},
};
static const cfg_option decision_cache_opts[] = {
    {"sampled_cache_size", CFG_OPT_INT, "trace ids remembered as kept"},
    {"non_sampled_cache_size", CFG_OPT_INT, "trace ids remembered as dropped"},
    {0},
};
static const component_sub tail_sampling_subs[] = {
    {"decision_cache", decision_cache_opts},
    {0},
};

static const cfg_option probabilistic_sampler_opts[] = {
    {"sampling_percentage", CFG_OPT_DOUBLE, "percentage of traces kept (0-100)"},
    {"hash_seed", CFG_OPT_INT, "seed of the trace id hash; equal on every instance"},
    {0},
};

static const cfg_option filter_opts[] = {
    {"error_mode", CFG_OPT_STRING, "ignore, silent or propagate"},
    {"traces", CFG_OPT_MAP, "span / spanevent: OTTL conditions that drop"},
    {"logs", CFG_OPT_MAP, "log_record: OTTL conditions that drop"},
    {0},
};
static const cfg_option filter_traces_opts[] = {
    {"span", CFG_OPT_LIST, "conditions: a matching span is dropped"},
    {"spanevent", CFG_OPT_LIST, "conditions: a matching span event is dropped"},
    {0},
};
static const cfg_option filter_logs_opts[] = {
    {"log_record", CFG_OPT_LIST, "conditions: a matching log record is dropped"},
    {0},
};
static const component_sub filter_subs[] = {
    {"traces", filter_traces_opts},
    {"logs", filter_logs_opts},
    {0},
};

static const cfg_option attributes_opts[] = {
    {"actions", CFG_OPT_LIST, "insert, update, upsert, delete, hash, extract, convert"},
    {"include", CFG_OPT_MAP, "only spans / logs matching this"},
    {"exclude", CFG_OPT_MAP, "not spans / logs matching this"},
    {0},
};
/* The collector's match properties, those llmtrace implements (attributes.h). */
static const cfg_option attributes_match_opts[] = {
    {"match_type", CFG_OPT_STRING, "strict or regexp"},
    {"services", CFG_OPT_LIST, "service.name of the span's resource"},
    {"span_names", CFG_OPT_LIST, "span names"},
    {"span_kinds", CFG_OPT_LIST, "SPAN_KIND_SERVER, SPAN_KIND_CLIENT, ..."},
    {"attributes", CFG_OPT_LIST, "[{key, value}] the item's attributes, all of them"},
    {"resources", CFG_OPT_LIST, "[{key, value}] the resource's attributes, all of them"},
    {"libraries", CFG_OPT_LIST, "[{name, version}] the instrumentation scope"},
    {"log_bodies", CFG_OPT_LIST, "log record bodies (strings)"},
    {"log_severity_texts", CFG_OPT_LIST, "log record severity texts"},
    {0},
};
static const component_sub attributes_subs[] = {
    {"include", attributes_match_opts},
    {"exclude", attributes_match_opts},
    {0},
};

static const cfg_option batch_opts[] = {
    {"timeout", CFG_OPT_DURATION, "send a batch after this long (200ms)"},
    {"send_batch_size", CFG_OPT_INT, "send once this many items are waiting (8192)"},
    {"send_batch_max_size", CFG_OPT_INT, "upper bound of a batch (0: none)"},
    {0},
};

static const cfg_option memory_limiter_opts[] = {
    {"check_interval", CFG_OPT_DURATION, "how often memory is measured"},
    {"limit_mib", CFG_OPT_INT, "hard limit in MiB"},
    {"spike_limit_mib", CFG_OPT_INT, "headroom below the hard limit in MiB"},
    {"limit_percentage", CFG_OPT_INT, "hard limit as a percentage of total memory"},
    {"spike_limit_percentage", CFG_OPT_INT, "headroom as a percentage of total memory"},
    {0},
};

/* ---- connectors --------------------------------------------------------------------- */

/* spanmetrics and redaction check their own options (their tables are in their headers) */

/* ---- exporters ---------------------------------------------------------------------- */

/* export/ implements these (docs/exporters.md). Remote write is always snappy, so
 * prometheusremotewrite has no compression option. */
#define EXPORTER_CONN_OPTS                                                                         \
    {"tls", CFG_OPT_MAP, "insecure, insecure_skip_verify, ca_file, cert_file, key_file"},          \
        {"headers", CFG_OPT_MAP, "extra request headers"},                                         \
        {"timeout", CFG_OPT_DURATION, "per request (5s)"},                                         \
    {                                                                                              \
        "retry_on_failure", CFG_OPT_MAP, "enabled, initial_interval, max_interval, ..."            \
    }
#define EXPORTER_CLIENT_OPTS {"endpoint", CFG_OPT_STRING, "where to send"}, EXPORTER_CONN_OPTS

static const cfg_option otlp_exporter_opts[] = {
    EXPORTER_CLIENT_OPTS,
    {"compression", CFG_OPT_STRING, "gzip (the default) or none"},
    {"sending_queue", CFG_OPT_MAP, "enabled, num_consumers, queue_size, directory"},
    {0},
};
static const cfg_option otlphttp_exporter_opts[] = {
    EXPORTER_CLIENT_OPTS,
    {"compression", CFG_OPT_STRING, "gzip (the default) or none"},
    {"traces_endpoint", CFG_OPT_STRING, "full URL for traces (default endpoint/v1/traces)"},
    {"metrics_endpoint", CFG_OPT_STRING, "full URL for metrics (default endpoint/v1/metrics)"},
    {"logs_endpoint", CFG_OPT_STRING, "full URL for logs (default endpoint/v1/logs)"},
    {"sending_queue", CFG_OPT_MAP, "enabled, num_consumers, queue_size, directory"},
    {0},
};
static const cfg_option prw_exporter_opts[] = {
    EXPORTER_CLIENT_OPTS,
    {"namespace", CFG_OPT_STRING, "prefix of every metric name"},
    {"external_labels", CFG_OPT_MAP, "labels added to every series"},
    {"target_info", CFG_OPT_MAP, "enabled: a target_info series per resource (true)"},
    {0},
};
static const cfg_option target_info_opts[] = {
    {"enabled", CFG_OPT_BOOL, "write target_info (true)"},
    {0},
};
static const cfg_option tls_opts[] = {
    {"insecure", CFG_OPT_BOOL, "plaintext (no TLS)"},
    {"insecure_skip_verify", CFG_OPT_BOOL, "TLS without verifying the server"},
    {"ca_file", CFG_OPT_STRING, "CA certificate (PEM)"},
    {"cert_file", CFG_OPT_STRING, "client certificate (PEM)"},
    {"key_file", CFG_OPT_STRING, "client key (PEM)"},
    {0},
};
static const cfg_option retry_opts[] = {
    {"enabled", CFG_OPT_BOOL, "retry failed sends (true)"},
    {"initial_interval", CFG_OPT_DURATION, "first wait (5s)"},
    {"max_interval", CFG_OPT_DURATION, "longest wait (30s)"},
    {"max_elapsed_time", CFG_OPT_DURATION, "give up after (300s; 0: never)"},
    {0},
};
#define MEMORY_QUEUE_OPTS                                                                          \
    {"enabled", CFG_OPT_BOOL, "queue before sending (true)"},                                      \
        {"num_consumers", CFG_OPT_INT, "concurrent senders (10)"},                                 \
    {                                                                                              \
        "queue_size", CFG_OPT_INT, "batches held (1000)"                                           \
    }
static const cfg_option queue_opts[] = {
    MEMORY_QUEUE_OPTS,
    /* llmtrace's own: the collector persists its queue through a storage extension */
    {"directory", CFG_OPT_STRING, "keep the queue on disk there (default: in memory)"},
    {0},
};
static const component_sub client_subs[] = {
    {"tls", tls_opts},
    {"retry_on_failure", retry_opts},
    {"sending_queue", queue_opts},
    {0},
};

static const component_sub prw_subs[] = {
    {"tls", tls_opts},
    {"retry_on_failure", retry_opts},
    {"target_info", target_info_opts},
    {0},
};

/* loadbalancing: the collector-contrib exporter's options, with the resolvers static and dns
 * and the protocol otlp. Each backend is an otlp exporter: protocol.otlp takes the otlp
 * exporter's options but the endpoint (the resolver gives it) and the disk queue (one
 * directory per backend coming and going with DNS is not supported). */
static const cfg_option lb_opts[] = {
    {"routing_key", CFG_OPT_STRING, "traceID (the default) or service"},
    {"protocol", CFG_OPT_MAP, "otlp: the otlp exporter's settings, for every backend"},
    {"resolver", CFG_OPT_MAP, "static or dns: where the backends are"},
    {0},
};
static const cfg_option lb_protocol_opts[] = {
    {"otlp", CFG_OPT_MAP, "tls, headers, timeout, retry_on_failure, compression, sending_queue"},
    {0},
};
static const cfg_option lb_otlp_opts[] = {
    EXPORTER_CONN_OPTS,
    {"compression", CFG_OPT_STRING, "gzip (the default) or none"},
    {"sending_queue", CFG_OPT_MAP, "enabled, num_consumers, queue_size (each backend's)"},
    {0},
};
static const cfg_option lb_queue_opts[] = {MEMORY_QUEUE_OPTS, {0}};
static const cfg_option lb_resolver_opts[] = {
    {"static", CFG_OPT_MAP, "hostnames: a fixed list of backends"},
    {"dns", CFG_OPT_MAP, "hostname, port, interval, timeout: the addresses of a name"},
    {0},
};
static const cfg_option lb_static_opts[] = {
    {"hostnames", CFG_OPT_LIST, "HOST:PORT of each backend (port 4317 when absent)"},
    {0},
};
static const cfg_option lb_dns_opts[] = {
    {"hostname", CFG_OPT_STRING, "the name whose addresses are the backends"},
    {"port", CFG_OPT_INT, "the backends' port (4317)"},
    {"interval", CFG_OPT_DURATION, "how often the name is resolved again (5s)"},
    {"timeout", CFG_OPT_DURATION, "longest wait for a resolution (1s)"},
    {0},
};
static const component_sub lb_subs[] = {
    {"protocol", lb_protocol_opts},
    {"protocol.otlp", lb_otlp_opts},
    {"protocol.otlp.tls", tls_opts},
    {"protocol.otlp.retry_on_failure", retry_opts},
    {"protocol.otlp.sending_queue", lb_queue_opts},
    {"resolver", lb_resolver_opts},
    {"resolver.static", lb_static_opts},
    {"resolver.dns", lb_dns_opts},
    {0},
};

static const cfg_option debug_opts[] = {
    {"verbosity", CFG_OPT_STRING, "basic, normal or detailed"},
    {0},
};

static const cfg_option file_opts[] = {
    {"path", CFG_OPT_STRING, "file to write JSON lines to"},
    {"rotation", CFG_OPT_MAP, "max_megabytes, max_days, max_backups, localtime"},
    {"flush_interval", CFG_OPT_DURATION, "how often the file is flushed (1s)"},
    {0},
};
static const cfg_option file_rotation_opts[] = {
    {"max_megabytes", CFG_OPT_INT, "rotate past this size (100)"},
    {"max_days", CFG_OPT_INT, "remove rotated files older than this"},
    {"max_backups", CFG_OPT_INT, "rotated files kept (100)"},
    {"localtime", CFG_OPT_BOOL, "local time in rotated names (false: UTC)"},
    {0},
};
static const component_sub file_subs[] = {
    {"rotation", file_rotation_opts},
    {0},
};

static const cfg_option llmtrace_exporter_opts[] = {
    {"store", CFG_OPT_STRING,
     "where to store: a directory or clickhouse://HOST:PORT/DATABASE (--data / --store win)"},
    {"username", CFG_OPT_STRING, "ClickHouse user (--clickhouse-user wins)"},
    {"password", CFG_OPT_STRING, "ClickHouse password, e.g. ${env:CH_PASSWORD}"},
    {0},
};

/* ---- the registry ------------------------------------------------------------------- */

static const component_def registry[] = {
    {COMP_RECEIVER, "otlp", "OTLP over gRPC and HTTP", ALL_SIGNALS, 0, otlp_receiver_opts,
     otlp_receiver_subs},

    {COMP_PROCESSOR, "transform", "OTTL statements (set, replace_pattern, ...)",
     SIG_TRACES | SIG_LOGS, 0, transform_opts, NULL},
    {COMP_PROCESSOR, "redaction", "mask sensitive attributes and message content",
     SIG_TRACES | SIG_LOGS, 0, redact_options, NULL},
    {COMP_PROCESSOR, "tail_sampling", "keep or drop whole traces by policy", SIG_TRACES, 0,
     tail_sampling_opts, tail_sampling_subs},
    {COMP_PROCESSOR, "probabilistic_sampler", "keep a share of traces by trace id hash",
     SIG_TRACES | SIG_LOGS, 0, probabilistic_sampler_opts, NULL},
    {COMP_PROCESSOR, "filter", "drop spans, span events or logs matching conditions",
     SIG_TRACES | SIG_LOGS, 0, filter_opts, filter_subs},
    {COMP_PROCESSOR, "attributes", "insert, update, delete, hash attributes", SIG_TRACES | SIG_LOGS,
     0, attributes_opts, attributes_subs},
    {COMP_PROCESSOR, "batch", "group data into batches", ALL_SIGNALS, 0, batch_opts, NULL},
    {COMP_PROCESSOR, "memory_limiter", "refuse data above a memory limit", ALL_SIGNALS, 0,
     memory_limiter_opts, NULL},

    {COMP_CONNECTOR, "spanmetrics", "span calls, durations and GenAI usage as metrics", SIG_TRACES,
     SIG_METRICS, spanmetrics_options, NULL},

    {COMP_EXPORTER, "llmtrace", "llmtrace's own storage", SIG_TRACES | SIG_LOGS, 0,
     llmtrace_exporter_opts, NULL},
    {COMP_EXPORTER, "otlp", "OTLP/gRPC to another endpoint", ALL_SIGNALS, 0, otlp_exporter_opts,
     client_subs},
    {COMP_EXPORTER, "otlphttp", "OTLP/HTTP to another endpoint", ALL_SIGNALS, 0,
     otlphttp_exporter_opts, client_subs},
    {COMP_EXPORTER, "debug", "print what passes to the log", ALL_SIGNALS, 0, debug_opts, NULL},
    {COMP_EXPORTER, "file", "JSON lines to a file, with rotation", ALL_SIGNALS, 0, file_opts,
     file_subs},
    {COMP_EXPORTER, "prometheusremotewrite", "Prometheus remote write (snappy protobuf)",
     SIG_METRICS, 0, prw_exporter_opts, prw_subs},
    {COMP_EXPORTER, "loadbalancing", "OTLP/gRPC to peers, routed by trace id over a hash ring",
     SIG_TRACES | SIG_LOGS, 0, lb_opts, lb_subs},
};

const component_def *components_find(component_kind kind, const char *type)
{
    for (size_t i = 0; type && i < sizeof registry / sizeof registry[0]; i++)
        if (registry[i].kind == kind && strcmp(registry[i].type, type) == 0) return &registry[i];
    return NULL;
}

const component_def *components_at(component_kind kind, size_t i)
{
    for (size_t k = 0; k < sizeof registry / sizeof registry[0]; k++)
        if (registry[k].kind == kind && i-- == 0) return &registry[k];
    return NULL;
}

const char *components_kind_name(component_kind kind)
{
    static const char *const names[] = {"receiver", "processor", "connector", "exporter"};
    return kind < COMP_N_KINDS ? names[kind] : "component";
}

const char *components_section(component_kind kind)
{
    static const char *const names[] = {"receivers", "processors", "connectors", "exporters"};
    return kind < COMP_N_KINDS ? names[kind] : "components";
}

const char *components_signal_name(unsigned sig)
{
    return sig == SIG_TRACES    ? "traces"
           : sig == SIG_METRICS ? "metrics"
           : sig == SIG_LOGS    ? "logs"
                                : "?";
}
