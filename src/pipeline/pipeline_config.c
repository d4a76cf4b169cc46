/* pipeline_config.c — validation of a configuration into pipelines (pipeline_config.h).
 *
 * Two passes over the doc: the sections define components (registry type, options, nested
 * option tables), then service.pipelines refers to them. Everything the result holds is in
 * one arena owned by the result; strings of the doc are referred to, not copied, except
 * the type and name split out of an id. */
#include "pipeline/pipeline_config.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"

typedef struct {
    pipecfg pub; /* first: a pipecfg * converts back */
    lt_arena *arena;
} holder;

/* What a build needs at hand. */
typedef struct {
    const cfg_doc *d;
    holder *h;
    char *err;
    size_t errlen;
} ctx;

/* Real configurations have a handful of each; the bounds keep name lookups (linear) and
 * the listed-twice checks (quadratic) small on a hostile file. */
enum { MAX_COMPONENTS = 256, MAX_PIPELINES = 256, MAX_LIST = 256 };

static const char *const top_keys[] = {"receivers", "processors", "connectors", "exporters",
                                       "service"};

static int oom(ctx *c)
{
    cfg_error(c->d, NULL, c->err, c->errlen, "out of memory");
    return LT_ENOMEM;
}

/* "otlp, transform, ..." of the registry for kind. */
static void known_types(component_kind kind, char *out, size_t outlen)
{
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; components_at(kind, i) && k < outlen; i++) {
        int w = snprintf(out + k, outlen - k, "%s%s", i ? ", " : "", components_at(kind, i)->type);
        if (w < 0) break;
        k += (size_t)w;
    }
}

/* A component id is TYPE or TYPE/NAME: TYPE of letters, digits and '_' starting with a
 * letter; NAME non-empty, printable, without spaces or '/'. */
static bool valid_id(const char *id, size_t *slash)
{
    size_t i = 0;
    if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z'))) return false;
    while ((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
           (id[i] >= '0' && id[i] <= '9') || id[i] == '_')
        i++;
    *slash = i;
    if (!id[i]) return true;
    if (id[i] != '/' || !id[i + 1]) return false;
    for (i++; id[i]; i++)
        if ((unsigned char)id[i] <= ' ' || id[i] == '/' || (unsigned char)id[i] == 0x7f)
            return false;
    return true;
}

static const cfg_node *get_path(const cfg_node *map, const char *path)
{
    char part[64];
    while (map && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof part) return NULL;
        memcpy(part, path, n);
        part[n] = 0;
        map = cfg_get(map, part);
        path += n + (path[n] == '.');
    }
    return map;
}

static int define_section(ctx *c, component_kind kind, const cfg_node *sec)
{
    const char *secname = components_section(kind);
    if (!sec || sec->kind == CFG_NULL) return 0;
    if (sec->kind != CFG_MAP)
        return cfg_error(c->d, sec, c->err, c->errlen, "%s: expected a mapping of components",
                         secname);
    /* one spare slot among exporters for the implicit llmtrace */
    if (sec->n > MAX_COMPONENTS)
        return cfg_error(c->d, sec, c->err, c->errlen, "%s: more than %d components", secname,
                         MAX_COMPONENTS);
    pipecfg_component *arr = arena_calloc(c->h->arena, sec->n + 1, sizeof *arr);
    if (!arr) return oom(c);
    c->h->pub.components[kind] = arr;
    for (size_t i = 0; i < sec->n; i++) {
        const cfg_node *v = sec->items[i];
        size_t slash = 0;
        if (!valid_id(v->key, &slash))
            return cfg_key_error(c->d, v, c->err, c->errlen,
                                 "%s: '%s' is not a component id (TYPE or TYPE/NAME)", secname,
                                 v->key);
        lt_str t = arena_strdup(c->h->arena, (lt_str){v->key, slash});
        if (!t.ptr) return oom(c);
        const component_def *def = components_find(kind, t.ptr);
        if (!def) {
            char known[512];
            known_types(kind, known, sizeof known);
            return cfg_key_error(c->d, v, c->err, c->errlen,
                                 "%s: unknown %s type '%s'%s%s%s (known: %s)", secname,
                                 components_kind_name(kind), t.ptr, v->key[slash] ? " in '" : "",
                                 v->key[slash] ? v->key : "", v->key[slash] ? "'" : "", known);
        }
        char where[256];
        snprintf(where, sizeof where, "%s.%s", secname, v->key);
        int rc = cfg_check_options(c->d, v, def->options, where, c->err, c->errlen);
        if (rc) return rc;
        for (const component_sub *s = def->subs; s && s->path; s++) {
            const cfg_node *sub = get_path(v, s->path);
            if (!sub || sub->kind != CFG_MAP) continue; /* absent, or its type already checked */
            snprintf(where, sizeof where, "%s.%s.%s", secname, v->key, s->path);
            if ((rc = cfg_check_options(c->d, sub, s->options, where, c->err, c->errlen)))
                return rc;
        }
        pipecfg_component *pc = &arr[c->h->pub.n_components[kind]++];
        pc->id = v->key;
        pc->type = t.ptr;
        pc->name = v->key[slash] ? v->key + slash + 1 : "";
        pc->def = def;
        pc->settings = v;
        pc->at = v;
    }
    return 0;
}

