/* test_messages.c — unit tests of genai_messages_collect (genai/genai.h, messages.c).
 *
 * Cases are data: each gives a span (attributes, events) and log records as compact JSON
 * (single quotes stand for double quotes; {'$json': X} is an attribute holding X as JSON
 * text, {'$json2': X} the same encoded twice) and the expected result rendered one message
 * per line. Then hostile sizes built in code, allocation failure at every allocation, and
 * the captured fixtures: every scenario with content under LT_FIXTURES/otlp, decoded, with
 * its log records attached to their spans by span id, checked against what its
 * expected.json says was sent. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "fixture_files.h"

#include "core/alloc.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "genai/genai.h"
#include "model/model.h"
#include "model/pb.h"
#include "otlp/json.h"

/* ------------------------------------------------------------------------------------ */
/* Building spans and records from JSON                                                 */
/* ------------------------------------------------------------------------------------ */

static lt_str dup_str(lt_arena *a, const char *s, size_t n)
{
    lt_str r = arena_strdup(a, (lt_str){s, n});
    assert_non_null(r.ptr);
    return r;
}

static lt_value build_value(lt_arena *a, json_t *j);

static lt_attrs build_attrs(lt_arena *a, json_t *obj)
{
    lt_attrs at = {0};
    if (!obj) return at;
    assert_true(json_is_object(obj));
    size_t n = json_object_size(obj);
    at.items = arena_calloc(a, n ? n : 1, sizeof *at.items);
    assert_non_null(at.items);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        at.items[at.n].key = dup_str(a, k, strlen(k));
        at.items[at.n].value = build_value(a, v);
        at.n++;
    }
    return at;
}

/* A copy of j where the markers {$json: X} and {$json2: X} are replaced by X as JSON text
 * (once or twice encoded), inner markers first. */
static json_t *resolve(json_t *j)
{
    json_t *m;
    if (json_is_object(j) &&
        ((m = json_object_get(j, "$json")) || (m = json_object_get(j, "$json2")))) {
        json_t *inner = resolve(m);
        char *t = json_dumps(inner, JSON_COMPACT | JSON_ENCODE_ANY);
        assert_non_null(t);
        json_decref(inner);
        if (json_object_get(j, "$json2")) {
            json_t *s = json_string(t);
            free(t);
            t = json_dumps(s, JSON_ENCODE_ANY);
            json_decref(s);
        }
        json_t *r = json_string(t);
        free(t);
        return r;
    }
    if (json_is_object(j)) {
        json_t *r = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) json_object_set_new(r, k, resolve(v));
        return r;
    }
    if (json_is_array(j)) {
        json_t *r = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) json_array_append_new(r, resolve(v));
        return r;
    }
    return json_incref(j);
}

/* JSON (resolved) -> AnyValue: objects are kvlists except {$bytes: "..."}. */
static lt_value build_value(lt_arena *a, json_t *j)
{
    lt_value v = {0};
    json_t *m;
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        if ((m = json_object_get(j, "$bytes"))) {
            v.type = LT_VAL_BYTES;
            v.u.s = dup_str(a, json_string_value(m), json_string_length(m));
        } else {
            v.type = LT_VAL_KVLIST;
            v.u.kv = build_attrs(a, j);
        }
        break;
    case JSON_ARRAY:
        v.type = LT_VAL_ARRAY;
        v.u.arr.n = (uint32_t)json_array_size(j);
        v.u.arr.items = arena_calloc(a, v.u.arr.n ? v.u.arr.n : 1, sizeof(lt_value));
        assert_non_null(v.u.arr.items);
        for (uint32_t i = 0; i < v.u.arr.n; i++)
            v.u.arr.items[i] = build_value(a, json_array_get(j, i));
        break;
    case JSON_STRING:
        v.type = LT_VAL_STRING;
        v.u.s = dup_str(a, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        v.type = LT_VAL_INT;
        v.u.i = json_integer_value(j);
        break;
    case JSON_REAL:
        v.type = LT_VAL_DOUBLE;
        v.u.d = json_real_value(j);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        v.type = LT_VAL_BOOL;
        v.u.b = json_is_true(j);
        break;
    default:
        break;
    }
    return v;
}

static const uint8_t SPAN_ID[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t OTHER_ID[8] = {9, 9, 9, 9, 9, 9, 9, 9};

typedef struct {
    lt_span span;
    lt_log_record *recs;
    const lt_log_record **logs;
    uint32_t n_logs;
} built;

/* spec: {attrs: {..}, events: [{name, time, attrs}], logs: [{event_name, time, observed,
 * attrs, body, span: "other"|"none"}]}, single quotes for double quotes. */
static void build(lt_arena *a, const char *spec, built *b)
{
    memset(b, 0, sizeof *b);
    char *text = strdup(spec);
    assert_non_null(text);
    for (char *p = text; *p; p++)
        if (*p == '\'') *p = '"';
    json_error_t err;
    json_t *raw = json_loads(text, 0, &err);
    if (!raw) fail_msg("bad spec (%s) at %d: %s", err.text, err.position, spec);
    free(text);
    json_t *j = resolve(raw);
    json_decref(raw);
    memcpy(b->span.span_id, SPAN_ID, 8);
    b->span.trace_id[0] = 1;
    b->span.attrs = build_attrs(a, json_object_get(j, "attrs"));
    json_t *evs = json_object_get(j, "events");
    if (evs) {
        b->span.events.n = (uint32_t)json_array_size(evs);
        b->span.events.items = arena_calloc(a, b->span.events.n + 1, sizeof(lt_event));
        for (uint32_t i = 0; i < b->span.events.n; i++) {
            json_t *e = json_array_get(evs, i);
            lt_event *ev = &b->span.events.items[i];
            const char *name = json_string_value(json_object_get(e, "name"));
            ev->name = dup_str(a, name, strlen(name));
            ev->time_unix_nano = (uint64_t)json_integer_value(json_object_get(e, "time"));
            ev->attrs = build_attrs(a, json_object_get(e, "attrs"));
        }
    }
    json_t *logs = json_object_get(j, "logs");
    if (logs) {
        b->n_logs = (uint32_t)json_array_size(logs);
        b->recs = arena_calloc(a, b->n_logs + 1, sizeof(lt_log_record));
        b->logs = arena_calloc(a, b->n_logs + 1, sizeof(lt_log_record *));
        for (uint32_t i = 0; i < b->n_logs; i++) {
            json_t *l = json_array_get(logs, i);
            lt_log_record *r = &b->recs[i];
            const char *en = json_string_value(json_object_get(l, "event_name"));
            if (en) r->event_name = dup_str(a, en, strlen(en));
            r->time_unix_nano = (uint64_t)json_integer_value(json_object_get(l, "time"));
            r->observed_time_unix_nano =
                (uint64_t)json_integer_value(json_object_get(l, "observed"));
            r->attrs = build_attrs(a, json_object_get(l, "attrs"));
            json_t *body = json_object_get(l, "body");
            if (body) r->body = build_value(a, body);
            const char *sp = json_string_value(json_object_get(l, "span"));
            if (!sp)
                memcpy(r->span_id, SPAN_ID, 8);
            else if (!strcmp(sp, "other"))
                memcpy(r->span_id, OTHER_ID, 8);
            b->logs[i] = r;
        }
    }
    json_decref(j);
}

/* ------------------------------------------------------------------------------------ */
/* Rendering a result                                                                   */
/* ------------------------------------------------------------------------------------ */

static void put_str(lt_buf *b, lt_str s)
{
    buf_append(b, s.ptr ? s.ptr : "", s.len);
}

static void render_value(lt_buf *b, const lt_value *v)
{
    switch (v->type) {
    case LT_VAL_STRING:
        buf_putc(b, '"');
        put_str(b, v->u.s);
        buf_putc(b, '"');
        break;
    case LT_VAL_BYTES:
        buf_append_c(b, "bytes");
        break;
    case LT_VAL_BOOL:
        buf_append_c(b, v->u.b ? "true" : "false");
        break;
    case LT_VAL_INT:
        buf_printf(b, "%lld", (long long)v->u.i);
        break;
    case LT_VAL_DOUBLE: {
        char t[64];
        snprintf(t, sizeof t, "%.15g", v->u.d);
        buf_append_c(b, t);
        if (!strpbrk(t, ".eni")) buf_append_c(b, ".0");
        break;
    }
    case LT_VAL_ARRAY:
        buf_putc(b, '[');
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            if (i) buf_putc(b, ',');
            render_value(b, &v->u.arr.items[i]);
        }
        buf_putc(b, ']');
        break;
    case LT_VAL_KVLIST:
        buf_putc(b, '{');
        for (uint32_t i = 0; i < v->u.kv.n; i++) {
            if (i) buf_putc(b, ',');
            buf_putc(b, '"');
            put_str(b, v->u.kv.items[i].key);
            buf_append_c(b, "\":");
            render_value(b, &v->u.kv.items[i].value);
        }
        buf_putc(b, '}');
        break;
    default:
        buf_append_c(b, "null");
        break;
    }
}

