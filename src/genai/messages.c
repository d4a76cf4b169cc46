/* messages.c — the messages and retrieval documents of one span (genai_messages_collect),
 * from whichever form the sender used.
 *
 * Design. Every form is first reduced to lt_value trees: structured AnyValues are read as
 * they are, and JSON text (also double-encoded) is parsed with jansson into the arena, so
 * both take one path. A few shape readers then turn trees into messages: semconv messages
 * ({role, parts}), OpenAI/Anthropic-style messages ({role, content, tool_calls}), the
 * per-message events (gen_ai.user.message ... gen_ai.choice), and the flattened index keys
 * of OpenInference and OpenLLMetry. The forms are tried in a fixed order (forms[] below,
 * documented in docs/messages.md), separately for the request side (input and system), the
 * response side (output) and the documents; the first form that yields anything for a side
 * wins that side, so a conversation sent in two forms is never listed twice.
 *
 * Flattened keys (llm.input_messages.3.message.content ...) are matched against a table of
 * patterns in one pass over the attributes, kept as (list, index, sub-index, field) entries
 * and sorted: O(n log n) in the attribute count whatever the indices are.
 *
 * Limits on untrusted input: a flattened index is at most MSG_MAX_INDEX; a list holds at
 * most MSG_MAX_MESSAGES messages, a message MSG_MAX_PARTS parts, a span MSG_MAX_DOCS
 * documents; JSON text is parsed up to MSG_MAX_JSON bytes and MODEL_MAX_DEPTH nested
 * containers, and a JSON string inside a JSON string is decoded MSG_MAX_REDECODE times at
 * most. What passes a limit is dropped (JSON that is too deep counts as not JSON), never an
 * error. Strings are slices of the span's and records' own strings, or arena copies for
 * what came out of JSON text. */
#include "genai/genai.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonw.h"

enum {
    MSG_MAX_INDEX = 10000,
    MSG_MAX_MESSAGES = 10000,
    MSG_MAX_PARTS = 1000,
    MSG_MAX_DOCS = 10000,
    MSG_MAX_REDECODE = 2,
    MSG_MAX_WRAP = 2, /* {"messages": ...} wrappers followed */
};
#define MSG_MAX_JSON ((size_t)16 << 20)

typedef struct {
    lt_arena *a;
    int err; /* LT_ENOMEM once an allocation failed; sticky */
} ctx;

/* ------------------------------------------------------------------------------------ */
/* Growable arrays in the arena (a grown array leaves its old copy behind: at most 2x)   */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    void *items;
    uint32_t n, cap;
} vec;

/* A new zeroed slot, or NULL when the vector holds max items or on LT_ENOMEM. */
static void *vec_push(ctx *c, vec *v, size_t size, uint32_t max)
{
    if (c->err || v->n >= max) return NULL;
    if (v->n == v->cap) {
        uint32_t nc = v->cap ? (v->cap > max / 2 ? max : v->cap * 2) : 4;
        if (nc > max) nc = max;
        void *p = arena_alloc(c->a, (size_t)nc * size);
        if (!p) {
            c->err = LT_ENOMEM;
            return NULL;
        }
        if (v->n) memcpy(p, v->items, (size_t)v->n * size);
        v->items = p;
        v->cap = nc;
    }
    void *slot = (char *)v->items + (size_t)v->n++ * size;
    memset(slot, 0, size);
    return slot;
}

static genai_message *push_msg(ctx *c, vec *v)
{
    return vec_push(c, v, sizeof(genai_message), MSG_MAX_MESSAGES);
}

/* ------------------------------------------------------------------------------------ */
/* Values                                                                               */
/* ------------------------------------------------------------------------------------ */

static bool key_is(lt_str k, const char *s, size_t n)
{
    return k.len == n && memcmp(k.ptr, s, n) == 0;
}

/* The value of key in o (the last one when sent twice), or NULL. */
static const lt_value *kv_get(const lt_attrs *o, const char *key)
{
    if (!o) return NULL;
    size_t n = strlen(key);
    for (uint32_t i = o->n; i-- > 0;)
        if (key_is(o->items[i].key, key, n)) return &o->items[i].value;
    return NULL;
}

static lt_str vstr(const lt_value *v)
{
    return v && v->type == LT_VAL_STRING ? v->u.s : LT_STR_NULL;
}

static const lt_attrs *vobj(const lt_value *v)
{
    return v && v->type == LT_VAL_KVLIST ? &v->u.kv : NULL;
}

static lt_str get_str(const lt_attrs *o, const char *key)
{
    return vstr(kv_get(o, key));
}

/* The first of the keys (a NULL-terminated list) that o has as a non-empty string. */
static lt_str get_str_any(const lt_attrs *o, const char *const *keys)
{
    for (; *keys; keys++) {
        lt_str s = get_str(o, *keys);
        if (s.len) return s;
    }
    return LT_STR_NULL;
}

static const lt_value *get_any(const lt_attrs *o, const char *const *keys)
{
    for (; *keys; keys++) {
        const lt_value *v = kv_get(o, *keys);
        if (v && v->type != LT_VAL_EMPTY) return v;
    }
    return NULL;
}

static lt_str copy(ctx *c, const char *p, size_t n)
{
    if (c->err) return LT_STR_NULL;
    lt_str r = arena_strdup(c->a, (lt_str){p, n});
    if (!r.ptr) c->err = LT_ENOMEM;
    return r;
}

/* Converts a jansson tree into an lt_value in the arena. false when it nests deeper than
 * MODEL_MAX_DEPTH or on LT_ENOMEM (c->err). Objects keep their member order. */
static bool from_json(ctx *c, json_t *j, lt_value *out, int depth)
{
    memset(out, 0, sizeof *out);
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        if (depth >= MODEL_MAX_DEPTH) return false;
        size_t n = json_object_size(j);
        lt_kv *kv = n ? arena_calloc(c->a, n, sizeof *kv) : NULL;
        if (n && !kv) {
            c->err = LT_ENOMEM;
            return false;
        }
        uint32_t i = 0;
        for (void *it = json_object_iter(j); it && i < n; it = json_object_iter_next(j, it)) {
            kv[i].key = copy(c, json_object_iter_key(it), json_object_iter_key_len(it));
            if (c->err || !from_json(c, json_object_iter_value(it), &kv[i].value, depth + 1))
                return false;
            i++;
        }
        out->type = LT_VAL_KVLIST;
        out->u.kv.items = kv;
        out->u.kv.n = i;
        return true;
    }
    case JSON_ARRAY: {
        if (depth >= MODEL_MAX_DEPTH) return false;
        size_t n = json_array_size(j);
        lt_value *items = n ? arena_calloc(c->a, n, sizeof *items) : NULL;
        if (n && !items) {
            c->err = LT_ENOMEM;
            return false;
        }
        for (size_t i = 0; i < n; i++)
            if (!from_json(c, json_array_get(j, i), &items[i], depth + 1)) return false;
        out->type = LT_VAL_ARRAY;
        out->u.arr.items = items;
        out->u.arr.n = (uint32_t)n;
        return true;
    }
    case JSON_STRING:
        out->type = LT_VAL_STRING;
        out->u.s = copy(c, json_string_value(j), json_string_length(j));
        return !c->err;
    case JSON_INTEGER:
        out->type = LT_VAL_INT;
        out->u.i = (int64_t)json_integer_value(j);
        return true;
    case JSON_REAL:
        out->type = LT_VAL_DOUBLE;
        out->u.d = json_real_value(j);
        return true;
    case JSON_TRUE:
    case JSON_FALSE:
        out->type = LT_VAL_BOOL;
        out->u.b = json_is_true(j);
        return true;
    case JSON_NULL:
    default:
        return true; /* LT_VAL_EMPTY */
    }
}

/* The value JSON text s holds (any JSON value, RFC 8259), or NULL when s is not JSON, too
 * big or too deep, or on LT_ENOMEM (c->err).
 *
 * jansson 2.14 reports most of its allocation failures with json_error_out_of_memory, but
 * some return NULL without setting any error (lex_init, json_object()): the code is preset
 * to out-of-memory so that those count as what they are. A few failures inside its lexer
 * are ignored by jansson itself and surface as a syntax error: such text is then skipped
 * as malformed, which is safe. */
