/* dialects.c — the convention mappings of the GenAI view, as data.
 *
 * One table per dialect: OTel GenAI semconv v1.41 with its deprecated and renamed names
 * (reference §1, §4), OpenInference (§5.1), OpenLLMetry / Traceloop (§5.2) and Langfuse
 * (§5.3). A row says which target an attribute feeds, what type it must have and its
 * rank; normalize.c applies them. Ranks carry the precedence of docs/genai.md:
 *
 *    1x  OTel semconv v1.41 names           4x  OpenInference
 *    2x  deprecated / renamed semconv       5x  Traceloop llm.* / traceloop.*
 *    3x  non-standard gen_ai.* (OpenLLMetry, genai repo)     6x  Langfuse
 *    8x  values read from JSON parameter objects
 *
 * The generic OTel keys user.id, session.id and error.type are in the OTel table, flagged
 * weak: alone they do not make a span a GenAI span. */
#include <ctype.h>

#include "core/err.h"
#include "genai/genai_int.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define TOK(fam, b) GT_TOKEN(GA_FAM_##fam, GA_TOK_##b)

/* ---- value vocabularies ---- */

/* gen_ai.operation.name: the v1.41 well-known values, plus names older senders use. Custom
 * values are allowed by semconv and pass through. */
static const ga_alias ops_semconv[] = {
    {"chat", "chat", NULL},
    {"text_completion", "text_completion", NULL},
    {"generate_content", "generate_content", NULL},
    {"embeddings", "embeddings", NULL},
    {"retrieval", "retrieval", NULL},
    {"execute_tool", "execute_tool", NULL},
    {"create_agent", "create_agent", NULL},
    {"invoke_agent", "invoke_agent", NULL},
    {"invoke_workflow", "invoke_workflow", NULL},
    {"completion", "text_completion", NULL},
    {"embedding", "embeddings", NULL},
    {"rerank", "rerank", NULL},
    {"guardrail", "guardrail", NULL},
};
const ga_values ga_ops_semconv = {ops_semconv, N(ops_semconv), true};

/* openinference.span.kind (reference §5.1). A root CHAIN orchestrates: invoke_workflow; a
 * CHAIN below another span is one step: the custom operation "task" (as Traceloop's). */
static const ga_alias ops_openinference[] = {
    {"LLM", "chat", NULL},
    {"EMBEDDING", "embeddings", NULL},
    {"RETRIEVER", "retrieval", NULL},
    {"TOOL", "execute_tool", NULL},
    {"AGENT", "invoke_agent", NULL},
    {"CHAIN", "invoke_workflow", "task"},
    {"RERANKER", "rerank", NULL},
    {"GUARDRAIL", "guardrail", NULL},
    {"EVALUATOR", NULL, NULL},
    {"PROMPT", NULL, NULL},
    {"UNKNOWN", NULL, NULL},
};
const ga_values ga_ops_openinference = {ops_openinference, N(ops_openinference), false};

/* traceloop.span.kind of the decorated spans (withWorkflow / withTask / withAgent / withTool). */
static const ga_alias ops_traceloop_kind[] = {
    {"workflow", "invoke_workflow", NULL}, {"task", "task", NULL},  {"agent", "invoke_agent", NULL},
    {"tool", "execute_tool", NULL},        {"session", NULL, NULL}, {"unknown", NULL, NULL},
};
const ga_values ga_ops_traceloop_kind = {ops_traceloop_kind, N(ops_traceloop_kind), false};

/* llm.request.type (OpenLLMetry <= 0.4). */
static const ga_alias ops_traceloop_type[] = {
    {"chat", "chat", NULL},
    {"completion", "text_completion", NULL},
    {"embedding", "embeddings", NULL},
    {"rerank", "rerank", NULL},
    {"unknown", NULL, NULL},
};
const ga_values ga_ops_traceloop_type = {ops_traceloop_type, N(ops_traceloop_type), false};

/* langfuse.observation.type. A generation is an LLM call: chat, or embeddings when its
 * model is an embedding model (normalize.c). A chain is OpenInference's CHAIN. */