static void render_part(lt_buf *b, const genai_part *p)
{
    switch (p->type) {
    case GA_PART_TEXT:
        buf_append_c(b, "t:");
        put_str(b, p->content);
        break;
    case GA_PART_REASONING:
        buf_append_c(b, "r:");
        put_str(b, p->content);
        break;
    case GA_PART_TOOL_CALL:
        buf_append_c(b, "call(");
        put_str(b, p->id);
        buf_putc(b, ',');
        put_str(b, p->name);
        buf_putc(b, ',');
        render_value(b, &p->payload);
        buf_putc(b, ')');
        break;
    case GA_PART_TOOL_CALL_RESPONSE:
        buf_append_c(b, "resp(");
        put_str(b, p->id);
        buf_putc(b, ',');
        render_value(b, &p->payload);
        buf_putc(b, ')');
        break;
    case GA_PART_MEDIA:
        buf_append_c(b, "media(");
        put_str(b, p->uri);
        buf_putc(b, ',');
        put_str(b, p->mime_type);
        buf_putc(b, ',');
        put_str(b, p->modality);
        if (p->content.len) {
            buf_putc(b, ',');
            put_str(b, p->content);
        }
        buf_putc(b, ')');
        break;
    case GA_PART_OTHER:
        buf_append_c(b, "other(");
        put_str(b, p->type_name);
        buf_putc(b, ',');
        put_str(b, p->content);
        buf_putc(b, ')');
        break;
    }
}

static void render_list(lt_buf *b, char tag, const genai_message *m, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (b->len) buf_putc(b, '\n');
        buf_printf(b, "%c ", tag);
        put_str(b, m[i].role);
        if (m[i].name.len) {
            buf_putc(b, '/');
            put_str(b, m[i].name);
        }
        if (m[i].finish_reason.len) {
            buf_append_c(b, " fr=");
            put_str(b, m[i].finish_reason);
        }
        buf_putc(b, ':');
        for (uint32_t k = 0; k < m[i].n_parts; k++) {
            buf_append_c(b, k ? " | " : " ");
            render_part(b, &m[i].parts[k]);
        }
    }
}

/* One line per message ("S" system, "I" input, "O" output) and per document ("D"). */
static char *render(const genai_messages *m)
{
    lt_buf b = {0};
    render_list(&b, 'S', m->system, m->n_system);
    render_list(&b, 'I', m->input, m->n_input);
    render_list(&b, 'O', m->output, m->n_output);
    for (uint32_t i = 0; i < m->n_docs; i++) {
        if (b.len) buf_putc(&b, '\n');
        buf_append_c(&b, "D ");
        put_str(&b, m->docs[i].id);
        if (m->docs[i].has_score)
            buf_printf(&b, " %g", m->docs[i].score);
        else
            buf_append_c(&b, " -");
        if (m->docs[i].content.len) {
            buf_putc(&b, ' ');
            put_str(&b, m->docs[i].content);
        }
    }
    buf_putc(&b, 0);
    assert_false(b.oom);
    return b.data;
}

/* ------------------------------------------------------------------------------------ */
/* Table-driven cases                                                                   */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *spec;
    const char *want; /* rendering; "" = nothing found (rc 0) */
} msg_case;

#define CONV_SEMCONV                                                                               \
    "[{'role':'user','parts':[{'type':'text','content':'Weather in Paris?'}]},"                    \
    "{'role':'assistant','parts':[{'type':'tool_call','id':'call_1','name':'get_weather',"         \
    "'arguments':{'location':'Paris'}}]},"                                                         \
    "{'role':'tool','parts':[{'type':'tool_call_response','id':'call_1','response':'rainy'}]}]"
#define OUT_SEMCONV                                                                                \
    "[{'role':'assistant','finish_reason':'stop','parts':[{'type':'text','content':'Rain.'}]}]"
#define SYS_SEMCONV "[{'type':'text','content':'Be brief.'}]"
#define WANT_SEMCONV                                                                               \
    "S system: t:Be brief.\n"                                                                      \
    "I user: t:Weather in Paris?\n"                                                                \
    "I assistant: call(call_1,get_weather,{\"location\":\"Paris\"})\n"                             \
    "I tool: resp(call_1,\"rainy\")\n"                                                             \
    "O assistant fr=stop: t:Rain."

/* The OpenAI-style conversation of the older forms. */
#define CONV_OPENAI                                                                                \
    "[{'role':'system','content':'Be brief.'},{'role':'user','content':'Weather in Paris?'},"      \
    "{'role':'assistant','content':null,'tool_calls':[{'id':'call_1','type':'function',"           \
    "'function':{'name':'get_weather','arguments':'{\\'location\\':\\'Paris\\'}'}}]},"             \
    "{'role':'tool','tool_call_id':'call_1','content':'rainy'}]"
#define WANT_OPENAI_IN                                                                             \
    "I system: t:Be brief.\n"                                                                      \
    "I user: t:Weather in Paris?\n"                                                                \
    "I assistant: call(call_1,get_weather,{\"location\":\"Paris\"})\n"                             \
    "I tool: resp(call_1,\"rainy\")"

/* Per-message log records of that conversation, out of order (times say the order). */
#define LOGS_EVENTS                                                                                \
    "[{'event_name':'gen_ai.choice','time':50,'body':{'index':0,'finish_reason':'stop',"           \
    "'message':{'role':'assistant','content':'Rain.'}}},"                                          \
    "{'event_name':'gen_ai.user.message','time':20,'body':{'content':'Weather in Paris?'}},"       \
    "{'attrs':{'event.name':'gen_ai.system.message'},'time':10,"                                   \
    "'body':{'content':'Be brief.'}},"                                                             \
    "{'event_name':'gen_ai.tool.message','time':40,'body':{'id':'call_1','content':'rainy'}},"     \
    "{'event_name':'gen_ai.assistant.message','time':30,'body':{'tool_calls':[{'id':'call_1',"     \
    "'type':'function','function':{'name':'get_weather',"                                          \
    "'arguments':'{\\'location\\':\\'Paris\\'}'}}]}}]"
#define WANT_EVENTS WANT_OPENAI_IN "\nO assistant fr=stop: t:Rain."

