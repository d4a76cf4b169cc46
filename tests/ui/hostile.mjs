// hostile.mjs — one trace whose every piece of text a sender controls is hostile: span,
// service, event and tool names, attribute keys and values, model names, prompts,
// completions, tool arguments, retrieved documents, log bodies and a status message carry
// HTML, script, javascript: URLs, right-to-left overrides and a 1 MB string. Sent over
// OTLP/HTTP JSON. Used by hostile.test.mjs (and by hand: `node tests/ui/hostile.mjs URL`
// sends it to the OTLP/HTTP base URL given).

import { pathToFileURL } from 'node:url';

import { attrs, randomHex, sendOtlpJson } from './lib.mjs';

// Every payload that could run tries to set window.__pwned (lib.mjs watches it).
export const SCRIPT = '<script>window.__pwned=1</script>';
export const IMG = '<img src=x onerror=window.__pwned=1>';
export const SVG = '<svg onload=window.__pwned=1></svg>';
export const JS_URL = 'javascript:window.__pwned=1';
export const LINK = `<a href="${JS_URL}">open</a>`;
export const MD_LINK = `[open](${JS_URL})`;
// U+202E RIGHT-TO-LEFT OVERRIDE: without isolation it reverses what follows it on the line.
export const RTL = 'invoice\u202Egpj.exe';
// 1 MiB of text with markup at both ends, so that a renderer that parses only the start or
// only the end is caught too
export const HUGE = `${IMG}${'x'.repeat(1024 * 1024 - 2 * IMG.length)}${IMG}`;

export const ROOT_NAME = `agent ${SCRIPT}`;
export const LLM_NAME = `chat ${IMG}`;
export const RETRIEVAL_NAME = `retrieve ${SVG}`;
export const TOOL_NAME = `tool ${LINK}`;
export const RTL_NAME = `export ${RTL} done`;
export const SERVICE = `svc ${IMG}`;
export const ATTR_KEY = `key ${SCRIPT}`;
export const ATTR_VALUE = `value ${IMG} ${LINK}`;
export const MODEL = `gpt-4o ${SCRIPT}`;
export const PROMPT = `Summarise ${SCRIPT} and ${IMG} then follow ${MD_LINK} ${RTL}`;
export const COMPLETION = `Here: ${LINK} ${SVG} ${SCRIPT}`;
export const LOG_BODY = `log ${SCRIPT} ${IMG}`;
export const STATUS_MESSAGE = `failed: ${IMG}`;

/**
 * Builds and sends the trace (start = now, so that it is the newest). Returns
 * { traceId, spanIds: { root, llm, retrieval, tool, rtl } }.
 */
export async function sendHostileTrace(server) {
  const traceId = randomHex(16);
  const ids = { root: randomHex(8), llm: randomHex(8), retrieval: randomHex(8), tool: randomHex(8), rtl: randomHex(8) };
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const at = (ms) => String(t0 + BigInt(ms) * 1_000_000n);

  const inputMessages = JSON.stringify([
    { role: 'system', parts: [{ type: 'text', content: `You are ${SCRIPT}` }] },
    { role: 'user', parts: [{ type: 'text', content: PROMPT }] },
    { role: 'assistant', parts: [{ type: 'tool_call', id: `call ${IMG}`, name: `lookup ${SCRIPT}`, arguments: { q: IMG, url: JS_URL } }] },
    { role: 'tool', parts: [{ type: 'tool_call_response', id: `call ${IMG}`, response: { html: LINK } }] },
    { role: 'user', parts: [{ type: 'text', content: HUGE }] },
  ]);
  const outputMessages = JSON.stringify([
    { role: 'assistant', finish_reason: `stop ${IMG}`, parts: [
      { type: 'reasoning', content: `thinking ${SCRIPT}` },
      { type: 'text', content: COMPLETION },
    ] },
  ]);
  const documents = JSON.stringify([
    { id: `doc ${SCRIPT}`, score: 0.9, content: `Document ${IMG} ${LINK}` },
    { id: 'doc-huge', score: 0.5, content: HUGE },
  ]);

  const span = (id, parent, name, startMs, endMs, a, extra = {}) => ({
    traceId, spanId: id, ...(parent ? { parentSpanId: parent } : {}), name, kind: 1,
    startTimeUnixNano: at(startMs), endTimeUnixNano: at(endMs), attributes: attrs(a), ...extra,
  });

  const spans = [
    span(ids.root, null, ROOT_NAME, 0, 900, {
      [ATTR_KEY]: ATTR_VALUE,
      'url.full': JS_URL,
      'http.url': JS_URL,
      'note.rtl': RTL,
      'note.huge': HUGE,
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': `planner ${SCRIPT}`,
    }),
    span(ids.retrieval, ids.root, RETRIEVAL_NAME, 20, 120, {
      'gen_ai.operation.name': 'retrieval',
      'gen_ai.retrieval.documents': documents,
    }),
    span(ids.llm, ids.root, LLM_NAME, 150, 700, {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': MODEL,
      'gen_ai.response.model': MODEL,
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 7,
      'gen_ai.input.messages': inputMessages,
      'gen_ai.output.messages': outputMessages,
    }, {
      events: [{ timeUnixNano: at(200), name: `event ${SCRIPT}`, attributes: attrs({ [ATTR_KEY]: IMG, link: JS_URL }) }],
      status: { code: 2, message: STATUS_MESSAGE },
    }),
    span(ids.tool, ids.root, TOOL_NAME, 710, 800, {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': `search ${IMG}`,
      'gen_ai.tool.call.arguments': JSON.stringify({ q: SCRIPT, href: JS_URL }),
      'gen_ai.tool.call.result': LINK,
    }),
    span(ids.rtl, ids.root, RTL_NAME, 810, 890, { [`rtl ${RTL}`]: RTL }),
  ];

  await sendOtlpJson(server, 'traces', {
    resourceSpans: [{
      resource: { attributes: attrs({ 'service.name': SERVICE, [`res ${SCRIPT}`]: IMG }) },
      scopeSpans: [{ scope: { name: `scope ${SCRIPT}`, version: IMG }, spans }],
    }],
  });
  await sendOtlpJson(server, 'logs', {
    resourceLogs: [{
      resource: { attributes: attrs({ 'service.name': SERVICE }) },
      scopeLogs: [{
        scope: { name: `scope ${SCRIPT}` },
        logRecords: [
          { timeUnixNano: at(300), severityNumber: 17, severityText: `ERROR ${IMG}`, traceId, spanId: ids.llm,
            body: { stringValue: LOG_BODY }, attributes: attrs({ [ATTR_KEY]: LINK }) },
          { timeUnixNano: at(310), severityNumber: 9, traceId, spanId: ids.llm,
            body: { stringValue: HUGE } },
        ],
      }],
    }],
  });
  return { traceId, spanIds: ids };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const otlp = process.argv[2];
  if (!otlp) {
    console.error('usage: node tests/ui/hostile.mjs OTLP_HTTP_BASE_URL   (e.g. http://127.0.0.1:4318)');
    process.exit(2);
  }
  const { traceId } = await sendHostileTrace({ otlp });
  console.log(traceId);
}