static const ga_alias ops_langfuse[] = {
    {"generation", "chat", NULL},
    {"embedding", "embeddings", NULL},
    {"agent", "invoke_agent", NULL},
    {"tool", "execute_tool", NULL},
    {"retriever", "retrieval", NULL},
    {"chain", "invoke_workflow", "task"},
    {"guardrail", "guardrail", NULL},
    {"span", NULL, NULL},
    {"event", NULL, NULL},
    {"evaluator", NULL, NULL},
};
const ga_values ga_ops_langfuse = {ops_langfuse, N(ops_langfuse), false};

/* Provider names -> gen_ai.provider.name well-known values (reference §1.4, the migration
 * table of §4, OpenInference llm.provider / llm.system and OpenLLMetry's gen_ai.system
 * spellings of §5.1 and §5.2). Unknown names pass through as sent. "azure" is ambiguous
 * (OpenAI service or AI Inference): azure.ai.openai, by far the most common. */
static const ga_alias providers[] = {
    {"openai", "openai", NULL},
    {"anthropic", "anthropic", NULL},
    {"aws.bedrock", "aws.bedrock", NULL},
    {"aws", "aws.bedrock", NULL},
    {"bedrock", "aws.bedrock", NULL},
    {"amazon", "aws.bedrock", NULL},
    {"azure.ai.openai", "azure.ai.openai", NULL},
    {"az.ai.openai", "azure.ai.openai", NULL},
    {"azure", "azure.ai.openai", NULL},
    {"azure_openai", "azure.ai.openai", NULL},
    {"azure.ai.inference", "azure.ai.inference", NULL},
    {"az.ai.inference", "azure.ai.inference", NULL},
    {"gcp.gen_ai", "gcp.gen_ai", NULL},
    {"google", "gcp.gen_ai", NULL},
    {"gcp.vertex_ai", "gcp.vertex_ai", NULL},
    {"vertex_ai", "gcp.vertex_ai", NULL},
    {"vertexai", "gcp.vertex_ai", NULL},
    {"gcp.gemini", "gcp.gemini", NULL},
    {"gemini", "gcp.gemini", NULL},
    {"cohere", "cohere", NULL},
    {"mistral_ai", "mistral_ai", NULL},
    {"mistralai", "mistral_ai", NULL},
    {"mistral", "mistral_ai", NULL},
    {"deepseek", "deepseek", NULL},
    {"groq", "groq", NULL},
    {"perplexity", "perplexity", NULL},
    {"x_ai", "x_ai", NULL},
    {"xai", "x_ai", NULL},
    {"ibm.watsonx.ai", "ibm.watsonx.ai", NULL},
    {"watsonx", "ibm.watsonx.ai", NULL},
    {"moonshot_ai", "moonshot_ai", NULL},
    {"moonshot", "moonshot_ai", NULL},
    /* OpenLLMetry <= 0.4 spellings, as 0.5 renamed them */
    {"ollama", "ollama", NULL},
    {"alephalpha", "aleph_alpha", NULL},
    {"aleph_alpha", "aleph_alpha", NULL},
    {"replicate", "replicate", NULL},
    {"togetherai", "together_ai", NULL},
    {"together_ai", "together_ai", NULL},
    {"together", "together_ai", NULL},
    {"huggingface", "hugging_face", NULL},
    {"hugging_face", "hugging_face", NULL},
    {"fireworks", "fireworks", NULL},
    {"openrouter", "openrouter", NULL},
    {"langchain", "langchain", NULL},
    {"crewai", "crewai", NULL},
};
const ga_values ga_providers = {providers, N(providers), true};

/* Finish reasons -> the v1.41 OutputMessage vocabulary (stop, length, content_filter,
 * tool_call, error), from OpenAI, Anthropic, Gemini, Bedrock and Cohere spellings. Others
 * pass through as sent. */