static const msg_case cases[] = {
    /* ---- gen_ai.input/output.messages, gen_ai.system_instructions ---- */
    {"semconv as JSON strings",
     "{'attrs':{'gen_ai.input.messages':{'$json':" CONV_SEMCONV "},"
     "'gen_ai.output.messages':{'$json':" OUT_SEMCONV "},"
     "'gen_ai.system_instructions':{'$json':" SYS_SEMCONV "}}}",
     WANT_SEMCONV},
    {"semconv structured",
     "{'attrs':{'gen_ai.input.messages':" CONV_SEMCONV ",'gen_ai.output.messages':" OUT_SEMCONV
     ",'gen_ai.system_instructions':" SYS_SEMCONV "}}",
     WANT_SEMCONV},
    {"semconv double-encoded",
     "{'attrs':{'gen_ai.input.messages':{'$json2':" CONV_SEMCONV "},"
     "'gen_ai.output.messages':{'$json2':" OUT_SEMCONV "},"
     "'gen_ai.system_instructions':{'$json2':" SYS_SEMCONV "}}}",
     WANT_SEMCONV},
    {"semconv tool_call_response with result, arguments as JSON text",
     "{'attrs':{'gen_ai.input.messages':[{'role':'assistant','parts':[{'type':'tool_call',"
     "'id':'c1','name':'f','arguments':{'$json':{'a':[1,2.5,true,null]}}}]},"
     "{'role':'tool','parts':[{'type':'tool_call_response','id':'c1','result':{'ok':1}}]},"
     "{'role':'tool','parts':[{'type':'tool_call_response','id':'c2',"
     "'response':{'$json':{'n':2}}}]}]}}",
     "I assistant: call(c1,f,{\"a\":[1,2.5,true,null]})\n"
     "I tool: resp(c1,{\"ok\":1})\n"
     "I tool: resp(c2,{\"n\":2})"},
    {"semconv part types",
     "{'attrs':{'gen_ai.input.messages':{'$json':[{'role':'user','name':'ann','parts':["
     "{'type':'uri','modality':'image','mime_type':'image/png','uri':'https://x/a.png'},"
     "{'type':'blob','modality':'audio','mime_type':'audio/wav','content':'UklGRg=='},"
     "{'type':'file','modality':'document','file_id':'file-1'},"
     "{'type':'server_tool_call','name':'web','server_tool_call':{'type':'search'}},"
     "'bare text']}]},"
     "'gen_ai.output.messages':{'$json':[{'role':'assistant','finish_reason':'length',"
     "'parts':[{'type':'reasoning','content':'hmm'},{'type':'text','content':'A'}]},"
     "{'role':'assistant','finish_reason':'stop','parts':[{'type':'text','content':'B'}]}]}}}",
     "I user/ann: media(https://x/a.png,image/png,image) | media(,audio/wav,audio,UklGRg==) | "
     "media(file-1,,document) | "
     "other(server_tool_call,{\"type\":\"server_tool_call\",\"name\":\"web\","
     "\"server_tool_call\":{\"type\":\"search\"}}) | t:bare text\n"
     "O assistant fr=length: r:hmm | t:A\n"
     "O assistant fr=stop: t:B"},
    {"system instructions as plain text and as messages",
     "{'attrs':{'gen_ai.system_instructions':'Answer in French.'}}",
     "S system: t:Answer in French."},
    {"system instructions as messages",
     "{'attrs':{'gen_ai.system_instructions':{'$json':[{'role':'system','content':'X'}]}}}",
     "S system: t:X"},
    {"output finish reason from gen_ai.response.finish_reasons",
     "{'attrs':{'gen_ai.output.messages':{'$json':[{'role':'assistant','parts':["
     "{'type':'text','content':'a'}]},{'role':'assistant','parts':[{'type':'text',"
     "'content':'b'}]}]},'gen_ai.response.finish_reasons':['stop','length']}}",
     "O assistant fr=stop: t:a\nO assistant fr=length: t:b"},

    /* ---- gen_ai.client.inference.operation.details ---- */
    {"details as a span event",
     "{'events':[{'name':'gen_ai.client.inference.operation.details','time':5,'attrs':{"
     "'gen_ai.input.messages':" CONV_SEMCONV ",'gen_ai.output.messages':" OUT_SEMCONV
     ",'gen_ai.system_instructions':" SYS_SEMCONV "}}]}",
     WANT_SEMCONV},
    {"details as a log record",
     "{'logs':[{'event_name':'gen_ai.client.inference.operation.details','time':5,'attrs':{"
     "'gen_ai.input.messages':" CONV_SEMCONV ",'gen_ai.output.messages':" OUT_SEMCONV
     ",'gen_ai.system_instructions':" SYS_SEMCONV "}}]}",
     WANT_SEMCONV},
    {"details log record named by event.name, content in the body",
     "{'logs':[{'attrs':{'event.name':'gen_ai.client.inference.operation.details'},"
     "'body':{'gen_ai.output.messages':" OUT_SEMCONV "}}]}",
     "O assistant fr=stop: t:Rain."},

    /* ---- per-message log records and span events ---- */
    {"per-message log records out of order", "{'logs':" LOGS_EVENTS "}", WANT_EVENTS},
    {"per-message span events",
     "{'events':[{'name':'gen_ai.system.message','time':1,'attrs':{'content':'Be brief.'}},"
     "{'name':'gen_ai.user.message','time':2,'attrs':{'content':'Hi'}},"
     "{'name':'gen_ai.choice','time':3,'attrs':{'index':0,'finish_reason':'tool_calls',"
     "'message':{'$json':{'role':'assistant'}},'tool_calls':{'$json':[{'id':'c9',"
     "'type':'function','function':{'name':'f','arguments':'{}'}}]}}}]}",
     "I system: t:Be brief.\nI user: t:Hi\nO assistant fr=tool_calls: call(c9,f,{})"},
    {"choices sorted by index, same times in given order, other span ignored",
     "{'logs':[{'event_name':'gen_ai.choice','time':9,'body':{'index':1,"
     "'finish_reason':'stop','message':{'content':'second'}}},"
     "{'event_name':'gen_ai.choice','time':9,'body':{'index':0,'finish_reason':'length',"
     "'message':{'content':'first'}}},"
     "{'event_name':'gen_ai.user.message','time':1,'body':{'content':'a'}},"
     "{'event_name':'gen_ai.user.message','time':1,'body':{'content':'b'}},"
     "{'event_name':'gen_ai.user.message','time':0,'observed':2,'body':{'content':'c'}},"
     "{'event_name':'gen_ai.user.message','time':0,'body':{'content':'other'},'span':'other'},"
     "{'event_name':'gen_ai.user.message','time':3,'body':{'content':'no span'},'span':'none'}"
     "]}",
     "I user: t:a\nI user: t:b\nI user: t:c\nI user: t:no span\n"
     "O assistant fr=length: t:first\nO assistant fr=stop: t:second"},
    {"choice with tool calls inside message, body as JSON text, no content captured",
     "{'logs':[{'event_name':'gen_ai.choice','time':2,'body':{'$json':{'index':0,"
     "'finish_reason':'tool_calls','message':{'tool_calls':[{'id':'c1','type':'function',"
     "'function':{'name':'f','arguments':{'x':1}}}]}}}},"
     "{'event_name':'gen_ai.system.message','time':1,'body':{}},"
     "{'event_name':'gen_ai.user.message','time':1,'body':{'role':'customer',"
     "'content':[{'type':'text','text':'hi'},{'type':'image_url',"
     "'image_url':{'url':'data:image/jpeg;base64,AAAA'}}]}}]}",
     "I system:\nI customer: t:hi | media(data:image/jpeg;base64,AAAA,image/jpeg,image)\n"
     "O assistant fr=tool_calls: call(c1,f,{\"x\":1})"},

    /* ---- legacy gen_ai.content.prompt / completion ---- */
    {"legacy span events with OpenAI messages",
     "{'events':[{'name':'gen_ai.content.prompt','time':1,'attrs':{'gen_ai.prompt':{'$json'"
     ":" CONV_OPENAI "}}},{'name':'gen_ai.content.completion','time':2,'attrs':{"
     "'gen_ai.completion':{'$json':[{'role':'assistant','content':'Rain.'}]}}}]}",
     WANT_OPENAI_IN "\nO assistant: t:Rain."},
    {"legacy attributes with plain text",
     "{'attrs':{'gen_ai.prompt':'Tell me a joke','gen_ai.completion':'No.'}}",
     "I user: t:Tell me a joke\nO assistant: t:No."},

    /* ---- OpenInference ---- */
    {"OpenInference flattened, indices out of order",
     "{'attrs':{'llm.output_messages.0.message.role':'assistant',"
     "'llm.input_messages.10.message.role':'user',"
     "'llm.input_messages.10.message.content':'eleventh',"
     "'llm.input_messages.2.message.role':'tool',"
     "'llm.input_messages.2.message.tool_call_id':'call_1',"
     "'llm.input_messages.2.message.content':'{\\'temp\\':12}',"
     "'llm.input_messages.0.message.role':'system',"
     "'llm.input_messages.0.message.content':'Be brief.',"
     "'llm.input_messages.1.message.role':'user',"
     "'llm.input_messages.1.message.name':'bob',"
     "'llm.input_messages.1.message.contents.1.message_content.type':'image',"
     "'llm.input_messages.1.message.contents.1.message_content.image.image.url':'https://i/x',"
     "'llm.input_messages.1.message.contents.0.message_content.type':'text',"
     "'llm.input_messages.1.message.contents.0.message_content.text':'Look:',"
     "'llm.input_messages.1.message.contents.2.message_content.type':'audio',"
     "'llm.input_messages.1.message.contents.3.message_content.type':'reasoning',"
     "'llm.input_messages.1.message.contents.3.message_content.text':'hm',"
     "'llm.output_messages.0.message.tool_calls.1.tool_call.function.name':'g',"
     "'llm.output_messages.0.message.tool_calls.0.tool_call.id':'c0',"
     "'llm.output_messages.0.message.tool_calls.0.tool_call.function.name':'f',"
     "'llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments':"
     "'{\\'q\\':\\'x\\'}',"
     "'llm.finish_reason':'tool_calls',"
     "'input.value':{'$json':{'messages':[{'role':'user','content':'dup'}]}}}}",
     "I system: t:Be brief.\n"
     "I user/bob: t:Look: | media(https://i/x,,image) | media(,,audio) | r:hm\n"
     "I tool: resp(call_1,{\"temp\":12})\n"
     "I user: t:eleventh\n"
     "O assistant fr=tool_calls: call(c0,f,{\"q\":\"x\"}) | call(,g,null)"},
    {"OpenInference input.value / output.value as OpenAI request and response",
     "{'attrs':{'input.mime_type':'application/json','input.value':{'$json':{'model':'m',"
     "'messages':" CONV_OPENAI "}},'output.mime_type':'application/json',"
     "'output.value':{'$json':{'id':'x','choices':[{'index':0,'message':{'role':'assistant',"
     "'content':'Rain.','refusal':null},'finish_reason':'stop'}]}}}}",
     WANT_OPENAI_IN "\nO assistant fr=stop: t:Rain."},
    {"OpenInference plain text input.value / output.value",
     "{'attrs':{'openinference.span.kind':'CHAIN','input.value':'question',"
     "'input.mime_type':'text/plain','output.value':'answer'}}",
     "I user: t:question\nO assistant: t:answer"},
    {"OpenInference tool span",
     "{'attrs':{'openinference.span.kind':'TOOL','tool.name':'search','tool_call.id':'c5',"
     "'tool_call.function.arguments':'{\\'q\\':1}','input.value':'{\\'q\\':1}',"
     "'output.value':'found'}}",
     "I assistant: call(c5,search,{\"q\":1})\nO tool: resp(c5,\"found\")"},

    /* ---- OpenLLMetry / Traceloop ---- */
    {"OpenLLMetry flattened",
     "{'attrs':{'gen_ai.prompt.0.role':'system','gen_ai.prompt.0.content':'Be brief.',"
     "'gen_ai.prompt.1.role':'user','gen_ai.prompt.1.content':{'$json':[{'type':'text',"
     "'text':'See'},{'type':'image_url','image_url':{'url':'https://i/y'}}]},"
     "'gen_ai.prompt.2.role':'assistant','gen_ai.prompt.2.tool_calls.0.id':'c1',"
     "'gen_ai.prompt.2.tool_calls.0.name':'f','gen_ai.prompt.2.tool_calls.0.arguments':'{}',"
     "'gen_ai.prompt.3.role':'tool','gen_ai.prompt.3.tool_call_id':'c1',"
     "'gen_ai.prompt.3.content':'42',"
     "'gen_ai.completion.0.role':'assistant','gen_ai.completion.0.content':'[not json',"
     "'gen_ai.completion.0.finish_reason':'stop'}}",
     "I system: t:Be brief.\nI user: t:See | media(https://i/y,,image)\n"
     "I assistant: call(c1,f,{})\nI tool: resp(c1,42)\nO assistant fr=stop: t:[not json"},
    {"OpenLLMetry entity input/output as generic text",
     "{'attrs':{'traceloop.span.kind':'task','traceloop.entity.input':"
     "'{\\'args\\':[],\\'kwargs\\':{\\'input\\':\\'question\\'}}',"
     "'traceloop.entity.output':'\\'done\\''}}",
     "I user: t:question\nO assistant: t:done"},
    {"OpenLLMetry entity input of several arguments, none, output null",
     "{'attrs':{'traceloop.entity.input':'{\\'args\\':[1],\\'kwargs\\':{\\'a\\':2}}',"
     "'traceloop.entity.output':'null'}}",
     "I user: t:{\"args\":[1],\"kwargs\":{\"a\":2}}"},
    {"OpenLLMetry entity input without arguments",
     "{'attrs':{'traceloop.entity.input':'{\\'args\\':[],\\'kwargs\\':{}}'}}", ""},
    {"OpenLLMetry tool span",
     "{'attrs':{'traceloop.span.kind':'tool','traceloop.entity.name':'search_docs',"
     "'traceloop.entity.input':{'$json':{'args':[],'kwargs':{'arguments':{'$json':{'q':1}}}}},"
     "'traceloop.entity.output':'null'}}",
     "I assistant: call(,search_docs,{\"q\":1})\nO tool: resp(,null)"},

    /* ---- Langfuse ---- */
    {"Langfuse generation: {messages} in, one message out",
     "{'attrs':{'langfuse.observation.type':'generation','langfuse.observation.input':{"
     "'$json':{'messages':" CONV_OPENAI ",'tools':[]}},'langfuse.observation.output':{"
     "'$json':{'role':'assistant','content':'Rain.','refusal':null,'annotations':[]}}}}",
     WANT_OPENAI_IN "\nO assistant: t:Rain."},
    {"Langfuse array of messages, tool calls without role, text out",
     "{'attrs':{'langfuse.observation.input':{'$json':[{'role':'user','content':'Hi'}]},"
     "'langfuse.observation.output':{'$json':{'tool_calls':[{'function':{'name':'get_weather',"
     "'arguments':'{\\'city\\':\\'Paris\\'}'}}]}}}}",
     "I user: t:Hi\nO assistant: call(,get_weather,{\"city\":\"Paris\"})"},
    {"Langfuse plain text",
     "{'attrs':{'langfuse.observation.type':'span','langfuse.observation.input':'question',"
     "'langfuse.observation.output':'answer'}}",
     "I user: t:question\nO assistant: t:answer"},
    {"Langfuse tool observation",
     "{'attrs':{'langfuse.observation.type':'tool','langfuse.observation.input':"
     "'{\\'query\\':\\'q\\'}','langfuse.observation.metadata.tool_call_id':'c7',"
     "'langfuse.observation.output':'Found 2 pages.'}}",
     "I assistant: call(c7,,{\"query\":\"q\"})\nO tool: resp(c7,\"Found 2 pages.\")"},
    {"Langfuse retriever output is documents, not a message",
     "{'attrs':{'langfuse.observation.type':'retriever','langfuse.observation.input':"
     "'{\\'query\\':\\'q\\'}','langfuse.observation.output':{'$json':[{'id':'d1',"
     "'score':0.9,'content':'one','metadata':{'k':1}},{'id':'d2','score':0.5,"
     "'content':'two'}]}}}",
     "I user: t:{\"query\":\"q\"}\nD d1 0.9 one\nD d2 0.5 two"},

    /* ---- execute_tool (semconv) ---- */
    {"execute_tool span",
     "{'attrs':{'gen_ai.operation.name':'execute_tool','gen_ai.tool.name':'search_docs',"
     "'gen_ai.tool.call.id':'call_fixture_0001','gen_ai.tool.call.arguments':"
     "'{\\'query\\':\\'example query\\',\\'top_k\\':3}',"
     "'gen_ai.tool.call.result':'Found 2 pages.'}}",
     "I assistant: call(call_fixture_0001,search_docs,{\"query\":\"example query\","
     "\"top_k\":3})\nO tool: resp(call_fixture_0001,\"Found 2 pages.\")"},

    /* ---- documents ---- */
    {"gen_ai.retrieval.documents structured, int id, no score",
     "{'attrs':{'gen_ai.retrieval.documents':[{'id':'doc_123','score':0.95,'content':'c'},"
     "{'id':7,'score':1},{'id':'n'},{'x':1}]}}",
     "D doc_123 0.95 c\nD 7 1\nD n -"},
    {"gen_ai.retrieval.documents as JSON text",
     "{'attrs':{'gen_ai.retrieval.documents':{'$json':[{'id':'a','score':0.5}]}}}", "D a 0.5"},
    {"OpenInference retrieval.documents",
     "{'attrs':{'retrieval.documents.1.document.id':'doc-002',"
     "'retrieval.documents.1.document.score':0.887,"
     "'retrieval.documents.0.document.id':'doc-001',"
     "'retrieval.documents.0.document.score':0.912,"
     "'retrieval.documents.0.document.content':'first',"
     "'retrieval.documents.0.document.metadata':'{}'}}",
     "D doc-001 0.912 first\nD doc-002 0.887"},
    {"OpenLLMetry db.query.result events",
     "{'events':[{'name':'db.query.embeddings','time':1,'attrs':{}},"
     "{'name':'db.query.result','time':2,'attrs':{'db.query.result.id':'a',"
     "'db.query.result.score':0.7,'db.query.result.distance':0.3,"
     "'db.query.result.document':'text a'}},{'name':'db.query.result','time':3,'attrs':{"
     "'db.query.result.id':'b','db.query.result.score':0.6}}]}",
     "D a 0.7 text a\nD b 0.6"},
    {"db.query.result.ids / scores arrays",
     "{'attrs':{'db.query.result.ids':['x','y'],'db.query.result.scores':[0.5,0.25,0.1]}}",
     "D x 0.5\nD y 0.25\nD  0.1"},

    /* ---- precedence: one form per side, never the same message twice ---- */
    {"span attributes win over log records of the same conversation",
     "{'attrs':{'gen_ai.input.messages':{'$json':[{'role':'system','parts':[{'type':'text',"
     "'content':'Be brief.'}]},{'role':'user','parts':[{'type':'text','content':"
     "'Weather in Paris?'}]}]}},'logs':" LOGS_EVENTS "}",
     "I system: t:Be brief.\nI user: t:Weather in Paris?\nO assistant fr=stop: t:Rain."},
    {"flattened OpenInference wins over input.value and output.value",
     "{'attrs':{'llm.input_messages.0.message.role':'user',"
     "'llm.input_messages.0.message.content':'Hi','input.value':{'$json':{'messages':[{"
     "'role':'user','content':'Hi'}]}},'llm.output_messages.0.message.role':'assistant',"
     "'llm.output_messages.0.message.content':'Yo','output.value':{'$json':{'choices':[{"
     "'message':{'role':'assistant','content':'Yo'},'finish_reason':'stop'}]}},"
     "'llm.finish_reason':'stop'}}",
     "I user: t:Hi\nO assistant fr=stop: t:Yo"},
    {"semconv and OpenLLMetry flattened together",
     "{'attrs':{'gen_ai.prompt.0.role':'user','gen_ai.prompt.0.content':'Hi',"
     "'gen_ai.completion.0.role':'assistant','gen_ai.completion.0.content':'Yo',"
     "'gen_ai.input.messages':{'$json':[{'role':'user','parts':[{'type':'text',"
     "'content':'Hi'}]}]},'gen_ai.output.messages':{'$json':[{'role':'assistant',"
     "'finish_reason':'stop','parts':[{'type':'text','content':'Yo'}]}]}}}",
     "I user: t:Hi\nO assistant fr=stop: t:Yo"},
    {"details event and per-message records of one call",
     "{'logs':[{'event_name':'gen_ai.user.message','time':1,'body':{'content':'Hi'}},"
     "{'event_name':'gen_ai.client.inference.operation.details','time':2,'attrs':{"
     "'gen_ai.input.messages':[{'role':'user','parts':[{'type':'text','content':'Hi'}]}],"
     "'gen_ai.output.messages':[{'role':'assistant','finish_reason':'stop','parts':[{"
     "'type':'text','content':'Yo'}]}]}},{'event_name':'gen_ai.choice','time':3,"
     "'body':{'index':0,'finish_reason':'stop','message':{'content':'Yo'}}}]}",
     "I user: t:Hi\nO assistant fr=stop: t:Yo"},
    {"request from the span, response from a log record",
     "{'attrs':{'gen_ai.input.messages':{'$json':[{'role':'user','parts':[{'type':'text',"
     "'content':'Hi'}]}]}},'logs':[{'event_name':'gen_ai.choice','time':3,'body':{'index':0,"
     "'finish_reason':'stop','message':{'content':'Yo'}}}]}",
     "I user: t:Hi\nO assistant fr=stop: t:Yo"},

    /* ---- malformed input and wrong types ---- */
    {"malformed JSON falls through to the next form",
     "{'attrs':{'gen_ai.input.messages':'[{\\'role\\':','gen_ai.output.messages':'{]',"
     "'gen_ai.system_instructions':'','gen_ai.retrieval.documents':'[1,'},"
     "'logs':[{'event_name':'gen_ai.user.message','time':1,'body':{'content':'Hi'}}]}",
     "I user: t:Hi"},
    {"wrong types are skipped or rendered",
     "{'attrs':{'gen_ai.input.messages':[5,'x',{'role':7,'parts':'nope'},{'role':'user',"
     "'parts':[1,{'type':'text','content':{'k':'v'}},{'type':'tool_call','name':3}]},"
     "{'role':'assistant','content':12.5,'tool_calls':7,'function_call':{'name':'old',"
     "'arguments':'{}'}}]}}",
     "I user:\n"
     "I user: t:{\"k\":\"v\"} | call(,,null)\n"
     "I assistant: t:12.5 | call(,old,{})"},
    {"not JSON where JSON was hoped for",
     "{'attrs':{'gen_ai.input.messages':'hello there','langfuse.observation.input':'{bad'}}",
     "I user: t:{bad"},
    {"bytes and empty values",
     "{'attrs':{'gen_ai.input.messages':{'$bytes':'[]'},"
     "'gen_ai.output.messages':[],'input.value':''}}",
     ""},
    {"nothing", "{'attrs':{'gen_ai.operation.name':'chat','gen_ai.request.model':'m'}}", ""},
    {"flattened keys that do not match",
     "{'attrs':{'llm.input_messages.01.message.role':'user',"
     "'llm.input_messages.-1.message.role':'user','llm.input_messages.1e3.message.role':'u',"
     "'llm.input_messages.10001.message.role':'user','llm.input_messages.3.message.rolex':'u',"
     "'llm.input_messages.3':'u','llm.input_messages.':'u','llm.input_messages.4.':'u',"
     "'llm.input_messages.10000.message.role':'last'}}",
     "I last:"},
};