const pipecfg_component *pipecfg_find(const pipecfg *p, component_kind kind, const char *id)
{
    if (!p || kind >= COMP_N_KINDS || !id) return NULL;
    for (size_t i = 0; i < p->n_components[kind]; i++)
        if (strcmp(p->components[kind][i].id, id) == 0) return &p->components[kind][i];
    return NULL;
}

/* Our storage, defined under exporters or added (implicitly, once). */
static const pipecfg_component *llmtrace_exporter(ctx *c)
{
    pipecfg *p = &c->h->pub;
    const pipecfg_component *pc = pipecfg_find(p, COMP_EXPORTER, "llmtrace");
    if (pc) return pc;
    if (!p->components[COMP_EXPORTER]) {
        p->components[COMP_EXPORTER] = arena_calloc(c->h->arena, 1, sizeof(pipecfg_component));
        if (!p->components[COMP_EXPORTER]) return NULL;
    }
    pipecfg_component *n = &p->components[COMP_EXPORTER][p->n_components[COMP_EXPORTER]++];
    *n = (pipecfg_component){.id = "llmtrace",
                             .type = "llmtrace",
                             .name = "",
                             .def = components_find(COMP_EXPORTER, "llmtrace")};
    return n;
}

/* How each connector is used, for the both-sides rule. */
typedef struct {
    const cfg_node *as_exporter, *as_receiver; /* first use of each side */
} conn_use;