static const ga_alias finish_reasons[] = {
    {"stop", "stop", NULL},
    {"end_turn", "stop", NULL},
    {"stop_sequence", "stop", NULL},
    {"complete", "stop", NULL},
    {"length", "length", NULL},
    {"max_tokens", "length", NULL},
    {"tool_call", "tool_call", NULL},
    {"tool_calls", "tool_call", NULL},
    {"function_call", "tool_call", NULL},
    {"tool_use", "tool_call", NULL},
    {"content_filter", "content_filter", NULL},
    {"content_filtered", "content_filter", NULL},
    {"safety", "content_filter", NULL},
    {"guardrail_intervened", "content_filter", NULL},
    {"refusal", "content_filter", NULL},
    {"error", "error", NULL},
};
const ga_values ga_finish_reasons = {finish_reasons, N(finish_reasons), true};

/* ---- OTel GenAI semconv v1.41, deprecated names, and generic OTel keys ---- */

static const ga_map map_otel[] = {
    {"gen_ai.operation.name", GA_OPERATION, GA_C_VALUE, 10, 0, &ga_ops_semconv},
    {"gen_ai.provider.name", GA_PROVIDER, GA_C_VALUE, 10, 0, &ga_providers},
    {"gen_ai.system", GA_PROVIDER, GA_C_VALUE, 20, 0, &ga_providers},
    {"gen_ai.request.model", GA_REQUEST_MODEL, GA_C_STR, 10, 0, NULL},
    {"gen_ai.response.model", GA_RESPONSE_MODEL, GA_C_STR, 10, 0, NULL},
    {"gen_ai.response.id", GA_RESPONSE_ID, GA_C_STR, 10, 0, NULL},
    {"gen_ai.response.finish_reasons", GA_FINISH_REASONS, GA_C_STRS, 10, 0, NULL},
    {"gen_ai.request.temperature", GA_TEMPERATURE, GA_C_DBL, 10, 0, NULL},
    {"gen_ai.request.top_p", GA_TOP_P, GA_C_DBL, 10, 0, NULL},
    {"gen_ai.request.top_k", GA_TOP_K, GA_C_DBL, 10, 0, NULL},
    {"gen_ai.retrieval.top_k", GA_TOP_K, GA_C_DBL, 11, 0, NULL},
    {"gen_ai.request.max_tokens", GA_MAX_TOKENS, GA_C_UINT, 10, 0, NULL},
    {"gen_ai.request.seed", GA_SEED, GA_C_INT, 10, 0, NULL},
    {"gen_ai.openai.request.seed", GA_SEED, GA_C_INT, 20, 0, NULL},
    {"gen_ai.request.stream", GA_STREAM, GA_C_BOOL, 10, 0, NULL},
    {"gen_ai.request.stop_sequences", GA_STOP_SEQUENCES, GA_C_STRS, 10, 0, NULL},
    {"gen_ai.request.frequency_penalty", GA_FREQUENCY_PENALTY, GA_C_DBL, 10, 0, NULL},
    {"gen_ai.request.presence_penalty", GA_PRESENCE_PENALTY, GA_C_DBL, 10, 0, NULL},
    {"gen_ai.usage.input_tokens", TOK(GENAI, IN), GA_C_UINT, 10, 0, NULL},
    {"gen_ai.usage.output_tokens", TOK(GENAI, OUT), GA_C_UINT, 10, 0, NULL},
    {"gen_ai.usage.prompt_tokens", TOK(GENAI, IN), GA_C_UINT, 20, 0, NULL},
    {"gen_ai.usage.completion_tokens", TOK(GENAI, OUT), GA_C_UINT, 20, 0, NULL},
    {"gen_ai.usage.cache_read.input_tokens", TOK(GENAI, CR), GA_C_UINT, 10, 0, NULL},
    {"gen_ai.usage.cache_creation.input_tokens", TOK(GENAI, CC), GA_C_UINT, 10, 0, NULL},
    {"gen_ai.usage.cache_write.input_tokens", TOK(GENAI, CC), GA_C_UINT, 21, 0, NULL},
    {"gen_ai.usage.reasoning.output_tokens", TOK(GENAI, RS), GA_C_UINT, 10, 0, NULL},
    {"gen_ai.conversation.id", GA_CONVERSATION_ID, GA_C_STR, 10, 0, NULL},
    {"gen_ai.agent.id", GA_AGENT_ID, GA_C_STR, 10, 0, NULL},
    {"gen_ai.agent.name", GA_AGENT_NAME, GA_C_STR, 10, 0, NULL},
    {"gen_ai.workflow.name", GA_WORKFLOW_NAME, GA_C_STR, 10, 0, NULL},
    {"gen_ai.tool.name", GA_TOOL_NAME, GA_C_STR, 10, 0, NULL},
    {"gen_ai.tool.call.id", GA_TOOL_CALL_ID, GA_C_STR, 10, 0, NULL},
    {"gen_ai.tool.type", GA_TOOL_TYPE, GA_C_STR, 10, 0, NULL},
    {"gen_ai.data_source.id", GA_DATA_SOURCE_ID, GA_C_STR, 10, 0, NULL},
    {"gen_ai.response.time_to_first_chunk", GA_TTFT, GA_C_UDBL, 10, 0, NULL},
    {"gen_ai.server.time_to_first_token", GA_TTFT, GA_C_UDBL, 11, 0, NULL},
    {"gen_ai.usage.cost", GA_COST, GA_C_UDBL, 10, 0, NULL},
    {"error.type", GA_ERROR_TYPE, GA_C_STR, 10, GA_F_WEAK, NULL},
    {"user.id", GA_USER_ID, GA_C_STR, 10, GA_F_WEAK, NULL},
    {"session.id", GA_SESSION_ID, GA_C_STR, 10, GA_F_WEAK, NULL},
};