static void run_case(const msg_case *tc)
{
    lt_arena *a = arena_new();
    assert_non_null(a);
    built b;
    build(a, tc->spec, &b);
    genai_messages m;
    int rc = genai_messages_collect(&b.span, b.logs, b.n_logs, a, &m);
    char *got = render(&m);
    if (strcmp(got, tc->want) != 0 || rc != (tc->want[0] ? 1 : 0))
        fail_msg("case \"%s\": rc %d\n--- got\n%s\n--- want\n%s", tc->name, rc, got, tc->want);
    free(got);
    arena_free(a);
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

/* The checker itself must be able to fail: a wrong expectation is caught. */
static void test_case_mismatch_detected(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    built b;
    build(a, "{'attrs':{'gen_ai.prompt':'x'}}", &b);
    genai_messages m;
    assert_int_equal(genai_messages_collect(&b.span, b.logs, b.n_logs, a, &m), 1);
    char *got = render(&m);
    assert_string_equal(got, "I user: t:x");
    assert_string_not_equal(got, "I user: t:y");
    free(got);
    arena_free(a);
}

/* Payload types: JSON numbers keep int / double, strings are arena copies. */
static void test_payload_types(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    built b;
    build(a,
          "{'attrs':{'gen_ai.output.messages':{'$json':[{'role':'assistant','parts':[{'type':"
          "'tool_call','name':'f','arguments':'{\\'i\\':3,\\'d\\':3.0,\\'s\\':\\'x\\'}'}]}]}}}",
          &b);
    genai_messages m;
    assert_int_equal(genai_messages_collect(&b.span, NULL, 0, a, &m), 1);
    assert_int_equal(m.n_output, 1);
    assert_int_equal(m.output[0].n_parts, 1);
    const genai_part *p = &m.output[0].parts[0];
    assert_int_equal(p->type, GA_PART_TOOL_CALL);
    assert_true(lt_str_eq_c(p->type_name, "tool_call"));
    assert_int_equal(p->payload.type, LT_VAL_KVLIST);
    assert_int_equal(p->payload.u.kv.n, 3);
    assert_int_equal(p->payload.u.kv.items[0].value.type, LT_VAL_INT);
    assert_int_equal(p->payload.u.kv.items[0].value.u.i, 3);
    assert_int_equal(p->payload.u.kv.items[1].value.type, LT_VAL_DOUBLE);
    assert_true(p->payload.u.kv.items[1].value.u.d == 3.0);
    const lt_value *s = &p->payload.u.kv.items[2].value;
    assert_int_equal(s->type, LT_VAL_STRING);
    /* copied into the arena, not a slice of the attribute's JSON text */
    const lt_str src = b.span.attrs.items[0].value.u.s;
    assert_false(s->u.s.ptr >= src.ptr && s->u.s.ptr < src.ptr + src.len);
    arena_free(a);
}

/* ------------------------------------------------------------------------------------ */
/* Hostile sizes                                                                        */
/* ------------------------------------------------------------------------------------ */

static lt_span *span_with_string(lt_arena *a, const char *key, const char *text, size_t len)
{
    lt_span *s = arena_calloc(a, 1, sizeof *s);
    memcpy(s->span_id, SPAN_ID, 8);
    s->attrs.items = arena_calloc(a, 1, sizeof(lt_kv));
    s->attrs.n = 1;
    s->attrs.items[0].key = lt_str_c(key);
    s->attrs.items[0].value.type = LT_VAL_STRING;
    s->attrs.items[0].value.u.s = (lt_str){text, len};
    return s;
}

static void test_many_messages_capped(void **state)
{
    (void)state;
    lt_buf j = {0};
    buf_putc(&j, '[');
    for (int i = 0; i < 20000; i++)
        buf_printf(&j, "%s{\"role\":\"user\",\"content\":\"m%d\"}", i ? "," : "", i);
    buf_putc(&j, ']');
    lt_arena *a = arena_new();
    lt_span *s = span_with_string(a, "gen_ai.input.messages", j.data, j.len);
    genai_messages m;
    assert_int_equal(genai_messages_collect(s, NULL, 0, a, &m), 1);
    assert_int_equal(m.n_input, 10000);
    assert_true(lt_str_eq_c(m.input[9999].parts[0].content, "m9999"));
    buf_free(&j);

    /* 5000 parts in one message: 1000 kept */
    buf_append_c(&j, "[{\"role\":\"user\",\"parts\":[");
    for (int i = 0; i < 5000; i++)
        buf_printf(&j, "%s{\"type\":\"text\",\"content\":\"p%d\"}", i ? "," : "", i);
    buf_append_c(&j, "]}]");
    s = span_with_string(a, "gen_ai.input.messages", j.data, j.len);
    assert_int_equal(genai_messages_collect(s, NULL, 0, a, &m), 1);
    assert_int_equal(m.n_input, 1);
    assert_int_equal(m.input[0].n_parts, 1000);
    buf_free(&j);
    arena_free(a);
}

static void test_deep_json(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    genai_messages m;
    /* arguments nested past MODEL_MAX_DEPTH stay the text they were sent as */
    lt_buf j = {0};
    buf_append_c(&j, "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"tool_call\",\"name\":\"f\","
                     "\"arguments\":\"");
    for (int i = 0; i < 100; i++)
        buf_putc(&j, '[');
    for (int i = 0; i < 100; i++)
        buf_putc(&j, ']');
    buf_append_c(&j, "\"}]}]");
    lt_span *s = span_with_string(a, "gen_ai.input.messages", j.data, j.len);
    assert_int_equal(genai_messages_collect(s, NULL, 0, a, &m), 1);
    assert_int_equal(m.input[0].parts[0].payload.type, LT_VAL_STRING);
    assert_int_equal(m.input[0].parts[0].payload.u.s.len, 200);
    buf_free(&j);

    /* a whole message list too deep, and one deeper than jansson's own limit: not JSON */
    for (int depth = 70; depth <= 100000; depth = depth * 10) {
        buf_append_c(&j, "[{\"role\":\"user\",\"content\":\"x\",\"extra\":");
        for (int i = 0; i < depth; i++)
            buf_putc(&j, '[');
        for (int i = 0; i < depth; i++)
            buf_putc(&j, ']');
        buf_append_c(&j, "}]");
        s = span_with_string(a, "gen_ai.input.messages", j.data, j.len);
        assert_int_equal(genai_messages_collect(s, NULL, 0, a, &m), 0);
        buf_free(&j);
    }

    /* 64 levels are fine */
    buf_append_c(&j, "[{\"role\":\"user\",\"content\":\"x\",\"extra\":");
    for (int i = 0; i < 62; i++)
        buf_putc(&j, '[');
    for (int i = 0; i < 62; i++)
        buf_putc(&j, ']');
    buf_append_c(&j, "}]");
    s = span_with_string(a, "gen_ai.input.messages", j.data, j.len);
    assert_int_equal(genai_messages_collect(s, NULL, 0, a, &m), 1);
    buf_free(&j);

    /* too big to parse: left alone */
    size_t big = ((size_t)16 << 20) + 10;
    char *t = malloc(big);
    assert_non_null(t);
    memset(t, ' ', big);
    memcpy(t, "[{\"role\":\"user\",\"content\":\"x\"}]", 31);
    s = span_with_string(a, "gen_ai.input.messages", t, big);
    assert_int_equal(genai_messages_collect(s, NULL, 0, a, &m), 0);
    s = span_with_string(a, "gen_ai.input.messages", t, big - 20);
    assert_int_equal(genai_messages_collect(s, NULL, 0, a, &m), 1);
    free(t);

    /* deeply nested structured AnyValue content is rendered as JSON without overflow */
    lt_value *v = arena_calloc(a, 1, sizeof *v);
    lt_value *cur = v;
    for (int i = 0; i < 200; i++) {
        cur->type = LT_VAL_ARRAY;
        cur->u.arr.n = 1;
        cur->u.arr.items = arena_calloc(a, 1, sizeof(lt_value));
        cur = cur->u.arr.items;
    }
    lt_kv *deep = arena_calloc(a, 1, sizeof *deep);
    deep[0].key = LT_STR("deep");
    deep[0].value = *v;
    lt_kv *f = arena_calloc(a, 1, sizeof *f);
    f[0].key = LT_STR("content");
    f[0].value.type = LT_VAL_KVLIST; /* an untyped part: kept as its JSON text */
    f[0].value.u.kv = (lt_attrs){deep, 1};
    lt_log_record r = {0};
    memcpy(r.span_id, SPAN_ID, 8);
    r.event_name = LT_STR("gen_ai.user.message");
    r.body.type = LT_VAL_KVLIST;
    r.body.u.kv = (lt_attrs){f, 1};
    const lt_log_record *rp = &r;
    lt_span empty = {0};
    memcpy(empty.span_id, SPAN_ID, 8);
    assert_int_equal(genai_messages_collect(&empty, &rp, 1, a, &m), 1);
    assert_int_equal(m.n_input, 1);
    assert_int_equal(m.input[0].parts[0].type, GA_PART_OTHER);
    lt_str js = m.input[0].parts[0].content;
    assert_true(js.len > 2 * 64 && js.len < 2 * 200); /* cut at the depth limit */
    assert_non_null(memmem(js.ptr, js.len, "null", 4));
    arena_free(a);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100000 flattened attributes in reverse order, and 100000 others: sorted, not quadratic. */
static void test_many_flattened(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    enum { N = 50000 };
    lt_span s = {0};
    memcpy(s.span_id, SPAN_ID, 8);
    s.attrs.items = arena_calloc(a, 2 * N + 100000, sizeof(lt_kv));
    char key[96];
    for (int i = N - 1; i >= 0; i--) {
        int idx = i % 10001;
        int n = snprintf(key, sizeof key, "llm.input_messages.%d.message.content", idx);
        lt_kv *kv = &s.attrs.items[s.attrs.n++];
        kv->key = arena_strdup(a, (lt_str){key, (size_t)n});
        kv->value.type = LT_VAL_STRING;
        kv->value.u.s = kv->key;
        n = snprintf(key, sizeof key, "llm.input_messages.%d.message.role", idx);
        kv = &s.attrs.items[s.attrs.n++];
        kv->key = arena_strdup(a, (lt_str){key, (size_t)n});
        kv->value.type = LT_VAL_STRING;
        kv->value.u.s = LT_STR("user");
    }
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(key, sizeof key, "app.attr.%d", i);
        lt_kv *kv = &s.attrs.items[s.attrs.n++];
        kv->key = arena_strdup(a, (lt_str){key, (size_t)n});
        kv->value.type = LT_VAL_INT;
    }
    double t0 = now_s();
    genai_messages m;
    assert_int_equal(genai_messages_collect(&s, NULL, 0, a, &m), 1);
    double dt = now_s() - t0;
    assert_int_equal(m.n_input, 10000); /* indices 0..10000: 10001 messages, capped */
    assert_true(lt_str_eq_c(m.input[0].parts[0].content, "llm.input_messages.0.message.content"));
    assert_true(
        lt_str_eq_c(m.input[9999].parts[0].content, "llm.input_messages.9999.message.content"));
    assert_true(dt < 5.0);

    /* many log records in reverse time order */
    enum { L = 20000 };
    lt_log_record *recs = arena_calloc(a, L, sizeof *recs);
    const lt_log_record **lp = arena_calloc(a, L, sizeof *lp);
    lt_kv *bodies = arena_calloc(a, L, sizeof *bodies);
    for (int i = 0; i < L; i++) {
        lt_log_record *r = &recs[i];
        memcpy(r->span_id, SPAN_ID, 8);
        r->time_unix_nano = (uint64_t)(L - i);
        r->event_name = LT_STR("gen_ai.user.message");
        int n = snprintf(key, sizeof key, "u%d", L - i);
        bodies[i].key = LT_STR("content");
        bodies[i].value.type = LT_VAL_STRING;
        bodies[i].value.u.s = arena_strdup(a, (lt_str){key, (size_t)n});
        r->body.type = LT_VAL_KVLIST;
        r->body.u.kv = (lt_attrs){&bodies[i], 1};
        lp[i] = r;
    }
    lt_span empty = {0};
    memcpy(empty.span_id, SPAN_ID, 8);
    t0 = now_s();
    assert_int_equal(genai_messages_collect(&empty, lp, L, a, &m), 1);
    assert_true(now_s() - t0 < 5.0);
    assert_int_equal(m.n_input, 10000);
    assert_true(lt_str_eq_c(m.input[0].parts[0].content, "u1"));
    assert_true(lt_str_eq_c(m.input[9999].parts[0].content, "u10000"));
    arena_free(a);
}

/* ------------------------------------------------------------------------------------ */
/* Allocation failure                                                                   */
/* ------------------------------------------------------------------------------------ */

static const char *const OOM_SPECS[] = {
    "{'attrs':{'gen_ai.input.messages':{'$json2':" CONV_SEMCONV "},"
    "'gen_ai.output.messages':{'$json':" OUT_SEMCONV "},"
    "'gen_ai.system_instructions':{'$json':[{'type':'other','x':[1,{'y':2}]}]},"
    "'gen_ai.retrieval.documents':{'$json':[{'id':3,'score':0.5,'content':{'a':1}}]}},"
    "'logs':" LOGS_EVENTS "}",
    "{'attrs':{'llm.input_messages.1.message.role':'user','llm.input_messages.1.message."
    "content':'x','llm.input_messages.0.message.role':'system','llm.output_messages.0."
    "message.tool_calls.0.tool_call.function.arguments':'{\\'a\\':[1,2]}',"
    "'retrieval.documents.0.document.id':5}, 'logs':" LOGS_EVENTS "}",
    "{'logs':" LOGS_EVENTS "}",
    "{'attrs':{'langfuse.observation.type':'retriever','langfuse.observation.output':{'$json':"
    "[{'id':'d','score':1}]},'langfuse.observation.input':{'$json':{'messages':" CONV_OPENAI "}}}}",
};

/* The Nth allocation of the process fails (arena blocks, buffers), and separately every
 * arena bound up to what a collection needs: the result is LT_ENOMEM with nothing in out,
 * or the full result, never a partial one. */
static void test_alloc_failure(void **state)
{
    (void)state;
    for (size_t t = 0; t < sizeof OOM_SPECS / sizeof OOM_SPECS[0]; t++) {
        lt_arena *ref = arena_new();
        built b;
        build(ref, OOM_SPECS[t], &b);
        genai_messages m;
        lt_arena *probe = arena_new();
        int want_rc = genai_messages_collect(&b.span, b.logs, b.n_logs, probe, &m);
        size_t need = arena_used(probe);
        assert_int_equal(want_rc, 1);
        char *want = render(&m);
        int fails = 0;
        for (long k = 0;; k++) {
            lt_arena *a = arena_new();
            assert_non_null(a);
            alloc_fail_after(k);
            int rc = genai_messages_collect(&b.span, b.logs, b.n_logs, a, &m);
            alloc_fail_after(-1);
            arena_free(a);
            if (rc == 0 || rc == 1) break;
            assert_int_equal(rc, LT_ENOMEM);
            assert_int_equal(m.n_input + m.n_output + m.n_system + m.n_docs, 0);
            assert_null(m.input);
            fails++;
            assert_true(k < 100000);
        }
        assert_true(fails > 0);
        fails = 0;
        for (size_t limit = 8; limit <= need + 8; limit += 8) {
            lt_arena *a = arena_new();
            arena_set_limit(a, limit);
            int rc = genai_messages_collect(&b.span, b.logs, b.n_logs, a, &m);
            if (rc == LT_ENOMEM) {
                assert_true(arena_over_limit(a));
                assert_int_equal(m.n_input + m.n_output + m.n_system + m.n_docs, 0);
                fails++;
            } else {
                assert_int_equal(rc, want_rc);
                char *got = render(&m);
                if (strcmp(got, want) != 0)
                    fail_msg("spec %zu, arena limit %zu: result differs\n%s\n---\n%s", t, limit,
                             got, want);
                free(got);
            }
            arena_free(a);
        }
        assert_true(fails > 0);
        free(want);
        arena_free(probe);
        arena_free(ref);
    }
}

/* jansson allocating nothing: the JSON is not taken for malformed, the call fails. */
static bool jansson_fail;
static void *failing_malloc(size_t n)
{
    return jansson_fail ? NULL : malloc(n);
}

static void test_jansson_oom(void **state)
{
    (void)state;
    lt_arena *a = arena_new();
    built b;
    build(a, "{'attrs':{'gen_ai.input.messages':{'$json':" CONV_SEMCONV "}}}", &b);
    json_set_alloc_funcs(failing_malloc, free);
    jansson_fail = true;
    genai_messages m;
    int rc = genai_messages_collect(&b.span, NULL, 0, a, &m);
    jansson_fail = false;
    assert_int_equal(rc, LT_ENOMEM);
    assert_int_equal(genai_messages_collect(&b.span, NULL, 0, a, &m), 1);
    assert_int_equal(m.n_input, 3);
    json_set_alloc_funcs(malloc, free);
    arena_free(a);
}

/* ------------------------------------------------------------------------------------ */
/* Fixtures                                                                             */
/* ------------------------------------------------------------------------------------ */

enum { MAX_SPANS = 1024, MAX_RECS = 2048, MAX_FILES = 2048 };

/* One scenario folder, decoded: its spans and log records, and each span's collection. */
typedef struct {
    char lib[256], scenario[256], base[256];
    const lt_span *spans[MAX_SPANS];
    uint32_t n_spans;
    const lt_log_record *recs[MAX_RECS];
    uint32_t n_recs;
    genai_messages m[MAX_SPANS];
    char *bufs[MAX_FILES];
    int n_bufs;
    json_t *expected;
} scenario;

/* The decoder to use: protobuf bodies if the folder has them, else JSON. */
static int pick_suffix(const char *dir, const char **traces, const char **logs)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool pb = false, grpc = false;
    for (struct dirent *e; (e = readdir(d));) {
        if (fx_ends(e->d_name, "-traces.pb")) pb = true;
        if (fx_ends(e->d_name, "-traces.grpc.bin")) grpc = true;
    }
    closedir(d);
    if (pb) {
        *traces = "-traces.pb";
        *logs = "-logs.pb";
        return 1;
    }
    if (grpc) {
        *traces = "-traces.grpc.bin";
        *logs = "-logs.grpc.bin";
        return 1;
    }
    *traces = "-traces.json";
    *logs = "-logs.json";
    return 0;
}

