/* pipeline_config.h — a loaded configuration checked and described as pipelines.
 *
 * pipecfg_build walks a cfg_doc in the OpenTelemetry Collector's shape: the components
 * defined under receivers / processors / connectors / exporters (each id "type" or
 * "type/name", its type looked up in the registry of components.h and its options checked
 * against the type's tables), and service.pipelines ("traces", "metrics", "logs" or
 * "SIGNAL/NAME"), whose receivers / processors / exporters lists must name defined
 * components that handle the pipeline's signal. A connector is used as an exporter of one
 * pipeline and a receiver of another (spanmetrics: traces in, metrics out); using it on
 * one side only is an error, as in the collector. `extensions` and `service.telemetry`
 * are refused (not supported), as is any other unknown key. The first problem found is
 * the error, positioned in the file.
 *
 * Our storage is the exporter `llmtrace` (no options; it need not be defined under
 * exporters). When no pipeline names it, every traces and logs pipeline gets it appended
 * to its exporters, so a collector config stores what it forwards; when some pipeline
 * names it, only those store, which is how a config chooses. A metrics pipeline cannot
 * name it (storage takes traces and logs). The implicit llmtrace is a component of the
 * result like any other (counted, in pipelines' exporter lists, `at` NULL).
 *
 * The result points into the doc: keep the doc alive while it is used. Not thread-safe to
 * build; read-only afterwards. */
#ifndef LT_PIPELINE_PIPELINE_CONFIG_H
#define LT_PIPELINE_PIPELINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline/components.h"
#include "pipeline/config.h"

typedef struct {
    const char *id;   /* "otlp/jaeger" */
    const char *type; /* "otlp" */
    const char *name; /* "jaeger", "" when the id has no name */
    const component_def *def;
    const cfg_node *settings; /* the component's options (a map, CFG_NULL or NULL) */
    const cfg_node *at;       /* its entry in its section, for messages; NULL if implicit */
} pipecfg_component;

typedef struct {
    const char *id;  /* "traces", "traces/genai" */
    unsigned signal; /* one SIG_ bit */
    const cfg_node *at;
    const pipecfg_component **receivers, **processors, **exporters; /* in the file's order */
    size_t n_receivers, n_processors, n_exporters;
    bool stores; /* llmtrace is among the exporters (named or by default) */
} pipecfg_pipeline;

typedef struct pipecfg {
    const cfg_doc *doc;
    pipecfg_component *components[COMP_N_KINDS];
    size_t n_components[COMP_N_KINDS];
    pipecfg_pipeline *pipelines;
    size_t n_pipelines;
    /* The otlp receiver's listen addresses ("127.0.0.1:4317"): the endpoint configured, the
     * collector's default port on loopback when a protocol is enabled without one, or NULL
     * when the protocol is not enabled (or no otlp receiver is used by a pipeline). */
    const char *grpc_endpoint, *http_endpoint;
    /* Where each endpoint is configured (NULL when defaulted or not enabled), so the server
     * can position an address it cannot parse or bind: the loader knows YAML, not addresses
     * (the net layer's parser is above this one). */
    const cfg_node *grpc_endpoint_at, *http_endpoint_at;
    /* The llmtrace exporter's store, username and password settings (NULL when not set). */
    const char *store, *store_user, *store_password;
} pipecfg;

/* Checks doc and describes it. Returns 0 and *out (free with pipecfg_free), or writes a
 * positioned one-line error ("FILE:LINE:COL: where: what") to err and returns LT_EINVAL
 * (LT_ENOMEM when memory ran out). */
int pipecfg_build(const cfg_doc *doc, pipecfg **out, char *err, size_t errlen);
/* The component of kind with this id, or NULL. */
const pipecfg_component *pipecfg_find(const pipecfg *p, component_kind kind, const char *id);
/* NULL-tolerant. */
void pipecfg_free(pipecfg *p);

#endif