/* ---- OpenInference (@arizeai/openinference-semantic-conventions 2.12) ---- */

static const ga_map map_openinference[] = {
    {"openinference.span.kind", GA_OPERATION, GA_C_VALUE, 40, GA_F_MARKER, &ga_ops_openinference},
    {"llm.provider", GA_PROVIDER, GA_C_VALUE, 40, GA_F_MARKER, &ga_providers},
    {"llm.system", GA_PROVIDER, GA_C_VALUE, 41, GA_F_MARKER, &ga_providers},
    {"llm.model_name", GT_MODEL, GA_C_STR, 40, GA_F_MARKER, NULL},
    {"llm.request.model_name", GA_REQUEST_MODEL, GA_C_STR, 40, GA_F_MARKER, NULL},
    {"llm.response.model_name", GA_RESPONSE_MODEL, GA_C_STR, 40, GA_F_MARKER, NULL},
    {"embedding.model_name", GA_REQUEST_MODEL, GA_C_STR, 41, GA_F_MARKER, NULL},
    {"llm.invocation_parameters", GT_PARAMS, GA_C_JSON, 40, GA_F_MARKER, NULL},
    {"embedding.invocation_parameters", GT_PARAMS, GA_C_JSON, 41, GA_F_MARKER, NULL},
    {"llm.finish_reason", GA_FINISH_REASONS, GA_C_STRS, 40, GA_F_MARKER, NULL},
    {"llm.token_count.prompt", TOK(OI, IN), GA_C_UINT, 40, GA_F_MARKER, NULL},
    {"llm.token_count.completion", TOK(OI, OUT), GA_C_UINT, 40, GA_F_MARKER, NULL},
    {"llm.token_count.total", TOK(OI, TOTAL), GA_C_UINT, 40, GA_F_MARKER, NULL},
    {"llm.token_count.prompt_details.cache_read", TOK(OI, CR), GA_C_UINT, 40, GA_F_MARKER, NULL},
    {"llm.token_count.prompt_details.cache_write", TOK(OI, CC), GA_C_UINT, 40, GA_F_MARKER, NULL},
    {"llm.token_count.completion_details.reasoning", TOK(OI, RS), GA_C_UINT, 40, GA_F_MARKER, NULL},
    {"llm.cost.total", GA_COST, GA_C_UDBL, 40, GA_F_MARKER, NULL},
    {"tool.name", GA_TOOL_NAME, GA_C_STR, 40, GA_F_MARKER, NULL},
    {"tool.id", GA_TOOL_CALL_ID, GA_C_STR, 41, GA_F_MARKER, NULL},
    {"tool_call.id", GA_TOOL_CALL_ID, GA_C_STR, 40, GA_F_MARKER, NULL},
    {"tool_call.function.name", GA_TOOL_NAME, GA_C_STR, 41, GA_F_MARKER, NULL},
    {"agent.name", GA_AGENT_NAME, GA_C_STR, 40, GA_F_MARKER, NULL},
};

