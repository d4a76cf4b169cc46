/* components.h — the registry of component types a configuration may name, as data.
 *
 * For each kind (receiver, processor, connector, exporter) and type name ("otlp",
 * "tail_sampling", ...) the registry lists the signals the type handles and the options it
 * accepts, after the OpenTelemetry Collector's documented options for that component,
 * restricted to what llmtrace implements: an option the collector has and we do not is
 * refused, never ignored. Options below the top level that are checked here (the otlp
 * receiver's protocols.grpc, an exporter's tls, ...) are listed as sub-tables by path; the
 * items of lists (tail_sampling's policies, transform's statements) are left to the
 * component, which knows their shape. The tables are constant; any thread may read them. */
#ifndef LT_PIPELINE_COMPONENTS_H
#define LT_PIPELINE_COMPONENTS_H

#include <stddef.h>

#include "pipeline/config.h"

typedef enum {
    COMP_RECEIVER,
    COMP_PROCESSOR,
    COMP_CONNECTOR,
    COMP_EXPORTER,
    COMP_N_KINDS,
} component_kind;

/* Signals, as bits. */
enum {
    SIG_TRACES = 1u << 0,
    SIG_METRICS = 1u << 1,
    SIG_LOGS = 1u << 2,
};

/* Options of a nested mapping: path below the component ("protocols.grpc", "tls"). */
typedef struct {
    const char *path;
    const cfg_option *options;
} component_sub;

typedef struct {
    component_kind kind;
    const char *type;
    const char *summary;
    /* receivers, processors, exporters: the signals handled. A connector: the signals it
     * takes as an exporter (in) and produces as a receiver (out). */
    unsigned signals;
    unsigned out_signals;
    const cfg_option *options; /* terminated by {NULL} */
    const component_sub *subs; /* terminated by {NULL}; may be NULL */
} component_def;

/* The definition of type in kind, or NULL. */
const component_def *components_find(component_kind kind, const char *type);
/* The i-th definition of kind (registry order), or NULL past the end; for listings. */
const component_def *components_at(component_kind kind, size_t i);
/* "receiver", "processor", ... and the config section "receivers", "processors", .... */
const char *components_kind_name(component_kind kind);
const char *components_section(component_kind kind);
/* "traces", "metrics" or "logs" for one SIG_ bit. */
const char *components_signal_name(unsigned sig);

#endif