/* Resolves the list `role` (receivers, processors, exporters) of pipeline pl. */
static int resolve_list(ctx *c, pipecfg_pipeline *pl, const cfg_node *list, const char *role,
                        conn_use *uses)
{
    bool rcv = strcmp(role, "receivers") == 0, proc = strcmp(role, "processors") == 0;
    component_kind own = rcv ? COMP_RECEIVER : proc ? COMP_PROCESSOR : COMP_EXPORTER;
    const char *sig = components_signal_name(pl->signal);
    const pipecfg_component ***dst = rcv ? &pl->receivers : proc ? &pl->processors : &pl->exporters;
    size_t *n = rcv ? &pl->n_receivers : proc ? &pl->n_processors : &pl->n_exporters;
    if (!list || list->kind == CFG_NULL)
        list = NULL;
    else if (list->kind != CFG_SEQ)
        return cfg_error(c->d, list, c->err, c->errlen,
                         "service.pipelines.%s.%s: expected a list of component ids", pl->id, role);
    /* one spare for the default llmtrace */
    if (list && list->n > MAX_LIST)
        return cfg_error(c->d, list, c->err, c->errlen,
                         "service.pipelines.%s.%s: more than %d components", pl->id, role,
                         MAX_LIST);
    *dst = arena_calloc(c->h->arena, (list ? list->n : 0) + 1, sizeof **dst);
    if (!*dst) return oom(c);
    for (size_t i = 0; list && i < list->n; i++) {
        const cfg_node *it = list->items[i];
        if (it->kind != CFG_SCALAR)
            return cfg_error(c->d, it, c->err, c->errlen,
                             "service.pipelines.%s.%s: expected a component id", pl->id, role);
        const pipecfg_component *pc = pipecfg_find(&c->h->pub, own, it->scalar);
        bool connector = false;
        if (!pc && !proc) {
            pc = pipecfg_find(&c->h->pub, COMP_CONNECTOR, it->scalar);
            connector = pc != NULL;
        }
        if (!pc && own == COMP_EXPORTER && strcmp(it->scalar, "llmtrace") == 0 &&
            !(pc = llmtrace_exporter(c)))
            return oom(c);
        if (!pc) {
            const char *other = NULL;
            for (int k = 0; k < COMP_N_KINDS && !other; k++)
                if (pipecfg_find(&c->h->pub, (component_kind)k, it->scalar))
                    other = components_kind_name((component_kind)k);
            return cfg_error(c->d, it, c->err, c->errlen,
                             "service.pipelines.%s.%s: '%s' is not defined under %s%s%s%s%s",
                             pl->id, role, it->scalar, components_section(own),
                             !proc ? " or connectors" : "", other ? " (it is a " : "",
                             other ? other : "", other ? ")" : "");
        }
        for (size_t j = 0; j < *n; j++)
            if ((*dst)[j] == pc)
                return cfg_error(c->d, it, c->err, c->errlen,
                                 "service.pipelines.%s.%s: '%s' is listed twice", pl->id, role,
                                 it->scalar);
        if (connector) {
            conn_use *u = &uses[pc - c->h->pub.components[COMP_CONNECTOR]];
            unsigned can = rcv ? pc->def->out_signals : pc->def->signals;
            if (!(can & pl->signal))
                return cfg_error(c->d, it, c->err, c->errlen,
                                 "service.pipelines.%s.%s: connector '%s' cannot be %s %s "
                                 "pipeline (it takes %s and produces %s)",
                                 pl->id, role, it->scalar,
                                 rcv ? "a receiver of a" : "an exporter of a", sig,
                                 components_signal_name(pc->def->signals),
                                 components_signal_name(pc->def->out_signals));
            if (rcv && !u->as_receiver) u->as_receiver = it;
            if (!rcv && !u->as_exporter) u->as_exporter = it;
        } else if (!(pc->def->signals & pl->signal)) {
            return cfg_error(c->d, it, c->err, c->errlen,
                             "service.pipelines.%s.%s: %s '%s' does not handle %s", pl->id, role,
                             components_kind_name(own), it->scalar, sig);
        }
        (*dst)[(*n)++] = pc;
        if (pc->def == components_find(COMP_EXPORTER, "llmtrace")) pl->stores = true;
    }
    return 0;
}

static int parse_pipeline_id(ctx *c, const cfg_node *v, unsigned *sig)
{
    static const struct {
        const char *name;
        unsigned sig;
    } sigs[] = {{"traces", SIG_TRACES}, {"metrics", SIG_METRICS}, {"logs", SIG_LOGS}};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        size_t l = strlen(sigs[i].name);
        if (strncmp(v->key, sigs[i].name, l) == 0 &&
            (v->key[l] == 0 ||
             (v->key[l] == '/' && v->key[l + 1] && !strchr(v->key + l + 1, '/')))) {
            *sig = sigs[i].sig;
            return 0;
        }
    }
    return cfg_key_error(c->d, v, c->err, c->errlen,
                         "service.pipelines: '%s' is not a pipeline id (traces, metrics or logs, "
                         "optionally followed by /NAME)",
                         v->key);
}