static void load_scenario(lt_arena *a, const char *dir, scenario *sc)
{
    const char *tsuf, *lsuf;
    int pb = pick_suffix(dir, &tsuf, &lsuf);
    /* NNNN- is the arrival order: records of one span with equal times keep it */
    static char *names[MAX_FILES];
    size_t n_names = fx_list(dir, names, MAX_FILES);
    for (size_t f = 0; f < n_names; f++) {
        bool tr = fx_ends(names[f], tsuf);
        if (!tr && !fx_ends(names[f], lsuf)) {
            free(names[f]);
            continue;
        }
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        free(names[f]);
        size_t len = 0;
        char *data = fx_must_read(path, &len);
        assert_true(sc->n_bufs < MAX_FILES);
        sc->bufs[sc->n_bufs++] = data;
        if (tr) {
            lt_trace_batch tb;
            int rc = pb ? pb_decode_traces(a, (const uint8_t *)data, len, &tb)
                        : json_decode_traces(a, data, len, &tb);
            assert_int_equal(rc, 0);
            for (uint32_t i = 0; i < tb.n_rs; i++)
                for (uint32_t j = 0; j < tb.rs[i].n_scopes; j++)
                    for (uint32_t k = 0; k < tb.rs[i].scopes[j].n_spans; k++) {
                        assert_true(sc->n_spans < MAX_SPANS);
                        sc->spans[sc->n_spans++] = &tb.rs[i].scopes[j].spans[k];
                    }
        } else {
            lt_log_batch lb;
            int rc = pb ? pb_decode_logs(a, (const uint8_t *)data, len, &lb)
                        : json_decode_logs(a, data, len, &lb);
            assert_int_equal(rc, 0);
            for (uint32_t i = 0; i < lb.n_rl; i++)
                for (uint32_t j = 0; j < lb.rl[i].n_scopes; j++)
                    for (uint32_t k = 0; k < lb.rl[i].scopes[j].n_records; k++) {
                        assert_true(sc->n_recs < MAX_RECS);
                        sc->recs[sc->n_recs++] = &lb.rl[i].scopes[j].records[k];
                    }
        }
    }
    char path[2048];
    snprintf(path, sizeof path, "%s/expected.json", dir);
    json_error_t err;
    sc->expected = json_load_file(path, 0, &err);
    assert_non_null(sc->expected);

    /* attach records to spans by span id, then collect */
    const lt_log_record **mine = calloc(sc->n_recs + 1, sizeof *mine);
    assert_non_null(mine);
    uint32_t attached = 0;
    for (uint32_t i = 0; i < sc->n_spans; i++) {
        uint32_t n = 0;
        for (uint32_t r = 0; r < sc->n_recs; r++)
            if (!memcmp(sc->recs[r]->span_id, sc->spans[i]->span_id, 8)) mine[n++] = sc->recs[r];
        attached += n;
        int rc = genai_messages_collect(sc->spans[i], mine, n, a, &sc->m[i]);
        assert_true(rc == 0 || rc == 1);
    }
    assert_int_equal(attached, sc->n_recs);
    free(mine);
}

