// api.js — the JSON API as the UI calls it: same origin, GET, a bearer token when the server
// asks for one (kept in sessionStorage for the tab, never in the URL).

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem('llmtrace.token') || '';
}

// Calls refused at the same time (a page fetches several things at once) share one prompt.
let asking = null;

/** Whether a token other than `used` is there now: another call's, or one just typed. */
function askToken(used) {
  if (token() && token() !== used) return Promise.resolve(true);
  if (!asking) {
    asking = Promise.resolve().then(() => {
      const t = window.prompt('This llmtrace asks for an API token:');
      if (t && t.trim()) sessionStorage.setItem('llmtrace.token', t.trim());
      return !!(t && t.trim());
    }).finally(() => { asking = null; });
  }
  return asking;
}

/** GET /api/{path}?{params} → parsed JSON; throws ApiError with the server's message. */
export async function getJson(path, params) {
  const qs = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v !== undefined && v !== null)).toString() : '';
  const url = `/api/${path.replace(/^\/+/, '')}${qs ? `?${qs}` : ''}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    const used = token();
    const headers = used ? { Authorization: `Bearer ${used}` } : {};
    const r = await fetch(url, { headers });
    if (r.status === 401 && attempt === 0) {
      if (!(await askToken(used))) throw new ApiError(401, 'an API token is needed');
      continue;
    }
    let body = null;
    try { body = await r.json(); } catch { body = null; }
    if (!r.ok) throw new ApiError(r.status, (body && body.error) || `HTTP ${r.status}`);
    return body;
  }
  throw new ApiError(401, 'the API token was refused');
}