/* ---- OpenLLMetry / Traceloop: 0.4.x llm.* names, 0.5.x non-OTel gen_ai.* names ---- */

static const ga_map map_traceloop[] = {
    {"traceloop.span.kind", GA_OPERATION, GA_C_VALUE, 50, GA_F_MARKER, &ga_ops_traceloop_kind},
    {"llm.request.type", GA_OPERATION, GA_C_VALUE, 51, GA_F_MARKER, &ga_ops_traceloop_type},
    {"traceloop.entity.name", GT_ENTITY, GA_C_STR, 50, GA_F_MARKER, NULL},
    {"traceloop.workflow.name", GA_WORKFLOW_NAME, GA_C_STR, 50, GA_F_MARKER, NULL},
    {"traceloop.association.properties.user_id", GA_USER_ID, GA_C_STR, 50, GA_F_MARKER, NULL},
    {"traceloop.association.properties.session_id", GA_SESSION_ID, GA_C_STR, 50, GA_F_MARKER, NULL},
    {"llm.usage.prompt_tokens", TOK(LLM_USAGE, IN), GA_C_UINT, 50, GA_F_MARKER, NULL},
    {"llm.usage.completion_tokens", TOK(LLM_USAGE, OUT), GA_C_UINT, 50, GA_F_MARKER, NULL},
    {"llm.usage.total_tokens", TOK(LLM_USAGE, TOTAL), GA_C_UINT, 50, GA_F_MARKER, NULL},
    {"llm.is_streaming", GA_STREAM, GA_C_BOOL, 50, GA_F_MARKER, NULL},
    {"llm.top_k", GA_TOP_K, GA_C_DBL, 50, GA_F_MARKER, NULL},
    {"llm.frequency_penalty", GA_FREQUENCY_PENALTY, GA_C_DBL, 50, GA_F_MARKER, NULL},
    {"llm.presence_penalty", GA_PRESENCE_PENALTY, GA_C_DBL, 50, GA_F_MARKER, NULL},
    {"llm.chat.stop_sequences", GA_STOP_SEQUENCES, GA_C_STRS, 50, GA_F_MARKER, NULL},
    {"llm.response.finish_reason", GA_FINISH_REASONS, GA_C_STRS, 50, GA_F_MARKER, NULL},
    {"llm.response.stop_reason", GA_FINISH_REASONS, GA_C_STRS, 51, GA_F_MARKER, NULL},
    {"llm.user", GA_USER_ID, GA_C_STR, 55, GA_F_MARKER, NULL},
    /* 0.5.x gen_ai.* names outside semconv; used by other senders too: not markers */
    {"gen_ai.is_streaming", GA_STREAM, GA_C_BOOL, 30, 0, NULL},
    {"gen_ai.request.max_completion_tokens", GA_MAX_TOKENS, GA_C_UINT, 30, 0, NULL},
    {"gen_ai.response.finish_reason", GA_FINISH_REASONS, GA_C_STRS, 30, 0, NULL},
    {"gen_ai.user", GA_USER_ID, GA_C_STR, 56, 0, NULL},
    {"gen_ai.usage.total_tokens", TOK(GENAI, TOTAL), GA_C_UINT, 30, 0, NULL},
    {"gen_ai.usage.cache_read_input_tokens", TOK(GENAI, CR), GA_C_UINT, 30, 0, NULL},
    {"gen_ai.usage.cache_creation_input_tokens", TOK(GENAI, CC), GA_C_UINT, 30, 0, NULL},
    {"gen_ai.usage.cache_write_input_tokens", TOK(GENAI, CC), GA_C_UINT, 31, 0, NULL},
    {"gen_ai.usage.reasoning_tokens", TOK(GENAI, RS), GA_C_UINT, 30, 0, NULL},
};