static void free_scenario(scenario *sc)
{
    for (int i = 0; i < sc->n_bufs; i++)
        free(sc->bufs[i]);
    json_decref(sc->expected);
}

static const genai_part *first_part(const genai_message *m, genai_part_type t)
{
    for (uint32_t i = 0; i < m->n_parts; i++)
        if (m->parts[i].type == t) return &m->parts[i];
    return NULL;
}

static bool has_text(const genai_message *m, uint32_t n, const char *role, const char *text)
{
    for (uint32_t i = 0; i < n; i++) {
        if (!lt_str_eq_c(m[i].role, role)) continue;
        for (uint32_t k = 0; k < m[i].n_parts; k++)
            if (m[i].parts[k].type == GA_PART_TEXT && lt_str_eq_c(m[i].parts[k].content, text))
                return true;
    }
    return false;
}

static const lt_value *kv(const lt_value *v, const char *key)
{
    if (v->type != LT_VAL_KVLIST) return NULL;
    for (uint32_t i = 0; i < v->u.kv.n; i++)
        if (lt_str_eq_c(v->u.kv.items[i].key, key)) return &v->u.kv.items[i].value;
    return NULL;
}

static lt_str vstr_of(const lt_value *v)
{
    return v && v->type == LT_VAL_STRING ? v->u.s : LT_STR_NULL;
}