static int build_pipelines(ctx *c, const cfg_node *svc)
{
    pipecfg *p = &c->h->pub;
    if (!svc || svc->kind != CFG_MAP)
        return cfg_error(c->d, svc, c->err, c->errlen,
                         "service: expected a mapping with pipelines");
    for (size_t i = 0; i < svc->n; i++) {
        const cfg_node *v = svc->items[i];
        if (strcmp(v->key, "pipelines") == 0) continue;
        if (strcmp(v->key, "telemetry") == 0 || strcmp(v->key, "extensions") == 0)
            return cfg_key_error(c->d, v, c->err, c->errlen,
                                 "service.%s: not supported by llmtrace (remove it; llmtrace "
                                 "refuses settings it would otherwise ignore)",
                                 v->key);
        return cfg_key_error(c->d, v, c->err, c->errlen,
                             "service: unknown key '%s' (supported: pipelines)", v->key);
    }
    const cfg_node *pls = cfg_get(svc, "pipelines");
    if (!pls || pls->kind != CFG_MAP || pls->n == 0)
        return cfg_error(c->d, pls ? pls : svc, c->err, c->errlen,
                         "service.pipelines: at least one pipeline is needed");
    if (pls->n > MAX_PIPELINES)
        return cfg_error(c->d, pls, c->err, c->errlen, "service.pipelines: more than %d pipelines",
                         MAX_PIPELINES);
    size_t nconn = p->n_components[COMP_CONNECTOR];
    conn_use *uses = nconn ? arena_calloc(c->h->arena, nconn, sizeof *uses) : NULL;
    if (nconn && !uses) return oom(c);
    p->pipelines = arena_calloc(c->h->arena, pls->n, sizeof *p->pipelines);
    if (!p->pipelines) return oom(c);
    const cfg_node *used_otlp = NULL;
    int rc;
    for (size_t i = 0; i < pls->n; i++) {
        const cfg_node *v = pls->items[i];
        pipecfg_pipeline *pl = &p->pipelines[p->n_pipelines++];
        pl->id = v->key;
        pl->at = v;
        if ((rc = parse_pipeline_id(c, v, &pl->signal))) return rc;
        if (v->kind != CFG_MAP)
            return cfg_error(c->d, v, c->err, c->errlen,
                             "service.pipelines.%s: expected a mapping with receivers, "
                             "processors and exporters",
                             v->key);
        for (size_t k = 0; k < v->n; k++)
            if (strcmp(v->items[k]->key, "receivers") && strcmp(v->items[k]->key, "processors") &&
                strcmp(v->items[k]->key, "exporters"))
                return cfg_key_error(c->d, v->items[k], c->err, c->errlen,
                                     "service.pipelines.%s: unknown key '%s' (keys: receivers, "
                                     "processors, exporters)",
                                     v->key, v->items[k]->key);
        if ((rc = resolve_list(c, pl, cfg_get(v, "receivers"), "receivers", uses)) ||
            (rc = resolve_list(c, pl, cfg_get(v, "processors"), "processors", uses)) ||
            (rc = resolve_list(c, pl, cfg_get(v, "exporters"), "exporters", uses)))
            return rc;
        if (!pl->n_receivers)
            return cfg_key_error(c->d, v, c->err, c->errlen,
                                 "service.pipelines.%s: no receivers (at least one is needed)",
                                 v->key);
        for (size_t k = 0; k < pl->n_receivers; k++) {
            const pipecfg_component *r = pl->receivers[k];
            if (r->def != components_find(COMP_RECEIVER, "otlp")) continue;
            if (used_otlp && used_otlp != r->at)
                return cfg_key_error(c->d, r->at, c->err, c->errlen,
                                     "receivers.%s: only one otlp receiver can be used (another is "
                                     "at line %u)",
                                     r->id, used_otlp->line);
            used_otlp = r->at;
        }
    }
    /* the storage default: see the header */
    bool named = false;
    for (size_t i = 0; i < p->n_pipelines; i++)
        named |= p->pipelines[i].stores;
    for (size_t i = 0; i < p->n_pipelines; i++) {
        pipecfg_pipeline *pl = &p->pipelines[i];
        if (!named && (pl->signal & (SIG_TRACES | SIG_LOGS))) {
            const pipecfg_component *s = llmtrace_exporter(c);
            if (!s) return oom(c);
            pl->exporters[pl->n_exporters++] = s;
            pl->stores = true;
        }
        if (!pl->n_exporters)
            return cfg_key_error(c->d, pl->at, c->err, c->errlen,
                                 "service.pipelines.%s: no exporters (at least one is needed)",
                                 pl->id);
    }
    for (size_t i = 0; i < nconn; i++) {
        const pipecfg_component *cn = &p->components[COMP_CONNECTOR][i];
        if (uses[i].as_exporter && !uses[i].as_receiver)
            return cfg_error(c->d, uses[i].as_exporter, c->err, c->errlen,
                             "connectors.%s: used as an exporter but no pipeline receives from "
                             "it (name it in the receivers of a %s pipeline)",
                             cn->id, components_signal_name(cn->def->out_signals));
        if (uses[i].as_receiver && !uses[i].as_exporter)
            return cfg_error(c->d, uses[i].as_receiver, c->err, c->errlen,
                             "connectors.%s: used as a receiver but no pipeline exports to it "
                             "(name it in the exporters of a %s pipeline)",
                             cn->id, components_signal_name(cn->def->signals));
    }
    const pipecfg_component *own = pipecfg_find(p, COMP_EXPORTER, "llmtrace");
    if (own && own->settings) {
        const cfg_node *v;
        if ((v = cfg_get(own->settings, "store"))) p->store = v->scalar;
        if ((v = cfg_get(own->settings, "username"))) p->store_user = v->scalar;
        if ((v = cfg_get(own->settings, "password"))) p->store_password = v->scalar;
    }
    if (used_otlp) {
        const cfg_node *protos = cfg_get(used_otlp, "protocols");
        const cfg_node *g = cfg_get(protos, "grpc"), *h = cfg_get(protos, "http");
        if (!g && !h)
            return cfg_key_error(c->d, used_otlp, c->err, c->errlen,
                                 "receivers.%s: at least one protocol (grpc, http) is needed",
                                 used_otlp->key);
        const cfg_node *ge = cfg_get(g, "endpoint"), *he = cfg_get(h, "endpoint");
        if (g) p->grpc_endpoint = ge ? ge->scalar : "127.0.0.1:4317";
        if (h) p->http_endpoint = he ? he->scalar : "127.0.0.1:4318";
        p->grpc_endpoint_at = g ? ge : NULL;
        p->http_endpoint_at = h ? he : NULL;
        /* one address cannot take both; port 0 (any free port) gives each its own */
        size_t gl = p->grpc_endpoint ? strlen(p->grpc_endpoint) : 0;
        bool any_port = gl >= 2 && strcmp(p->grpc_endpoint + gl - 2, ":0") == 0;
        if (p->grpc_endpoint && p->http_endpoint && !any_port &&
            strcmp(p->grpc_endpoint, p->http_endpoint) == 0)
            return cfg_error(c->d, he, c->err, c->errlen,
                             "receivers.%s.protocols.http.endpoint: the same as grpc's",
                             used_otlp->key);
    }
    return 0;
}