/* ---- Langfuse (packages/shared/src/server/otel/attributes.ts) ---- */

static const ga_map map_langfuse[] = {
    {"langfuse.observation.type", GA_OPERATION, GA_C_VALUE, 60, GA_F_MARKER, &ga_ops_langfuse},
    {"langfuse.observation.model.name", GT_MODEL, GA_C_STR, 60, GA_F_MARKER, NULL},
    {"langfuse.observation.model.parameters", GT_PARAMS, GA_C_JSON, 60, GA_F_MARKER, NULL},
    {"langfuse.observation.usage_details", GT_LF_USAGE, GA_C_JSON, 60, GA_F_MARKER, NULL},
    {"langfuse.observation.cost_details", GT_LF_COST, GA_C_JSON, 60, GA_F_MARKER, NULL},
    {"langfuse.observation.completion_start_time", GT_LF_START, GA_C_RAW, 60, GA_F_MARKER, NULL},
    {"langfuse.observation.level", GT_LF_LEVEL, GA_C_RAW, 60, GA_F_MARKER, NULL},
    {"langfuse.observation.metadata.tool_call_id", GA_TOOL_CALL_ID, GA_C_STR, 60, GA_F_MARKER,
     NULL},
    {"langfuse.user.id", GA_USER_ID, GA_C_STR, 60, GA_F_MARKER, NULL},
    {"langfuse.session.id", GA_SESSION_ID, GA_C_STR, 60, GA_F_MARKER, NULL},
};

const ga_dialect_table ga_dialects[GA_D_N] = {
    [GA_D_OTEL] = {"otel", map_otel, N(map_otel)},
    [GA_D_OPENINFERENCE] = {"openinference", map_openinference, N(map_openinference)},
    [GA_D_TRACELOOP] = {"traceloop", map_traceloop, N(map_traceloop)},
    [GA_D_LANGFUSE] = {"langfuse", map_langfuse, N(map_langfuse)},
};

/* ---- JSON objects of request parameters ---- */

/* Provider-native names as OpenInference (llm.invocation_parameters) and Langfuse
 * (model.parameters) copy them from the request: OpenAI, Anthropic, Gemini. */
const ga_map ga_params_map[] = {
    {"model", GA_REQUEST_MODEL, GA_C_STR, 80, 0, NULL},
    {"temperature", GA_TEMPERATURE, GA_C_DBL, 80, 0, NULL},
    {"top_p", GA_TOP_P, GA_C_DBL, 80, 0, NULL},
    {"top_k", GA_TOP_K, GA_C_DBL, 80, 0, NULL},
    {"max_tokens", GA_MAX_TOKENS, GA_C_UINT, 80, 0, NULL},
    {"max_completion_tokens", GA_MAX_TOKENS, GA_C_UINT, 81, 0, NULL},
    {"max_output_tokens", GA_MAX_TOKENS, GA_C_UINT, 82, 0, NULL},
    {"max_tokens_to_sample", GA_MAX_TOKENS, GA_C_UINT, 83, 0, NULL},
    {"seed", GA_SEED, GA_C_INT, 80, 0, NULL},
    {"stream", GA_STREAM, GA_C_BOOL, 80, 0, NULL},
    {"stop", GA_STOP_SEQUENCES, GA_C_STRS, 80, 0, NULL},
    {"stop_sequences", GA_STOP_SEQUENCES, GA_C_STRS, 81, 0, NULL},
    {"frequency_penalty", GA_FREQUENCY_PENALTY, GA_C_DBL, 80, 0, NULL},
    {"presence_penalty", GA_PRESENCE_PENALTY, GA_C_DBL, 80, 0, NULL},
};
const size_t ga_params_map_n = N(ga_params_map);

/* ---- Langfuse usage_details ---- */