static bool is_lib(const scenario *sc, const char *lib)
{
    return !strcmp(sc->lib, lib);
}

/* The chat span (index): its input has a system message and this user text, and its output
 * is non-empty unless not required; -1 if none. (Agent and pipeline spans may carry the
 * same user text as generic input, without the system message.) */
static int find_chat(const scenario *sc, const char *user, bool need_output)
{
    for (uint32_t i = 0; i < sc->n_spans; i++)
        if (sc->m[i].n_input && lt_str_eq_c(sc->m[i].input[0].role, "system") &&
            has_text(sc->m[i].input, sc->m[i].n_input, "user", user) &&
            (!need_output || sc->m[i].n_output))
            return (int)i;
    return -1;
}

static const char SYSTEM_TEXT[] = "You are a concise assistant for an observability product.";
static const char ANSWER_MINI[] = "This is a deterministic fixture answer from "
                                  "gpt-4o-mini-2024-07-18.";

/* One chat: system and user text in, assistant text out with this finish reason (Langfuse
 * records none). */
static void check_chat(const scenario *sc, const char *sys, const char *user, const char *out,
                       const char *finish)
{
    int i = find_chat(sc, user, true);
    if (i < 0) fail_msg("%s/%s: no span with user message \"%s\"", sc->lib, sc->scenario, user);
    const genai_messages *m = &sc->m[i];
    assert_int_equal(m->n_input, 2);
    assert_true(lt_str_eq_c(m->input[0].role, "system"));
    assert_true(has_text(m->input, 1, "system", sys));
    assert_true(lt_str_eq_c(m->input[1].role, "user"));
    assert_int_equal(m->n_output, 1);
    assert_true(lt_str_eq_c(m->output[0].role, "assistant"));
    if (out) assert_true(has_text(m->output, 1, "assistant", out));
    if (!is_lib(sc, "langfuse"))
        assert_true(lt_str_eq_c(m->output[0].finish_reason, finish));
    else
        assert_int_equal(m->output[0].finish_reason.len, 0);
}

/* Every otel log record is a message of its span, in the order of expected.json's logs:
 * compares (event, text) sequences per span name. */
static void check_otel_logs(const scenario *sc)
{
    json_t *logs = json_object_get(sc->expected, "logs");
    assert_true(json_array_size(logs) > 0);
    /* by span name: how many messages expected.json lists, and how many we have */
    size_t idx;
    json_t *l;
    json_t *want = json_object(), *got = json_object();
    json_array_foreach(logs, idx, l)
    {
        const char *span = json_string_value(json_object_get(l, "span"));
        json_int_t n = json_integer_value(json_object_get(want, span));
        json_object_set_new(want, span, json_integer(n + 1));
    }
    for (uint32_t i = 0; i < sc->n_spans; i++) {
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)sc->spans[i]->name.len, sc->spans[i]->name.ptr);
        if (!json_object_get(want, name)) continue; /* e.g. execute_tool: from attributes */
        json_int_t n = json_integer_value(json_object_get(got, name));
        json_object_set_new(got, name, json_integer(n + sc->m[i].n_input + sc->m[i].n_output));
    }
    assert_true(json_equal(want, got));
    json_decref(want);
    json_decref(got);

    /* the content of each record is in its span's messages (spans named uniquely) */
    json_array_foreach(logs, idx, l)
    {
        const char *span = json_string_value(json_object_get(l, "span"));
        const char *ev = json_string_value(json_object_get(l, "event_name"));
        json_t *body = json_object_get(l, "body");
        if (!body) continue; /* the large batches list no bodies */
        int found = 0;
        for (uint32_t i = 0; i < sc->n_spans; i++) {
            if (!lt_str_eq_c(sc->spans[i]->name, span)) continue;
            const genai_messages *m = &sc->m[i];
            const char *content = json_string_value(json_object_get(body, "content"));
            if (!strcmp(ev, "gen_ai.choice")) {
                json_t *msg = json_object_get(body, "message");
                const char *txt = json_string_value(json_object_get(msg, "content"));
                const char *fr = json_string_value(json_object_get(body, "finish_reason"));
                for (uint32_t k = 0; k < m->n_output; k++)
                    if (lt_str_eq_c(m->output[k].finish_reason, fr) &&
                        (!txt || has_text(&m->output[k], 1, "assistant", txt)))
                        found++;
            } else {
                const char *role = !strcmp(ev, "gen_ai.system.message") ? "system" : "user";
                if (content && has_text(m->input, m->n_input, role, content)) found++;
            }
        }
        if (!found) fail_msg("%s: log %s of %s not found", sc->scenario, ev, span);
    }
}