static const lt_value *parse_json(ctx *c, lt_str s)
{
    if (c->err || s.len == 0 || s.len > MSG_MAX_JSON) return NULL;
    json_error_t e;
    e.text[JSON_ERROR_TEXT_LENGTH - 1] = (char)json_error_out_of_memory;
    json_t *j = json_loadb(s.ptr, s.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!j) {
        if (json_error_code(&e) == json_error_out_of_memory) c->err = LT_ENOMEM;
        return NULL;
    }
    lt_value *v = arena_alloc(c->a, sizeof *v);
    bool ok = false;
    if (!v)
        c->err = LT_ENOMEM;
    else
        ok = from_json(c, j, v, 0);
    json_decref(j);
    return ok ? v : NULL;
}

static char first_char(lt_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        char ch = s.ptr[i];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') return ch;
    }
    return 0;
}

/* v, or the value of the JSON text in v when v is a string holding JSON; a string that is
 * JSON of a string holding JSON is decoded again (MSG_MAX_REDECODE times at most). Only
 * text that starts like an array, object or string is tried, except that with scalars the
 * first level may be any JSON ("42", "null"). NULL only when v is NULL. */
static const lt_value *decode(ctx *c, const lt_value *v, bool scalars)
{
    for (int i = 0; i <= MSG_MAX_REDECODE && v && v->type == LT_VAL_STRING; i++) {
        char f = first_char(v->u.s);
        if (f != '[' && f != '{' && f != '"' && !(scalars && i == 0)) break;
        const lt_value *p = parse_json(c, v->u.s);
        if (!p) break;
        v = p;
    }
    return v;
}

/* v as an array or kvlist (directly or from its JSON text), or NULL. */
static const lt_value *structured(ctx *c, const lt_value *v)
{
    v = decode(c, v, false);
    return v && (v->type == LT_VAL_ARRAY || v->type == LT_VAL_KVLIST) ? v : NULL;
}

/* A tool payload (arguments, response): any JSON; a string holding JSON is parsed. */
static lt_value payload(ctx *c, const lt_value *v)
{
    lt_value r = {0};
    if (v) r = *decode(c, v, true);
    return r;
}

/* v as text: a string as it is, anything else as JSON in the arena. */
static lt_str text_of(ctx *c, const lt_value *v)
{
    if (!v || v->type == LT_VAL_EMPTY || c->err) return LT_STR_NULL;
    if (v->type == LT_VAL_STRING) return v->u.s;
    lt_buf b = {0};
    model_value_json(&b, v);
    lt_str r = LT_STR_NULL;
    if (b.oom)
        c->err = LT_ENOMEM;
    else
        r = copy(c, b.data, b.len);
    buf_free(&b);
    return r;
}

/* An integer id (OpenInference allows them) as decimal text. */
static lt_str id_of(ctx *c, const lt_value *v)
{
    if (v && v->type == LT_VAL_INT) {
        char tmp[24];
        int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
        return copy(c, tmp, (size_t)n);
    }
    return vstr(v);
}

