/* model.c — lookups over the model of model.h. */
#include "model/model.h"

#include "core/jsonw.h"

const lt_value *model_attr_get(const lt_attrs *a, lt_str key)
{
    for (uint32_t i = 0; i < a->n; i++)
        if (lt_str_eq(a->items[i].key, key)) return &a->items[i].value;
    return NULL;
}

static void value_json(lt_buf *out, const lt_value *v, int depth);

static void attrs_json(lt_buf *out, const lt_attrs *a, int depth)
{
    buf_putc(out, '{');
    for (uint32_t i = 0; i < a->n; i++) {
        if (i) buf_putc(out, ',');
        jsonw_str(out, a->items[i].key);
        buf_putc(out, ':');
        value_json(out, &a->items[i].value, depth + 1);
    }
    buf_putc(out, '}');
}

static void value_json(lt_buf *out, const lt_value *v, int depth)
{
    if (depth > MODEL_MAX_DEPTH) {
        buf_append_c(out, "null");
        return;
    }
    switch (v->type) {
    case LT_VAL_STRING:
        jsonw_str(out, v->u.s);
        break;
    case LT_VAL_BOOL:
        buf_append_c(out, v->u.b ? "true" : "false");
        break;
    case LT_VAL_INT:
        jsonw_i64(out, v->u.i);
        break;
    case LT_VAL_DOUBLE:
        jsonw_double(out, v->u.d);
        break;
    case LT_VAL_BYTES:
        jsonw_base64(out, (const uint8_t *)v->u.s.ptr, v->u.s.len);
        break;
    case LT_VAL_ARRAY:
        buf_putc(out, '[');
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            if (i) buf_putc(out, ',');
            value_json(out, &v->u.arr.items[i], depth + 1);
        }
        buf_putc(out, ']');
        break;
    case LT_VAL_KVLIST:
        attrs_json(out, &v->u.kv, depth);
        break;
    default:
        buf_append_c(out, "null");
    }
}

void model_value_json(lt_buf *out, const lt_value *v)
{
    value_json(out, v, 0);
}

void model_attrs_json(lt_buf *out, const lt_attrs *a)
{
    attrs_json(out, a, 0);
}

lt_str model_service_name(const lt_resource *r)
{
    const lt_value *v = model_attr_get(&r->attrs, LT_STR("service.name"));
    if (v && v->type == LT_VAL_STRING && v->u.s.len) return v->u.s;
    return LT_STR("unknown_service");
}

const genai_field_info model_genai_fields[GA_N_FIELDS] = {
    [GA_OPERATION] = {"gen_ai.operation.name", LT_VAL_STRING},
    [GA_PROVIDER] = {"gen_ai.provider.name", LT_VAL_STRING},
    [GA_REQUEST_MODEL] = {"gen_ai.request.model", LT_VAL_STRING},
    [GA_RESPONSE_MODEL] = {"gen_ai.response.model", LT_VAL_STRING},
    [GA_RESPONSE_ID] = {"gen_ai.response.id", LT_VAL_STRING},
    [GA_FINISH_REASONS] = {"gen_ai.response.finish_reasons", LT_VAL_ARRAY},
    [GA_TEMPERATURE] = {"gen_ai.request.temperature", LT_VAL_DOUBLE},
    [GA_TOP_P] = {"gen_ai.request.top_p", LT_VAL_DOUBLE},
    [GA_TOP_K] = {"gen_ai.request.top_k", LT_VAL_DOUBLE},
    [GA_MAX_TOKENS] = {"gen_ai.request.max_tokens", LT_VAL_INT},
    [GA_SEED] = {"gen_ai.request.seed", LT_VAL_INT},
    [GA_STREAM] = {"gen_ai.request.stream", LT_VAL_BOOL},
    [GA_STOP_SEQUENCES] = {"gen_ai.request.stop_sequences", LT_VAL_ARRAY},
    [GA_FREQUENCY_PENALTY] = {"gen_ai.request.frequency_penalty", LT_VAL_DOUBLE},
    [GA_PRESENCE_PENALTY] = {"gen_ai.request.presence_penalty", LT_VAL_DOUBLE},
    [GA_INPUT_TOKENS] = {"gen_ai.usage.input_tokens", LT_VAL_INT},
    [GA_OUTPUT_TOKENS] = {"gen_ai.usage.output_tokens", LT_VAL_INT},
    [GA_CACHE_READ] = {"gen_ai.usage.cache_read.input_tokens", LT_VAL_INT},
    [GA_CACHE_CREATION] = {"gen_ai.usage.cache_creation.input_tokens", LT_VAL_INT},
    [GA_REASONING] = {"gen_ai.usage.reasoning.output_tokens", LT_VAL_INT},
    [GA_CONVERSATION_ID] = {"gen_ai.conversation.id", LT_VAL_STRING},
    [GA_AGENT_ID] = {"gen_ai.agent.id", LT_VAL_STRING},
    [GA_AGENT_NAME] = {"gen_ai.agent.name", LT_VAL_STRING},
    [GA_WORKFLOW_NAME] = {"gen_ai.workflow.name", LT_VAL_STRING},
    [GA_TOOL_NAME] = {"gen_ai.tool.name", LT_VAL_STRING},
    [GA_TOOL_CALL_ID] = {"gen_ai.tool.call.id", LT_VAL_STRING},
    [GA_TOOL_TYPE] = {"gen_ai.tool.type", LT_VAL_STRING},
    [GA_DATA_SOURCE_ID] = {"gen_ai.data_source.id", LT_VAL_STRING},
    [GA_TTFT] = {"gen_ai.response.time_to_first_chunk", LT_VAL_DOUBLE},
    [GA_OUTPUT_RATE] = {"output_tokens_per_second", LT_VAL_DOUBLE},
    [GA_ERROR_TYPE] = {"error.type", LT_VAL_STRING},
    [GA_USER_ID] = {"user.id", LT_VAL_STRING},
    [GA_SESSION_ID] = {"session.id", LT_VAL_STRING},
    [GA_COST] = {"gen_ai.usage.cost", LT_VAL_DOUBLE},
    [GA_COST_SOURCE] = {"cost_source", LT_VAL_STRING},
    [GA_DIALECT] = {"dialect", LT_VAL_STRING},
};