int pipecfg_build(const cfg_doc *doc, pipecfg **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen) err[0] = 0;
    ctx c = {.d = doc, .err = err, .errlen = errlen};
    holder *h = lt_calloc(1, sizeof *h);
    if (!h || !(h->arena = arena_new())) {
        lt_free(h);
        return oom(&c);
    }
    c.h = h;
    h->pub.doc = doc;
    int rc = 0;
    const cfg_node *root = cfg_root(doc);
    if (!root || root->kind != CFG_MAP) {
        rc = cfg_error(doc, root, err, errlen,
                       "expected a mapping with receivers, exporters and service (an OpenTelemetry "
                       "Collector configuration)");
        goto out;
    }
    for (size_t i = 0; i < root->n; i++) {
        const char *k = root->items[i]->key;
        bool known = false;
        for (size_t j = 0; j < sizeof top_keys / sizeof top_keys[0]; j++)
            known |= !strcmp(k, top_keys[j]);
        if (known) continue;
        if (strcmp(k, "extensions") == 0)
            rc = cfg_key_error(doc, root->items[i], err, errlen,
                               "extensions: not supported by llmtrace (remove the section; "
                               "llmtrace refuses settings it would otherwise ignore)");
        else
            rc = cfg_key_error(doc, root->items[i], err, errlen,
                               "unknown section '%s' (sections: receivers, processors, connectors, "
                               "exporters, service)",
                               k);
        goto out;
    }
    for (int k = 0; k < COMP_N_KINDS; k++)
        if ((rc = define_section(&c, (component_kind)k,
                                 cfg_get(root, components_section((component_kind)k)))))
            goto out;
    const cfg_node *svc = cfg_get(root, "service");
    if (!svc) {
        rc = cfg_error(doc, root, err, errlen,
                       "service: missing (service.pipelines says what "
                       "flows where)");
        goto out;
    }
    rc = build_pipelines(&c, svc);
out:
    if (rc) {
        pipecfg_free(&h->pub);
        return rc;
    }
    *out = &h->pub;
    return 0;
}

void pipecfg_free(pipecfg *p)
{
    if (!p) return;
    holder *h = (holder *)p;
    arena_free(h->arena);
    lt_free(h);
}