static bool num_of(const lt_value *v, double *out)
{
    if (v && v->type == LT_VAL_DOUBLE) {
        *out = v->u.d;
        return true;
    }
    if (v && v->type == LT_VAL_INT) {
        *out = (double)v->u.i;
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------------------------ */
/* Parts                                                                                */
/* ------------------------------------------------------------------------------------ */

static genai_part *new_part(ctx *c, vec *parts, genai_part_type t, lt_str type_name)
{
    genai_part *p = vec_push(c, parts, sizeof *p, MSG_MAX_PARTS);
    if (p) {
        p->type = t;
        p->type_name = type_name;
    }
    return p;
}

static void add_text(ctx *c, vec *parts, lt_str text)
{
    genai_part *p = new_part(c, parts, GA_PART_TEXT, LT_STR("text"));
    if (p) p->content = text;
}

static void add_tool_call(ctx *c, vec *parts, lt_str id, lt_str name, const lt_value *args,
                          lt_str type_name)
{
    genai_part *p = new_part(c, parts, GA_PART_TOOL_CALL, type_name);
    if (!p) return;
    p->id = id;
    p->name = name;
    p->payload = payload(c, args);
}

static void add_tool_response(ctx *c, vec *parts, lt_str id, const lt_value *response,
                              lt_str type_name)
{
    genai_part *p = new_part(c, parts, GA_PART_TOOL_CALL_RESPONSE, type_name);
    if (!p) return;
    p->id = id;
    p->payload = payload(c, response);
}

/* An OpenAI tool_calls[] item {id, type, function: {name, arguments}}, or the flat
 * {id, name, arguments} some emitters use. */
static void add_openai_tool_call(ctx *c, vec *parts, const lt_attrs *o)
{
    static const char *const ids[] = {"id", "call_id", "tool_call_id", NULL};
    const lt_attrs *fn = vobj(structured(c, kv_get(o, "function")));
    if (fn)
        add_tool_call(c, parts, get_str_any(o, ids), get_str(fn, "name"), kv_get(fn, "arguments"),
                      LT_STR("tool_call"));
    else
        add_tool_call(c, parts, get_str_any(o, ids), get_str(o, "name"), kv_get(o, "arguments"),
                      LT_STR("tool_call"));
}

static void add_tool_calls(ctx *c, vec *parts, const lt_value *v)
{
    v = structured(c, v);
    if (v && v->type == LT_VAL_ARRAY) {
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            if (v->u.arr.items[i].type == LT_VAL_KVLIST)
                add_openai_tool_call(c, parts, &v->u.arr.items[i].u.kv);
    } else if (v && v->type == LT_VAL_KVLIST) {
        add_openai_tool_call(c, parts, &v->u.kv);
    }
}

/* The media type of a data: URI ("data:image/png;base64,...") or empty. */
static lt_str data_uri_mime(lt_str uri)
{
    if (uri.len < 5 || memcmp(uri.ptr, "data:", 5) != 0) return LT_STR_NULL;
    size_t i = 5;
    while (i < uri.len && uri.ptr[i] != ';' && uri.ptr[i] != ',')
        i++;
    return (lt_str){uri.ptr + 5, i - 5};
}

static void add_media(ctx *c, vec *parts, lt_str type_name, lt_str uri, lt_str mime,
                      lt_str modality, lt_str content)
{
    genai_part *p = new_part(c, parts, GA_PART_MEDIA, type_name);
    if (!p) return;
    p->uri = uri;
    p->mime_type = mime.len ? mime : data_uri_mime(uri);
    p->modality = modality;
    p->content = content;
}

typedef enum {
    PK_TEXT,
    PK_REASONING,
    PK_TOOL_CALL,
    PK_TOOL_RESPONSE,
    PK_URI,
    PK_BLOB,
    PK_FILE,
    PK_IMAGE_URL,
    PK_IMAGE,
    PK_AUDIO,
    PK_OTHER,
} part_kind;

/* Part types as semconv (gen_ai.*.messages parts), OpenAI (chat content items, Responses
 * items) and Anthropic (content blocks) name them. */
static const struct {
    const char *type;
    part_kind kind;
} part_types[] = {
    {"text", PK_TEXT},
    {"input_text", PK_TEXT},
    {"output_text", PK_TEXT},
    {"reasoning", PK_REASONING},
    {"thinking", PK_REASONING},
    {"tool_call", PK_TOOL_CALL},
    {"function_call", PK_TOOL_CALL},
    {"tool_use", PK_TOOL_CALL},
    {"tool_call_response", PK_TOOL_RESPONSE},
    {"function_call_output", PK_TOOL_RESPONSE},
    {"tool_result", PK_TOOL_RESPONSE},
    {"uri", PK_URI},
    {"blob", PK_BLOB},
    {"file", PK_FILE},
    {"image_url", PK_IMAGE_URL},
    {"image", PK_IMAGE},
    {"input_audio", PK_AUDIO},
};

static part_kind part_kind_of(lt_str type)
{
    for (size_t i = 0; i < sizeof part_types / sizeof part_types[0]; i++)
        if (lt_str_eq_c(type, part_types[i].type)) return part_types[i].kind;
    return PK_OTHER;
}

/* One part object: a semconv part or an OpenAI/Anthropic content item. */
static void add_part_obj(ctx *c, vec *parts, const lt_value *pv)
{
    static const char *const text_keys[] = {"content", "text", NULL};
    static const char *const reasoning_keys[] = {"content", "text", "thinking", "reasoning", NULL};
    static const char *const call_ids[] = {"id", "call_id", "tool_call_id", NULL};
    static const char *const args_keys[] = {"arguments", "input", NULL};
    static const char *const resp_ids[] = {"id", "tool_call_id", "tool_use_id", "call_id", NULL};
    static const char *const resp_keys[] = {"response", "result", "content", "output", NULL};
    const lt_attrs *o = &pv->u.kv;
    lt_str type = get_str(o, "type");
    part_kind k = part_kind_of(type);
    if (k == PK_OTHER && !type.len && kv_get(o, "text")) k = PK_TEXT; /* untyped {text} */
    switch (k) {
    case PK_TEXT:
    case PK_REASONING: {
        genai_part *p = new_part(c, parts, k == PK_TEXT ? GA_PART_TEXT : GA_PART_REASONING,
                                 type.len ? type : LT_STR("text"));
        if (p) p->content = text_of(c, get_any(o, k == PK_TEXT ? text_keys : reasoning_keys));
        break;
    }
    case PK_TOOL_CALL:
        add_tool_call(c, parts, get_str_any(o, call_ids), get_str(o, "name"), get_any(o, args_keys),
                      type);
        break;
    case PK_TOOL_RESPONSE:
        add_tool_response(c, parts, get_str_any(o, resp_ids), get_any(o, resp_keys), type);
        break;
    case PK_URI:
        add_media(c, parts, type, get_str(o, "uri"), get_str(o, "mime_type"),
                  get_str(o, "modality"), LT_STR_NULL);
        break;
    case PK_BLOB:
        add_media(c, parts, type, LT_STR_NULL, get_str(o, "mime_type"), get_str(o, "modality"),
                  get_str(o, "content"));
        break;
    case PK_FILE:
        add_media(c, parts, type, get_str(o, "file_id"), get_str(o, "mime_type"),
                  get_str(o, "modality"), LT_STR_NULL);
        break;
    case PK_IMAGE_URL: {
        const lt_value *iu = kv_get(o, "image_url");
        lt_str url = iu && iu->type == LT_VAL_KVLIST ? get_str(&iu->u.kv, "url") : vstr(iu);
        add_media(c, parts, type, url, LT_STR_NULL, LT_STR("image"), LT_STR_NULL);
        break;
    }
    case PK_IMAGE: {
        /* Anthropic {source: {type: base64|url, media_type, data | url}}, or {url} */
        const lt_attrs *src = vobj(kv_get(o, "source"));
        lt_str url = src ? get_str(src, "url") : get_str(o, "url");
        add_media(c, parts, type, url, get_str(src, "media_type"), LT_STR("image"),
                  get_str(src, "data"));
        break;
    }
    case PK_AUDIO: {
        const lt_attrs *au = vobj(kv_get(o, "input_audio"));
        add_media(c, parts, type, LT_STR_NULL, LT_STR_NULL, LT_STR("audio"), get_str(au, "data"));
        break;
    }
    case PK_OTHER: {
        genai_part *p = new_part(c, parts, GA_PART_OTHER, type);
        if (p) p->content = text_of(c, pv);
        break;
    }
    }
}

/* A content value (OpenAI: a string or an array of content items; semconv events: any). */
static void add_content(ctx *c, vec *parts, const lt_value *v)
{
    if (!v) return;
    switch (v->type) {
    case LT_VAL_STRING:
        if (v->u.s.len) add_text(c, parts, v->u.s);
        break;
    case LT_VAL_ARRAY:
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            const lt_value *it = &v->u.arr.items[i];
            if (it->type == LT_VAL_KVLIST)
                add_part_obj(c, parts, it);
            else if (it->type == LT_VAL_STRING && it->u.s.len)
                add_text(c, parts, it->u.s);
        }
        break;
    case LT_VAL_KVLIST:
        add_part_obj(c, parts, v);
        break;
    case LT_VAL_EMPTY:
        break;
    default:
        add_text(c, parts, text_of(c, v));
        break;
    }
}

/* ------------------------------------------------------------------------------------ */
/* Messages                                                                             */
/* ------------------------------------------------------------------------------------ */

static void finish_msg(genai_message *m, const vec *parts)
{
    m->parts = parts->items;
    m->n_parts = parts->n;
}

/* The fields of one message object into m and parts: a semconv ChatMessage/OutputMessage
 * ({role, parts, name, finish_reason}) or an OpenAI/Anthropic-style message ({role, content,
 * tool_calls, tool_call_id, function_call, reasoning_content}). o may be NULL (no fields).
 * The content of a tool message (role "tool", or resp_id / tool_call_id set) is a
 * tool_call_response. */
static void read_msg_fields(ctx *c, genai_message *m, vec *parts, const lt_attrs *o,
                            lt_str def_role, lt_str resp_id)
{
    lt_str role = get_str(o, "role");
    m->role = role.len ? role : def_role;
    m->name = get_str(o, "name");
    m->finish_reason = get_str(o, "finish_reason");
    if (!m->finish_reason.len) m->finish_reason = get_str(o, "stop_reason");
    const lt_value *pv = structured(c, kv_get(o, "parts"));
    if (pv && pv->type == LT_VAL_ARRAY) {
        add_content(c, parts, pv);
        return;
    }
    if (!resp_id.len) resp_id = get_str(o, "tool_call_id");
    lt_str reasoning = get_str(o, "reasoning_content");
    if (reasoning.len) {
        genai_part *p = new_part(c, parts, GA_PART_REASONING, LT_STR("reasoning"));
        if (p) p->content = reasoning;
    }
    const lt_value *content = kv_get(o, "content");
    if (resp_id.len || lt_str_eq_c(m->role, "tool")) {
        if (content && content->type != LT_VAL_EMPTY)
            add_tool_response(c, parts, resp_id, content, LT_STR("tool_call_response"));
    } else {
        add_content(c, parts, content);
    }
    add_tool_calls(c, parts, kv_get(o, "tool_calls"));
    const lt_attrs *fc = vobj(structured(c, kv_get(o, "function_call")));
    if (fc)
        add_tool_call(c, parts, LT_STR_NULL, get_str(fc, "name"), kv_get(fc, "arguments"),
                      LT_STR("function_call"));
}

static void read_msg(ctx *c, vec *out, const lt_attrs *o, lt_str def_role)
{
    genai_message *m = push_msg(c, out);
    if (!m) return;
    vec parts = {0};
    read_msg_fields(c, m, &parts, o, def_role, LT_STR_NULL);
    finish_msg(m, &parts);
}

static bool looks_like_msg(const lt_value *v)
{
    return v->type == LT_VAL_KVLIST && vstr(kv_get(&v->u.kv, "role")).len;
}

/* Messages from v: an array of message objects, one message object, an object wrapping
 * them ({"messages": [...]}, an OpenAI request) or an OpenAI response ({"choices": [...]},
 * output side). strict is for forms whose values need not be messages at all (Langfuse
 * input/output, input.value): then every array element must have a role, and an object
 * without one is a message only on the output side when it has content or tool_calls. */
static void read_msgs(ctx *c, vec *out, const lt_value *v, lt_str def_role, bool output,
                      bool strict, int wrap)
{
    v = structured(c, v);
    if (!v) return;
    if (v->type == LT_VAL_ARRAY) {
        if (strict)
            for (uint32_t i = 0; i < v->u.arr.n; i++)
                if (!looks_like_msg(&v->u.arr.items[i])) return;
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            if (v->u.arr.items[i].type == LT_VAL_KVLIST)
                read_msg(c, out, &v->u.arr.items[i].u.kv, def_role);
        return;
    }
    const lt_attrs *o = &v->u.kv;
    if (vstr(kv_get(o, "role")).len) {
        read_msg(c, out, o, def_role);
        return;
    }
    const lt_value *inner = kv_get(o, "messages");
    if (inner && wrap < MSG_MAX_WRAP) {
        read_msgs(c, out, inner, def_role, output, true, wrap + 1);
        return;
    }
    const lt_value *choices = output ? structured(c, kv_get(o, "choices")) : NULL;
    if (choices && choices->type == LT_VAL_ARRAY) {
        for (uint32_t i = 0; i < choices->u.arr.n; i++) {
            const lt_attrs *ch = vobj(&choices->u.arr.items[i]);
            if (!ch) continue;
            genai_message *m = push_msg(c, out);
            if (!m) return;
            vec parts = {0};
            read_msg_fields(c, m, &parts, vobj(structured(c, kv_get(ch, "message"))), def_role,
                            LT_STR_NULL);
            lt_str text = get_str(ch, "text"); /* completions API */
            if (text.len) add_text(c, &parts, text);
            lt_str fr = get_str(ch, "finish_reason");
            if (fr.len) m->finish_reason = fr;
            finish_msg(m, &parts);
        }
        return;
    }
    if (!strict || (output && (kv_get(o, "tool_calls") || kv_get(o, "content"))))
        read_msg(c, out, o, def_role);
}

/* gen_ai.system_instructions: an array of parts (semconv), a plain string, or (from some
 * emitters) messages. Parts become one message with role "system". */
static void read_system(ctx *c, vec *out, const lt_value *v)
{
    if (!v) return;
    const lt_value *d = decode(c, v, false);
    if (d->type == LT_VAL_EMPTY || (d->type == LT_VAL_STRING && !d->u.s.len)) return;
    if (d->type == LT_VAL_ARRAY && d->u.arr.n && looks_like_msg(&d->u.arr.items[0])) {
        read_msgs(c, out, d, LT_STR("system"), false, false, 0);
        return;
    }
    if (looks_like_msg(d)) {
        read_msg(c, out, &d->u.kv, LT_STR("system"));
        return;
    }
    genai_message *m = push_msg(c, out);
    if (!m) return;
    m->role = LT_STR("system");
    vec parts = {0};
    add_content(c, &parts, d);
    finish_msg(m, &parts);
    if (!parts.n) out->n--; /* nothing in it */
}

/* ------------------------------------------------------------------------------------ */
/* The span's attributes, indexed once                                                  */
/* ------------------------------------------------------------------------------------ */

typedef enum {
    K_INPUT_MESSAGES,
    K_OUTPUT_MESSAGES,
    K_SYSTEM_INSTRUCTIONS,
    K_PROMPT,
    K_COMPLETION,
    K_FINISH_REASONS,
    K_LLM_FINISH_REASON,
    K_RETRIEVAL_DOCUMENTS,
    K_DBQ_IDS,
    K_DBQ_SCORES,
    K_DBQ_DOCUMENTS,
    K_LF_INPUT,
    K_LF_OUTPUT,
    K_LF_TYPE,
    K_LF_TOOL_CALL_ID,
    K_INPUT_VALUE,
    K_OUTPUT_VALUE,
    K_TL_INPUT,
    K_TL_OUTPUT,
    K_TL_KIND,
    K_TL_NAME,
    K_OI_KIND,
    K_OPERATION,
    K_TOOL_NAME,
    K_TOOL_CALL_ID,
    K_TOOL_ARGS,
    K_TOOL_RESULT,
    K_OI_TOOL_NAME,
    K_OI_TOOL_ID,
    K_OI_TOOL_CALL_ID,
    K_OI_TOOL_CALL_NAME,
    K_OI_TOOL_CALL_ARGS,
    K_N
} known_key;

static const char *const known_names[K_N] = {
    [K_INPUT_MESSAGES] = "gen_ai.input.messages",
    [K_OUTPUT_MESSAGES] = "gen_ai.output.messages",
    [K_SYSTEM_INSTRUCTIONS] = "gen_ai.system_instructions",
    [K_PROMPT] = "gen_ai.prompt",
    [K_COMPLETION] = "gen_ai.completion",
    [K_FINISH_REASONS] = "gen_ai.response.finish_reasons",
    [K_LLM_FINISH_REASON] = "llm.finish_reason",
    [K_RETRIEVAL_DOCUMENTS] = "gen_ai.retrieval.documents",
    [K_DBQ_IDS] = "db.query.result.ids",
    [K_DBQ_SCORES] = "db.query.result.scores",
    [K_DBQ_DOCUMENTS] = "db.query.result.documents",
    [K_LF_INPUT] = "langfuse.observation.input",
    [K_LF_OUTPUT] = "langfuse.observation.output",
    [K_LF_TYPE] = "langfuse.observation.type",
    [K_LF_TOOL_CALL_ID] = "langfuse.observation.metadata.tool_call_id",
    [K_INPUT_VALUE] = "input.value",
    [K_OUTPUT_VALUE] = "output.value",
    [K_TL_INPUT] = "traceloop.entity.input",
    [K_TL_OUTPUT] = "traceloop.entity.output",
    [K_TL_KIND] = "traceloop.span.kind",
    [K_TL_NAME] = "traceloop.entity.name",
    [K_OI_KIND] = "openinference.span.kind",
    [K_OPERATION] = "gen_ai.operation.name",
    [K_TOOL_NAME] = "gen_ai.tool.name",
    [K_TOOL_CALL_ID] = "gen_ai.tool.call.id",
    [K_TOOL_ARGS] = "gen_ai.tool.call.arguments",
    [K_TOOL_RESULT] = "gen_ai.tool.call.result",
    [K_OI_TOOL_NAME] = "tool.name",
    [K_OI_TOOL_ID] = "tool.id",
    [K_OI_TOOL_CALL_ID] = "tool_call.id",
    [K_OI_TOOL_CALL_NAME] = "tool_call.function.name",
    [K_OI_TOOL_CALL_ARGS] = "tool_call.function.arguments",
};

/* Flattened lists: "<prefix><index>.<field pattern>", '#' in a pattern being a numeric
 * segment (the part index). */
typedef enum { FL_OI_IN, FL_OI_OUT, FL_TL_IN, FL_TL_OUT, FL_DOCS, FL_N } flat_list;
typedef enum { D_OI, D_TL, D_DOC } flat_dialect;
typedef enum {
    F_ROLE,
    F_CONTENT,
    F_NAME,
    F_TOOL_CALL_ID,
    F_FINISH,
    F_FC_NAME,
    F_FC_ARGS,
    F_C_TYPE,
    F_C_TEXT,
    F_C_URL,
    F_TC_ID,
    F_TC_NAME,
    F_TC_ARGS,
    F_DOC_ID,
    F_DOC_SCORE,
    F_DOC_CONTENT,
    F_N
} flat_field;
enum { CLS_MSG, CLS_CONTENTS, CLS_TOOL_CALLS };

static const struct {
    const char *prefix;
    flat_dialect dialect;
} flat_lists[FL_N] = {
    [FL_OI_IN] = {"llm.input_messages.", D_OI},  [FL_OI_OUT] = {"llm.output_messages.", D_OI},
    [FL_TL_IN] = {"gen_ai.prompt.", D_TL},       [FL_TL_OUT] = {"gen_ai.completion.", D_TL},
    [FL_DOCS] = {"retrieval.documents.", D_DOC},
};

static const struct {
    flat_dialect dialect;
    uint8_t cls;
    flat_field field;
    const char *pat;
} flat_fields[] = {
    {D_OI, CLS_MSG, F_ROLE, "message.role"},
    {D_OI, CLS_MSG, F_CONTENT, "message.content"},
    {D_OI, CLS_MSG, F_NAME, "message.name"},
    {D_OI, CLS_MSG, F_TOOL_CALL_ID, "message.tool_call_id"},
    {D_OI, CLS_MSG, F_FC_NAME, "message.function_call_name"},
    {D_OI, CLS_MSG, F_FC_ARGS, "message.function_call_arguments_json"},
    {D_OI, CLS_CONTENTS, F_C_TYPE, "message.contents.#.message_content.type"},
    {D_OI, CLS_CONTENTS, F_C_TEXT, "message.contents.#.message_content.text"},
    {D_OI, CLS_CONTENTS, F_C_URL, "message.contents.#.message_content.image.image.url"},
    {D_OI, CLS_TOOL_CALLS, F_TC_ID, "message.tool_calls.#.tool_call.id"},
    {D_OI, CLS_TOOL_CALLS, F_TC_NAME, "message.tool_calls.#.tool_call.function.name"},
    {D_OI, CLS_TOOL_CALLS, F_TC_ARGS, "message.tool_calls.#.tool_call.function.arguments"},
    {D_TL, CLS_MSG, F_ROLE, "role"},
    {D_TL, CLS_MSG, F_CONTENT, "content"},
    {D_TL, CLS_MSG, F_NAME, "name"},
    {D_TL, CLS_MSG, F_TOOL_CALL_ID, "tool_call_id"},
    {D_TL, CLS_MSG, F_FINISH, "finish_reason"},
    {D_TL, CLS_TOOL_CALLS, F_TC_ID, "tool_calls.#.id"},
    {D_TL, CLS_TOOL_CALLS, F_TC_NAME, "tool_calls.#.name"},
    {D_TL, CLS_TOOL_CALLS, F_TC_ARGS, "tool_calls.#.arguments"},
    {D_DOC, CLS_MSG, F_DOC_ID, "document.id"},
    {D_DOC, CLS_MSG, F_DOC_SCORE, "document.score"},
    {D_DOC, CLS_MSG, F_DOC_CONTENT, "document.content"},
};

typedef struct {
    uint32_t i, j; /* message (document) index; part index, 0 for message fields */
    uint32_t pos;  /* attribute position: a later attribute wins */
    uint8_t list, cls, field;
    const lt_value *v;
} flat_ent;

/* Reads a decimal index at *p: no sign, no leading zero, at most MSG_MAX_INDEX. */
static bool parse_index(const char **p, const char *end, uint32_t *out)
{
    const char *q = *p;
    if (q == end || *q < '0' || *q > '9') return false;
    if (*q == '0' && q + 1 < end && q[1] >= '0' && q[1] <= '9') return false;
    uint32_t v = 0;
    for (; q < end && *q >= '0' && *q <= '9'; q++) {
        v = v * 10 + (uint32_t)(*q - '0');
        if (v > MSG_MAX_INDEX) return false;
    }
    *p = q;
    *out = v;
    return true;
}

/* Whether [p, end) matches pat ('#' = an index, stored in *j). */
static bool match_pat(const char *p, const char *end, const char *pat, uint32_t *j)
{
    for (; *pat; pat++) {
        if (*pat == '#') {
            if (!parse_index(&p, end, j)) return false;
        } else {
            if (p == end || *p != *pat) return false;
            p++;
        }
    }
    return p == end;
}

static bool match_flat(lt_str key, flat_ent *e)
{
    for (int l = 0; l < FL_N; l++) {
        size_t pl = strlen(flat_lists[l].prefix);
        if (key.len <= pl || memcmp(key.ptr, flat_lists[l].prefix, pl) != 0) continue;
        const char *p = key.ptr + pl, *end = key.ptr + key.len;
        if (!parse_index(&p, end, &e->i) || p == end || *p != '.') return false;
        p++;
        for (size_t f = 0; f < sizeof flat_fields / sizeof flat_fields[0]; f++) {
            if (flat_fields[f].dialect != flat_lists[l].dialect) continue;
            e->j = 0;
            if (match_pat(p, end, flat_fields[f].pat, &e->j)) {
                e->list = (uint8_t)l;
                e->cls = flat_fields[f].cls;
                e->field = (uint8_t)flat_fields[f].field;
                return true;
            }
        }
        return false;
    }
    return false;
}

static int cmp_flat(const void *pa, const void *pb)
{
    const flat_ent *a = pa, *b = pb;
    if (a->list != b->list) return a->list < b->list ? -1 : 1;
    if (a->i != b->i) return a->i < b->i ? -1 : 1;
    if (a->cls != b->cls) return a->cls < b->cls ? -1 : 1;
    if (a->j != b->j) return a->j < b->j ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* A span event or log record, as the forms read them. */
typedef struct {
    lt_str name;
    const lt_attrs *attrs;  /* event attributes / record attributes */
    const lt_attrs *fields; /* event attributes / record body (a kvlist, or JSON of one) */
    uint64_t t;
    uint32_t pos;
} rec;

static int cmp_rec(const void *pa, const void *pb)
{
    const rec *a = pa, *b = pb;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

typedef struct {
    const lt_span *s;
    const lt_value *k[K_N];
    flat_ent *flat;
    size_t n_flat;
    size_t flat_lo[FL_N], flat_hi[FL_N]; /* each list's range in flat[] */
    rec *logs, *events;                  /* in time order */
    uint32_t n_logs, n_events;
    const lt_value *doc_src; /* an attribute read as documents: not a message too */
} span_ix;

static int index_span(ctx *c, span_ix *x, const lt_span *s, const lt_log_record *const *logs,
                      uint32_t n_logs)
{
    memset(x, 0, sizeof *x);
    x->s = s;
    size_t klen[K_N];
    for (int k = 0; k < K_N; k++)
        klen[k] = strlen(known_names[k]);
    vec flat = {0};
    for (uint32_t i = 0; i < s->attrs.n; i++) {
        const lt_kv *kv = &s->attrs.items[i];
        bool known = false;
        for (int k = 0; k < K_N && !known; k++)
            if (key_is(kv->key, known_names[k], klen[k])) {
                x->k[k] = &kv->value;
                known = true;
            }
        flat_ent e = {0};
        if (known || !match_flat(kv->key, &e)) continue;
        e.pos = i;
        e.v = &kv->value;
        flat_ent *slot = vec_push(c, &flat, sizeof e, UINT32_MAX);
        if (!slot) return c->err;
        *slot = e;
    }
    x->flat = flat.items;
    x->n_flat = flat.n;
    if (x->n_flat) qsort(x->flat, x->n_flat, sizeof *x->flat, cmp_flat);
    for (size_t i = 0, l = 0; l < FL_N; l++) {
        x->flat_lo[l] = i;
        while (i < x->n_flat && x->flat[i].list == l)
            i++;
        x->flat_hi[l] = i;
    }

    if (s->events.n) {
        x->events = arena_calloc(c->a, s->events.n, sizeof *x->events);
        if (!x->events) return c->err = LT_ENOMEM;
        for (uint32_t i = 0; i < s->events.n; i++) {
            const lt_event *ev = &s->events.items[i];
            x->events[i] = (rec){ev->name, &ev->attrs, &ev->attrs, ev->time_unix_nano, i};
        }
        x->n_events = s->events.n;
        qsort(x->events, x->n_events, sizeof *x->events, cmp_rec);
    }

    if (n_logs) {
        x->logs = arena_calloc(c->a, n_logs, sizeof *x->logs);
        if (!x->logs) return c->err = LT_ENOMEM;
        for (uint32_t i = 0; i < n_logs; i++) {
            const lt_log_record *r = logs[i];
            if (!r) continue;
            if (!model_id_is_zero(r->span_id, 8) && memcmp(r->span_id, s->span_id, 8) != 0)
                continue; /* another span's record */
            rec *o = &x->logs[x->n_logs];
            o->name = r->event_name.len ? r->event_name : get_str(&r->attrs, "event.name");
            o->attrs = &r->attrs;
            o->fields = vobj(structured(c, &r->body));
            o->t = r->time_unix_nano ? r->time_unix_nano : r->observed_time_unix_nano;
            o->pos = i;
            x->n_logs++;
        }
        if (c->err) return c->err;
        if (x->n_logs) qsort(x->logs, x->n_logs, sizeof *x->logs, cmp_rec);
    }
    return 0;
}

static lt_str kstr(const span_ix *x, known_key k)
{
    return vstr(x->k[k]);
}

/* ------------------------------------------------------------------------------------ */
/* The forms                                                                            */
/* ------------------------------------------------------------------------------------ */

/* What one form found; want_req / want_resp say which sides are still open. */
typedef struct {
    vec in, out, sys;
    bool want_req, want_resp;
} form;

/* gen_ai.input.messages / gen_ai.output.messages / gen_ai.system_instructions in a list of
 * attributes (a span's, an operation.details event's or record's); a side already read
 * from an earlier list of the same form is kept. */
static void read_semconv(ctx *c, form *f, const lt_attrs *a)
{
    if (f->want_req && !f->in.n && !f->sys.n) {
        read_msgs(c, &f->in, kv_get(a, "gen_ai.input.messages"), LT_STR("user"), false, false, 0);
        read_system(c, &f->sys, kv_get(a, "gen_ai.system_instructions"));
    }
    if (f->want_resp && !f->out.n)
        read_msgs(c, &f->out, kv_get(a, "gen_ai.output.messages"), LT_STR("assistant"), true, false,
                  0);
}

static void form_semconv(ctx *c, const span_ix *x, form *f)
{
    read_semconv(c, f, &x->s->attrs);
}

static const char DETAILS[] = "gen_ai.client.inference.operation.details";

static void form_details(ctx *c, const span_ix *x, form *f)
{
    for (uint32_t i = 0; i < x->n_events; i++)
        if (lt_str_eq_c(x->events[i].name, DETAILS)) read_semconv(c, f, x->events[i].attrs);
    for (uint32_t i = 0; i < x->n_logs; i++)
        if (lt_str_eq_c(x->logs[i].name, DETAILS)) {
            read_semconv(c, f, x->logs[i].attrs);
            read_semconv(c, f, x->logs[i].fields);
        }
}

/* Semconv v1.28-v1.36 per-message events (log records, or span events as Langfuse takes). */
typedef enum { EV_MESSAGE, EV_TOOL, EV_CHOICE } msg_event_kind;

static const struct {
    const char *name;
    const char *role;
    msg_event_kind kind;
} msg_events[] = {
    {"gen_ai.system.message", "system", EV_MESSAGE},
    {"gen_ai.user.message", "user", EV_MESSAGE},
    {"gen_ai.assistant.message", "assistant", EV_MESSAGE},
    {"gen_ai.tool.message", "tool", EV_TOOL}, /* body id: the tool call answered */
    {"gen_ai.choice", "assistant", EV_CHOICE},
};

typedef struct {
    int64_t index;
    uint32_t pos;
    genai_message m;
} choice_ent;

static int cmp_choice(const void *pa, const void *pb)
{
    const choice_ent *a = pa, *b = pb;
    if (a->index != b->index) return a->index < b->index ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static void read_msg_events(ctx *c, form *f, const rec *r, uint32_t n)
{
    vec choices = {0};
    for (uint32_t i = 0; i < n && !c->err; i++) {
        size_t e = 0;
        while (e < sizeof msg_events / sizeof msg_events[0] &&
               !lt_str_eq_c(r[i].name, msg_events[e].name))
            e++;
        if (e == sizeof msg_events / sizeof msg_events[0]) continue;
        const lt_attrs *o = r[i].fields;
        lt_str role = lt_str_c(msg_events[e].role);
        vec parts = {0};
        if (msg_events[e].kind != EV_CHOICE) {
            if (!f->want_req) continue;
            genai_message *m = push_msg(c, &f->in);
            if (!m) break;
            lt_str resp_id = msg_events[e].kind == EV_TOOL ? get_str(o, "id") : LT_STR_NULL;
            read_msg_fields(c, m, &parts, o, role, resp_id);
            finish_msg(m, &parts);
            continue;
        }
        if (!f->want_resp) continue;
        choice_ent *ch = vec_push(c, &choices, sizeof *ch, MSG_MAX_MESSAGES);
        if (!ch) break;
        const lt_value *idx = kv_get(o, "index");
        ch->index = idx && idx->type == LT_VAL_INT ? idx->u.i : INT64_MAX;
        ch->pos = i;
        const lt_attrs *mo = vobj(structured(c, kv_get(o, "message")));
        read_msg_fields(c, &ch->m, &parts, mo, role, LT_STR_NULL);
        if (!kv_get(mo, "tool_calls")) add_tool_calls(c, &parts, kv_get(o, "tool_calls"));
        lt_str fr = get_str(o, "finish_reason");
        if (fr.len) ch->m.finish_reason = fr;
        finish_msg(&ch->m, &parts);
    }
    if (c->err || !choices.n) return;
    choice_ent *ce = choices.items;
    qsort(ce, choices.n, sizeof *ce, cmp_choice);
    for (uint32_t i = 0; i < choices.n; i++) {
        genai_message *m = push_msg(c, &f->out);
        if (!m) break;
        *m = ce[i].m;
    }
}

static void form_msg_logs(ctx *c, const span_ix *x, form *f)
{
    read_msg_events(c, f, x->logs, x->n_logs);
}

static void form_msg_events(ctx *c, const span_ix *x, form *f)
{
    read_msg_events(c, f, x->events, x->n_events);
}

/* A legacy prompt/completion value: JSON of OpenAI-style messages, or plain text. */
static void read_legacy(ctx *c, vec *out, const lt_value *v, lt_str role, bool output)
{
    if (!v) return;
    uint32_t before = out->n;
    read_msgs(c, out, v, role, output, false, 0);
    if (out->n != before || c->err) return;
    lt_str s = vstr(decode(c, v, false));
    if (!s.len) return;
    genai_message *m = push_msg(c, out);
    if (!m) return;
    m->role = role;
    vec parts = {0};
    add_text(c, &parts, s);
    finish_msg(m, &parts);
}

static void form_legacy(ctx *c, const span_ix *x, form *f)
{
    for (uint32_t i = 0; i < x->n_events; i++) {
        const rec *e = &x->events[i];
        if (f->want_req && !f->in.n && lt_str_eq_c(e->name, "gen_ai.content.prompt"))
            read_legacy(c, &f->in, kv_get(e->attrs, "gen_ai.prompt"), LT_STR("user"), false);
        if (f->want_resp && !f->out.n && lt_str_eq_c(e->name, "gen_ai.content.completion"))
            read_legacy(c, &f->out, kv_get(e->attrs, "gen_ai.completion"), LT_STR("assistant"),
                        true);
    }
    if (f->want_req && !f->in.n) read_legacy(c, &f->in, x->k[K_PROMPT], LT_STR("user"), false);
    if (f->want_resp && !f->out.n)
        read_legacy(c, &f->out, x->k[K_COMPLETION], LT_STR("assistant"), true);
}

/* Builds the messages of one flattened list from its sorted entries. */
static void read_flat(ctx *c, const span_ix *x, vec *out, flat_list l, lt_str def_role)
{
    const flat_ent *e = x->flat;
    for (size_t g = x->flat_lo[l], hi = x->flat_hi[l]; g < hi && !c->err;) {
        size_t ge = g;
        while (ge < hi && e[ge].i == e[g].i)
            ge++;
        const lt_value *f[F_N] = {0};
        size_t k = g;
        for (; k < ge && e[k].cls == CLS_MSG; k++)
            f[e[k].field] = e[k].v;
        genai_message *m = push_msg(c, out);
        if (!m) return;
        vec parts = {0};
        lt_str role = vstr(f[F_ROLE]);
        m->role = role.len ? role : def_role;
        m->name = vstr(f[F_NAME]);
        m->finish_reason = vstr(f[F_FINISH]);
        lt_str call_id = vstr(f[F_TOOL_CALL_ID]);
        const lt_value *content = f[F_CONTENT];
        const lt_value *sc = NULL;
        if (content && content->type != LT_VAL_EMPTY) {
            if (call_id.len || lt_str_eq_c(m->role, "tool")) {
                add_tool_response(c, &parts, call_id, content, LT_STR("tool_call_response"));
            } else if (flat_lists[l].dialect == D_TL && (sc = structured(c, content)) &&
                       sc->type == LT_VAL_ARRAY && sc->u.arr.n &&
                       vstr(kv_get(vobj(&sc->u.arr.items[0]), "type")).len) {
                add_content(c, &parts, sc); /* OpenLLMetry: a content array as JSON */
            } else {
                lt_str t = text_of(c, content);
                if (t.len) add_text(c, &parts, t);
            }
        }
        while (k < ge && !c->err) {
            uint8_t cls = e[k].cls;
            uint32_t j = e[k].j;
            const lt_value *sf[F_N] = {0};
            for (; k < ge && e[k].cls == cls && e[k].j == j; k++)
                sf[e[k].field] = e[k].v;
            if (cls == CLS_TOOL_CALLS) {
                add_tool_call(c, &parts, vstr(sf[F_TC_ID]), vstr(sf[F_TC_NAME]), sf[F_TC_ARGS],
                              LT_STR("tool_call"));
                continue;
            }
            lt_str type = vstr(sf[F_C_TYPE]), url = vstr(sf[F_C_URL]);
            if (url.len || lt_str_eq_c(type, "image")) {
                add_media(c, &parts, type, url, LT_STR_NULL, LT_STR("image"), LT_STR_NULL);
            } else if (lt_str_eq_c(type, "audio")) {
                add_media(c, &parts, type, LT_STR_NULL, LT_STR_NULL, type, LT_STR_NULL);
            } else {
                genai_part *p = new_part(
                    c, &parts, lt_str_eq_c(type, "reasoning") ? GA_PART_REASONING : GA_PART_TEXT,
                    type.len ? type : LT_STR("text"));
                if (p) p->content = text_of(c, sf[F_C_TEXT]);
            }
        }
        if (f[F_FC_NAME])
            add_tool_call(c, &parts, LT_STR_NULL, vstr(f[F_FC_NAME]), f[F_FC_ARGS],
                          LT_STR("function_call"));
        finish_msg(m, &parts);
        g = ge;
    }
}

static void form_openinference(ctx *c, const span_ix *x, form *f)
{
    if (f->want_req) read_flat(c, x, &f->in, FL_OI_IN, LT_STR("user"));
    if (f->want_resp) read_flat(c, x, &f->out, FL_OI_OUT, LT_STR("assistant"));
}

static void form_openllmetry(ctx *c, const span_ix *x, form *f)
{
    if (f->want_req) read_flat(c, x, &f->in, FL_TL_IN, LT_STR("user"));
    if (f->want_resp) read_flat(c, x, &f->out, FL_TL_OUT, LT_STR("assistant"));
}

/* A generic input/output attribute that holds messages (strictly: see read_msgs). */
static void read_io_msgs(ctx *c, const span_ix *x, form *f, known_key in, known_key out)
{
    if (f->want_req && x->k[in] != x->doc_src)
        read_msgs(c, &f->in, x->k[in], LT_STR("user"), false, true, 0);
    if (f->want_resp && x->k[out] != x->doc_src)
        read_msgs(c, &f->out, x->k[out], LT_STR("assistant"), true, true, 0);
}

static void form_langfuse(ctx *c, const span_ix *x, form *f)
{
    read_io_msgs(c, x, f, K_LF_INPUT, K_LF_OUTPUT);
}

static void form_io_value(ctx *c, const span_ix *x, form *f)
{
    read_io_msgs(c, x, f, K_INPUT_VALUE, K_OUTPUT_VALUE);
}

/* What OpenLLMetry's traceloop.entity.input wraps: it records a call as {"args": [...],
 * "kwargs": {...}}; with one argument that argument is the input, with none there is none
 * (an empty value). Anything else is v itself. */
static const lt_value *tl_unwrap(ctx *c, const span_ix *x, const lt_value *v)
{
    static const lt_value none = {0};
    if (!v || v != x->k[K_TL_INPUT]) return v;
    const lt_attrs *o = vobj(structured(c, v));
    const lt_value *args = kv_get(o, "args"), *kwargs = kv_get(o, "kwargs");
    if (!o || o->n != 2 || !args || args->type != LT_VAL_ARRAY || !kwargs ||
        kwargs->type != LT_VAL_KVLIST)
        return v;
    uint32_t n = args->u.arr.n + kwargs->u.kv.n;
    if (n == 0) return &none;
    if (n > 1) return v;
    return args->u.arr.n ? &args->u.arr.items[0] : &kwargs->u.kv.items[0].value;
}

static const lt_value *first_known(const span_ix *x, const known_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x->k[keys[i]] && x->k[keys[i]]->type != LT_VAL_EMPTY && x->k[keys[i]] != x->doc_src)
            return x->k[keys[i]];
    return NULL;
}

/* A tool execution span: the call as an assistant tool_call, the result as a tool
 * message's tool_call_response. */
static void form_tool(ctx *c, const span_ix *x, form *f)
{
    static const known_key ids[] = {K_TOOL_CALL_ID, K_OI_TOOL_CALL_ID, K_LF_TOOL_CALL_ID,
                                    K_OI_TOOL_ID};
    static const known_key names[] = {K_TOOL_NAME, K_OI_TOOL_NAME, K_OI_TOOL_CALL_NAME, K_TL_NAME};
    static const known_key args[] = {K_TOOL_ARGS, K_OI_TOOL_CALL_ARGS, K_INPUT_VALUE, K_LF_INPUT,
                                     K_TL_INPUT};
    static const known_key results[] = {K_TOOL_RESULT, K_OUTPUT_VALUE, K_LF_OUTPUT, K_TL_OUTPUT};
    bool tool = lt_str_eq_c(kstr(x, K_OPERATION), "execute_tool") ||
                lt_str_eq_c(kstr(x, K_OI_KIND), "TOOL") ||
                lt_str_eq_c(kstr(x, K_LF_TYPE), "tool") ||
                lt_str_eq_c(kstr(x, K_TL_KIND), "tool") || x->k[K_TOOL_ARGS] || x->k[K_TOOL_RESULT];
    if (!tool) return;
    const lt_value *idv = first_known(x, ids, sizeof ids / sizeof ids[0]);
    const lt_value *namev = first_known(x, names, sizeof names / sizeof names[0]);
    const lt_value *argv = tl_unwrap(c, x, first_known(x, args, sizeof args / sizeof args[0]));
    const lt_value *resv = first_known(x, results, sizeof results / sizeof results[0]);
    lt_str id = id_of(c, idv);
    lt_str name = namev ? vstr(namev) : x->s->name; /* Langfuse: the observation name */
    if (f->want_req && (argv || namev || idv || name.len)) {
        genai_message *m = push_msg(c, &f->in);
        if (!m) return;
        m->role = LT_STR("assistant");
        vec parts = {0};
        add_tool_call(c, &parts, id, name, argv, LT_STR("tool_call"));
        finish_msg(m, &parts);
    }
    if (f->want_resp && resv) {
        genai_message *m = push_msg(c, &f->out);
        if (!m) return;
        m->role = LT_STR("tool");
        vec parts = {0};
        add_tool_response(c, &parts, id, resv, LT_STR("tool_call_response"));
        finish_msg(m, &parts);
    }
}

/* Any generic input/output value as one text message (the JSON text of a string holding
 * a JSON string is that string; JSON null is nothing). */
static void read_generic(ctx *c, vec *out, const lt_value *v, lt_str role)
{
    if (!v || v->type == LT_VAL_EMPTY) return;
    const lt_value *d = decode(c, v, true);
    if (c->err || d->type == LT_VAL_EMPTY) return;
    lt_str text = d->type == LT_VAL_STRING   ? d->u.s
                  : v->type == LT_VAL_STRING ? v->u.s
                                             : text_of(c, v);
    if (!text.len) return;
    genai_message *m = push_msg(c, out);
    if (!m) return;
    m->role = role;
    vec parts = {0};
    add_text(c, &parts, text);
    finish_msg(m, &parts);
}

static void form_generic(ctx *c, const span_ix *x, form *f)
{
    static const known_key ins[] = {K_LF_INPUT, K_INPUT_VALUE, K_TL_INPUT};
    static const known_key outs[] = {K_LF_OUTPUT, K_OUTPUT_VALUE, K_TL_OUTPUT};
    if (f->want_req)
        read_generic(c, &f->in, tl_unwrap(c, x, first_known(x, ins, sizeof ins / sizeof ins[0])),
                     LT_STR("user"));
    if (f->want_resp)
        read_generic(c, &f->out, first_known(x, outs, sizeof outs / sizeof outs[0]),
                     LT_STR("assistant"));
}

/* The forms, most structured and canonical first (docs/messages.md). */
static const struct {
    const char *name;
    void (*read)(ctx *c, const span_ix *x, form *f);
} forms[] = {
    {"gen_ai.input/output.messages, gen_ai.system_instructions", form_semconv},
    {"gen_ai.client.inference.operation.details", form_details},
    {"per-message log records", form_msg_logs},
    {"per-message span events", form_msg_events},
    {"gen_ai.content.prompt/completion, gen_ai.prompt/completion", form_legacy},
    {"OpenInference llm.input/output_messages.N", form_openinference},
    {"OpenLLMetry gen_ai.prompt/completion.N", form_openllmetry},
    {"tool call and result", form_tool},
    {"Langfuse observation input/output messages", form_langfuse},
    {"input.value/output.value messages", form_io_value},
    {"generic input/output text", form_generic},
};

/* ------------------------------------------------------------------------------------ */
/* Documents                                                                            */
/* ------------------------------------------------------------------------------------ */

static void add_doc(ctx *c, vec *docs, lt_str id, const lt_value *score, lt_str content)
{
    double d;
    bool has_score = num_of(score, &d);
    if (!id.len && !has_score && !content.len) return;
    genai_document *doc = vec_push(c, docs, sizeof *doc, MSG_MAX_DOCS);
    if (!doc) return;
    doc->id = id;
    doc->has_score = has_score;
    doc->score = has_score ? d : 0;
    doc->content = content;
}

static const char *const doc_content_keys[] = {"content", "text", "page_content", "document", NULL};

static bool looks_like_doc(const lt_value *v)
{
    const lt_attrs *o = vobj(v);
    return o && !kv_get(o, "role") &&
           (kv_get(o, "id") || kv_get(o, "score") || kv_get(o, "page_content"));
}

/* An array of {id, score, content} objects. strict: every element must look like one. */
static void read_doc_array(ctx *c, vec *docs, const lt_value *v, bool strict)
{
    v = structured(c, v);
    if (!v || v->type != LT_VAL_ARRAY || !v->u.arr.n) return;
    if (strict)
        for (uint32_t i = 0; i < v->u.arr.n; i++)
            if (!looks_like_doc(&v->u.arr.items[i])) return;
    for (uint32_t i = 0; i < v->u.arr.n && !c->err; i++) {
        const lt_attrs *o = vobj(&v->u.arr.items[i]);
        if (o)
            add_doc(c, docs, id_of(c, kv_get(o, "id")), kv_get(o, "score"),
                    text_of(c, get_any(o, doc_content_keys)));
    }
}

static void read_docs(ctx *c, span_ix *x, vec *docs)
{
    /* 1. gen_ai.retrieval.documents */
    read_doc_array(c, docs, x->k[K_RETRIEVAL_DOCUMENTS], false);
    if (docs->n || c->err) return;
    /* 2. OpenInference retrieval.documents.N.document.* */
    const flat_ent *e = x->flat;
    for (size_t g = x->flat_lo[FL_DOCS], hi = x->flat_hi[FL_DOCS]; g < hi && !c->err;) {
        const lt_value *f[F_N] = {0};
        size_t k = g;
        for (; k < hi && e[k].i == e[g].i; k++)
            f[e[k].field] = e[k].v;
        add_doc(c, docs, id_of(c, f[F_DOC_ID]), f[F_DOC_SCORE], text_of(c, f[F_DOC_CONTENT]));
        g = k;
    }
    if (docs->n || c->err) return;
    /* 3. OpenLLMetry db.query.result span events */
    for (uint32_t i = 0; i < x->n_events && !c->err; i++) {
        const rec *r = &x->events[i];
        if (!lt_str_eq_c(r->name, "db.query.result")) continue;
        add_doc(c, docs, id_of(c, kv_get(r->attrs, "db.query.result.id")),
                kv_get(r->attrs, "db.query.result.score"),
                text_of(c, kv_get(r->attrs, "db.query.result.document")));
    }
    if (docs->n || c->err) return;
    /* 4. parallel arrays db.query.result.ids / .scores / .documents */
    const lt_value *ids = x->k[K_DBQ_IDS], *scores = x->k[K_DBQ_SCORES],
                   *texts = x->k[K_DBQ_DOCUMENTS];
    uint32_t n = 0;
    const lt_value *arrs[3] = {ids, scores, texts};
    for (int a = 0; a < 3; a++)
        if (arrs[a] && arrs[a]->type == LT_VAL_ARRAY && arrs[a]->u.arr.n > n) n = arrs[a]->u.arr.n;
    for (uint32_t i = 0; i < n && i < MSG_MAX_DOCS && !c->err; i++) {
        const lt_value *at[3] = {NULL, NULL, NULL};
        for (int a = 0; a < 3; a++)
            if (arrs[a] && arrs[a]->type == LT_VAL_ARRAY && i < arrs[a]->u.arr.n)
                at[a] = &arrs[a]->u.arr.items[i];
        add_doc(c, docs, id_of(c, at[0]), at[1], text_of(c, at[2]));
    }
    if (docs->n || c->err) return;
    /* 5. Langfuse retriever output: a list of documents */
    read_doc_array(c, docs, x->k[K_LF_OUTPUT], true);
    if (docs->n) x->doc_src = x->k[K_LF_OUTPUT];
}

/* ------------------------------------------------------------------------------------ */
/* genai_messages_collect                                                               */
/* ------------------------------------------------------------------------------------ */

/* Output messages without a finish reason take the span's: gen_ai.response.finish_reasons
 * (one per choice, in order) or OpenInference llm.finish_reason for a single choice. */
static void fill_finish_reasons(const span_ix *x, genai_message *m, uint32_t n)
{
    const lt_value *frs = x->k[K_FINISH_REASONS];
    lt_str one = kstr(x, K_LLM_FINISH_REASON);
    for (uint32_t i = 0; i < n; i++) {
        if (m[i].finish_reason.len || lt_str_eq_c(m[i].role, "tool")) continue;
        if (frs && frs->type == LT_VAL_ARRAY && i < frs->u.arr.n)
            m[i].finish_reason = vstr(&frs->u.arr.items[i]);
        else if (n == 1)
            m[i].finish_reason = one;
    }
}

int genai_messages_collect(const lt_span *s, const lt_log_record *const *logs, uint32_t n_logs,
                           lt_arena *a, genai_messages *out)
{
    memset(out, 0, sizeof *out);
    ctx c = {.a = a};
    span_ix x;
    if (index_span(&c, &x, s, logs, n_logs)) return LT_ENOMEM;

    vec docs = {0};
    read_docs(&c, &x, &docs);

    form got = {0};
    bool have_req = false, have_resp = false;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0] && !c.err; i++) {
        if (have_req && have_resp) break;
        form f = {.want_req = !have_req, .want_resp = !have_resp};
        forms[i].read(&c, &x, &f);
        if (!have_req && (f.in.n || f.sys.n)) {
            got.in = f.in;
            got.sys = f.sys;
            have_req = true;
        }
        if (!have_resp && f.out.n) {
            got.out = f.out;
            have_resp = true;
        }
    }
    if (c.err) {
        memset(out, 0, sizeof *out);
        return c.err;
    }
    fill_finish_reasons(&x, got.out.items, got.out.n);
    out->input = got.in.items;
    out->n_input = got.in.n;
    out->output = got.out.items;
    out->n_output = got.out.n;
    out->system = got.sys.items;
    out->n_system = got.sys.n;
    out->docs = docs.items;
    out->n_docs = docs.n;
    return out->n_input || out->n_output || out->n_system || out->n_docs ? 1 : 0;
}