/* The Langfuse SDKs report input net of every input_* detail and output net of every
 * output_* detail (@langfuse/openai parseUsageDetails). Anthropic-native detail names are
 * input-side too (Anthropic's input_tokens excludes them). */
const ga_lf_usage_key ga_lf_usage_keys[] = {
    {"input", GA_TOK_IN, -1},
    {"output", GA_TOK_OUT, -1},
    {"total", GA_TOK_TOTAL, -1},
    {"input_cached_tokens", GA_TOK_CR, GA_TOK_IN},
    {"input_cache_read", GA_TOK_CR, GA_TOK_IN},
    {"cache_read_input_tokens", GA_TOK_CR, GA_TOK_IN},
    {"input_cache_creation", GA_TOK_CC, GA_TOK_IN},
    {"input_cache_write", GA_TOK_CC, GA_TOK_IN},
    {"cache_creation_input_tokens", GA_TOK_CC, GA_TOK_IN},
    {"output_reasoning_tokens", GA_TOK_RS, GA_TOK_OUT},
    {"output_reasoning", GA_TOK_RS, GA_TOK_OUT},
    /* totals under other names, not details: ignored */
    {"input_tokens", -1, -1},
    {"output_tokens", -1, -1},
};
const size_t ga_lf_usage_keys_n = N(ga_lf_usage_keys);

/* ---- helpers over the tables ---- */

static bool eq_nocase(lt_str a, const char *b)
{
    size_t n = strlen(b);
    if (a.len != n) return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a.ptr[i]) != tolower((unsigned char)b[i])) return false;
    return true;
}

lt_str ga_value_map(const ga_values *vals, lt_str s, bool has_parent)
{
    for (size_t i = 0; i < vals->n; i++) {
        const ga_alias *al = &vals->items[i];
        if (!eq_nocase(s, al->from)) continue;
        const char *to = has_parent && al->to_child ? al->to_child : al->to;
        return to ? lt_str_c(to) : LT_STR_NULL;
    }
    return vals->pass_unknown ? s : LT_STR_NULL;
}

static bool digits(const char *p, const char *end, int n, int *out)
{
    if (end - p < n) return false;
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int ga_parse_iso8601(lt_str s, uint64_t *ns)
{
    const char *p = s.ptr, *end = s.ptr + s.len;
    int y, mo, d, h, mi, sec;
    if (!s.len || !digits(p, end, 4, &y) || end - p < 19 || p[4] != '-' ||
        !digits(p + 5, end, 2, &mo) || p[7] != '-' || !digits(p + 8, end, 2, &d) ||
        (p[10] != 'T' && p[10] != 't' && p[10] != ' ') || !digits(p + 11, end, 2, &h) ||
        p[13] != ':' || !digits(p + 14, end, 2, &mi) || p[16] != ':' ||
        !digits(p + 17, end, 2, &sec))
        return LT_EINVAL;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return LT_EINVAL;
    p += 19;
    uint64_t frac = 0;
    if (p < end && (*p == '.' || *p == ',')) {
        p++;
        int nd = 0;
        uint64_t scale = 100000000;
        while (p < end && *p >= '0' && *p <= '9') {
            if (nd < 9) frac += (uint64_t)(*p - '0') * scale;
            scale /= 10;
            nd++;
            p++;
        }
        if (!nd) return LT_EINVAL;
    }
    int64_t offset = 0;
    if (p < end) {
        if ((*p == 'Z' || *p == 'z') && p + 1 == end) {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om = 0;
            p++;
            if (!digits(p, end, 2, &oh)) return LT_EINVAL;
            p += 2;
            if (p < end && *p == ':') p++;
            if (p < end) {
                if (!digits(p, end, 2, &om)) return LT_EINVAL;
                p += 2;
            }
            if (p != end || oh > 23 || om > 59) return LT_EINVAL;
            offset = sign * (int64_t)(oh * 3600 + om * 60);
        } else {
            return LT_EINVAL;
        }
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    if (secs < 0 || secs > (int64_t)(UINT64_MAX / 1000000000u) - 1) return LT_EINVAL;
    *ns = (uint64_t)secs * 1000000000u + frac;
    return 0;
}
