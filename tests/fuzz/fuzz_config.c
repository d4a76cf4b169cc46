/* fuzz_config.c — libFuzzer target for the configuration loader and its validation.
 *
 * A configuration file is untrusted text (deployments copy it from anywhere). Each input
 * is loaded with cfg_load_string (limits, aliases, ${env} expansion, duplicate keys) and,
 * when it loads, every typed read is tried on every scalar reachable from the root and the
 * doc is validated with pipecfg_build. Any return other than 0, LT_EINVAL, LT_ETOOBIG or
 * LT_ENOMEM, an error without a message, or a result whose pipelines hold components of
 * the wrong kind, aborts.
 *
 *   ./fuzz_config -max_total_time=60 CORPUS_DIR   (seed: the YAML files of tests/data/config) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "pipeline/config.h"
#include "pipeline/pipeline_config.h"

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_config: %s\n", what);
        abort();
    }
}

/* Visits at most *budget nodes (aliases make the tree a DAG; the loader bounds it too). */
static void walk(const cfg_doc *d, const cfg_node *n, int depth, size_t *budget)
{
    char err[256];
    if (!n || !*budget || depth > 80) return;
    (*budget)--;
    if (n->kind == CFG_SCALAR) {
        bool b;
        int64_t i;
        double f;
        uint64_t u;
        const char *s = NULL;
        check(cfg_string(d, n, "x", &s, err, sizeof err) == 0 && s == n->scalar, "cfg_string");
        int r[] = {cfg_bool(d, n, "x", &b, err, sizeof err),
                   cfg_int(d, n, "x", &i, err, sizeof err),
                   cfg_double(d, n, "x", &f, err, sizeof err),
                   cfg_duration_ns(d, n, "x", &u, err, sizeof err),
                   cfg_size(d, n, "x", &u, err, sizeof err)};
        for (size_t k = 0; k < sizeof r / sizeof r[0]; k++)
            check(r[k] == 0 || r[k] == LT_EINVAL, "a typed read");
        return;
    }
    check(n->kind != CFG_NULL || n->n == 0, "a null with items");
    for (size_t k = 0; k < n->n; k++) {
        check((n->kind == CFG_MAP) == (n->items[k]->key != NULL), "a key where none belongs");
        walk(d, n->items[k], depth + 1, budget);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024] = "";
    cfg_doc *d = NULL;
    pipecfg *p = NULL;
    int rc = cfg_load_string((const char *)data, size, "fuzz.yaml", &d, err, sizeof err);
    check(rc == 0 || rc == LT_EINVAL || rc == LT_ETOOBIG || rc == LT_ENOMEM, "load rc");
    check(rc == 0 || (d == NULL && err[0]), "a failed load without a message");
    if (rc) return 0;
    size_t budget = 200000;
    walk(d, cfg_root(d), 0, &budget);
    rc = pipecfg_build(d, &p, err, sizeof err);
    check(rc == 0 || rc == LT_EINVAL || rc == LT_ENOMEM, "build rc");
    check(rc == 0 || (p == NULL && err[0]), "a failed build without a message");
    for (size_t i = 0; p && i < p->n_pipelines; i++) {
        const pipecfg_pipeline *pl = &p->pipelines[i];
        check(pl->n_receivers > 0 && pl->n_exporters > 0, "an empty pipeline");
        for (size_t k = 0; k < pl->n_processors; k++)
            check(pl->processors[k]->def->kind == COMP_PROCESSOR, "a processor of another kind");
        for (size_t k = 0; k < pl->n_receivers; k++)
            check(pl->receivers[k]->def->kind == COMP_RECEIVER ||
                      pl->receivers[k]->def->kind == COMP_CONNECTOR,
                  "a receiver of another kind");
        for (size_t k = 0; k < pl->n_exporters; k++)
            check(pl->exporters[k]->def->kind == COMP_EXPORTER ||
                      pl->exporters[k]->def->kind == COMP_CONNECTOR,
                  "an exporter of another kind");
    }
    pipecfg_free(p);
    cfg_free(d);
    return 0;
}