static void check_scenario(const scenario *sc)
{
    const char *b = sc->base;
    if (!strcmp(b, "single-chat")) {
        check_chat(sc, SYSTEM_TEXT, "In one sentence, what is OpenTelemetry?", ANSWER_MINI, "stop");
    } else if (!strcmp(b, "chat-length")) {
        check_chat(sc, SYSTEM_TEXT, "Describe OTLP in detail.", "This is a deterministic",
                   "length");
    } else if (!strcmp(b, "rag")) {
        static const char *const ids[] = {"doc-001", "doc-002", "doc-003", "doc-004", "doc-005"};
        static const double scores[] = {0.912, 0.887, 0.843, 0.796, 0.751};
        int with_docs = 0;
        for (uint32_t i = 0; i < sc->n_spans; i++) {
            const genai_messages *m = &sc->m[i];
            if (!m->n_docs) continue;
            with_docs++;
            assert_int_equal(m->n_docs, 5);
            for (int d = 0; d < 5; d++) {
                assert_true(lt_str_eq_c(m->docs[d].id, ids[d]));
                assert_true(m->docs[d].has_score);
                assert_true(fabs(m->docs[d].score - scores[d]) < 1e-6);
            }
            if (!is_lib(sc, "otel")) /* the others send the text */
                assert_true(lt_str_eq_c(m->docs[0].content,
                                        "OTLP/HTTP sends protobuf or JSON bodies to /v1/traces."));
            assert_int_equal(m->n_output, 0); /* documents are not also a message */
        }
        assert_int_equal(with_docs, 1);
        int i = find_chat(sc, "How does a collector receive OTLP traces?", true);
        assert_true(i >= 0);
        /* the chat span, not the pipeline root that also has the question */
        check_chat(sc,
                   "You are a concise assistant for an observability product.\nAnswer using "
                   "only this context:\n[doc-001] OTLP/HTTP sends protobuf or JSON bodies to "
                   "/v1/traces.\n[doc-002] Spans are grouped by resource and instrumentation "
                   "scope.\n[doc-003] GenAI spans carry gen_ai.usage.input_tokens and "
                   "gen_ai.usage.output_tokens.\n[doc-004] The traceparent header carries the "
                   "W3C trace context between services.\n[doc-005] A collector should accept "
                   "gzip-compressed request bodies.",
                   "How does a collector receive OTLP traces?",
                   "A collector receives OTLP traces on /v1/traces over HTTP or via the gRPC "
                   "TraceService.",
                   "stop");
    } else if (!strcmp(b, "streaming")) {
        check_chat(sc, SYSTEM_TEXT, "Stream a short explanation of spans.", ANSWER_MINI, "stop");
        int i = find_chat(sc, "What is the weather in Paris?", true);
        assert_true(i >= 0);
        const genai_messages *m = &sc->m[i];
        assert_int_equal(m->n_output, 1);
        const genai_part *p = first_part(&m->output[0], GA_PART_TOOL_CALL);
        assert_non_null(p);
        assert_true(lt_str_eq_c(p->name, "get_weather"));
        if (!is_lib(sc, "langfuse")) assert_true(lt_str_eq_c(p->id, "call_fixture_0001"));
        assert_int_equal(p->payload.type, LT_VAL_KVLIST);
        assert_true(lt_str_eq_c(vstr_of(kv(&p->payload, "city")), "example city"));
        assert_true(lt_str_eq_c(vstr_of(kv(&p->payload, "unit")), "celsius"));
        const char *fr = is_lib(sc, "traceloop")  ? "tool_call"
                         : is_lib(sc, "langfuse") ? ""
                                                  : "tool_calls";
        assert_true(lt_str_eq_c(m->output[0].finish_reason, fr));
    } else if (!strcmp(b, "multi-agent")) {
        check_chat(sc, "You are the coder agent.", "Subtask from planner: implement the change",
                   ANSWER_MINI, "stop");
        int i = find_chat(sc, "Add gzip support to the OTLP receiver.", true);
        assert_true(i >= 0);
        const genai_part *p = first_part(&sc->m[i].output[0], GA_PART_TOOL_CALL);
        assert_non_null(p);
        assert_true(lt_str_eq_c(p->name, "search_docs"));
        assert_true(lt_str_eq_c(p->id, "call_fixture_0001"));
        assert_true(lt_str_eq_c(vstr_of(kv(&p->payload, "query")), "example query"));
        const lt_value *k = kv(&p->payload, "top_k");
        assert_true(k && k->type == LT_VAL_INT && k->u.i == 3);
        /* the tool execution: call in, response out */
        int tools = 0;
        for (uint32_t s = 0; s < sc->n_spans; s++) {
            const genai_messages *m = &sc->m[s];
            if (m->n_output != 1 || !lt_str_eq_c(m->output[0].role, "tool")) continue;
            tools++;
            const genai_part *r = first_part(&m->output[0], GA_PART_TOOL_CALL_RESPONSE);
            assert_non_null(r);
            assert_true(lt_str_eq_c(vstr_of(&r->payload), "Found 2 pages: \"OTLP exporter "
                                                          "setup\", \"Collector ingestion "
                                                          "limits\"."));
            const genai_part *c = first_part(&m->input[0], GA_PART_TOOL_CALL);
            assert_non_null(c);
            assert_true(lt_str_eq_c(c->name, "search_docs"));
            assert_true(lt_str_eq_c(vstr_of(kv(&c->payload, "query")), "example query"));
            if (!is_lib(sc, "traceloop")) { /* Traceloop's tool span has no call id */
                assert_true(lt_str_eq_c(r->id, "call_fixture_0001"));
                assert_true(lt_str_eq_c(c->id, "call_fixture_0001"));
            }
        }
        assert_int_equal(tools, 1);
    } else if (!strcmp(b, "errors")) {
        if (!is_lib(sc, "otel") && !is_lib(sc, "langfuse")) return; /* no LLM spans sent */
        static const char *const users[] = {"Summarise this very long log file. [[429]]",
                                            "Summarise this very long log file. [[ctx]]",
                                            "Summarise this very long log file. [[slow]]"};
        for (int u = 0; u < 3; u++) {
            int i = find_chat(sc, users[u], false);
            assert_true(i >= 0);
            assert_int_equal(sc->m[i].n_input, 2);
            assert_int_equal(sc->m[i].n_output, 0);
        }
    } else if (!strcmp(b, "batch")) {
        int chats = 0;
        for (uint32_t i = 0; i < sc->n_spans; i++) {
            const genai_messages *m = &sc->m[i];
            if (m->n_input == 2 && m->n_output == 1 && lt_str_eq_c(m->input[0].role, "system"))
                chats++;
        }
        assert_int_equal(chats, 200);
    } else {
        fail_msg("unknown scenario %s", sc->scenario);
    }
    if (is_lib(sc, "otel")) check_otel_logs(sc);
}

static void dump_scenario(const scenario *sc)
{
    if (!getenv("LT_MSG_DUMP")) return;
    for (uint32_t i = 0; i < sc->n_spans; i++) {
        char *r = render(&sc->m[i]);
        printf("== %s/%s: %.*s\n%s\n", sc->lib, sc->scenario, (int)sc->spans[i]->name.len,
               sc->spans[i]->name.ptr, r);
        free(r);
    }
}

/* Loads and checks one scenario folder; arg counts the folders checked. */
static void fixture_scenario(const char *dir, const char *lib, const char *scen, void *arg)
{
    if (strstr(scen, "-nocontent")) return;
    scenario *sc = calloc(1, sizeof *sc);
    assert_non_null(sc);
    snprintf(sc->lib, sizeof sc->lib, "%s", lib);
    snprintf(sc->scenario, sizeof sc->scenario, "%s", scen);
    snprintf(sc->base, sizeof sc->base, "%s", scen);
    static const char *const sufs[] = {"-proto", "-json", "-grpc"};
    for (int s = 0; s < 3; s++)
        if (fx_ends(sc->base, sufs[s])) sc->base[strlen(sc->base) - strlen(sufs[s])] = 0;
    lt_arena *a = arena_new();
    load_scenario(a, dir, sc);
    dump_scenario(sc);
    check_scenario(sc);
    (*(int *)arg)++;
    free_scenario(sc);
    arena_free(a);
    free(sc);
}

static void test_fixtures(void **state)
{
    (void)state;
    int checked = 0;
    fx_walk(fixture_scenario, &checked);
    assert_int_equal(checked, 43); /* 48 folders, 5 of them without content */
}

/* Folders without content: the structure is there, no text. */
static void test_fixtures_nocontent(void **state)
{
    (void)state;
    static const char *const dirs[] = {"otel/single-chat-nocontent-proto",
                                       "traceloop/single-chat-nocontent"};
    for (size_t t = 0; t < 2; t++) {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/otlp/%s", LT_FIXTURES, dirs[t]);
        scenario *sc = calloc(1, sizeof *sc);
        lt_arena *a = arena_new();
        load_scenario(a, dir, sc);
        assert_int_equal(sc->n_spans, 1);
        const genai_messages *m = &sc->m[0];
        if (t == 0) { /* the records without content: roles and the finish reason */
            char *r = render(m);
            assert_string_equal(r, "I system:\nI user:\nO assistant fr=stop:");
            free(r);
        } else {
            assert_int_equal(m->n_input + m->n_output + m->n_system + m->n_docs, 0);
        }
        free_scenario(sc);
        arena_free(a);
        free(sc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),         cmocka_unit_test(test_case_mismatch_detected),
        cmocka_unit_test(test_payload_types), cmocka_unit_test(test_many_messages_capped),
        cmocka_unit_test(test_deep_json),     cmocka_unit_test(test_many_flattened),
        cmocka_unit_test(test_alloc_failure), cmocka_unit_test(test_jansson_oom),
        cmocka_unit_test(test_fixtures),      cmocka_unit_test(test_fixtures_nocontent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
