// Preloaded into the MCP conformance suite (node --import): adds Countersign's agent bearer token to
// every request the suite makes to the server under test. The suite has no option for auth headers,
// and Countersign refuses unauthenticated MCP requests (401), which is not what the suite measures.
// The suite talks HTTP three ways (fetch, undici.request, node:http), so all three are covered.
import http from "node:http";
import { Agent, setGlobalDispatcher } from "undici";

const token = process.env.COUNTERSIGN_AGENT_TOKEN;
const target = new URL(process.env.COUNTERSIGN_MCP_URL);
const authorization = `Bearer ${token}`;

function forTarget(origin, path) {
  try {
    const url = new URL(path ?? "/", origin);
    return url.port === target.port && url.pathname.startsWith(target.pathname);
  } catch {
    return false;
  }
}

// fetch and undici.request both go through the global dispatcher.
setGlobalDispatcher(
  new Agent().compose((dispatch) => (options, handler) => {
    if (forTarget(String(options.origin), options.path)) {
      const headers = options.headers;
      if (Array.isArray(headers)) {
        options = { ...options, headers: [...headers, "authorization", authorization] };
      } else {
        options = { ...options, headers: { ...(headers ?? {}), authorization } };
      }
    }
    return dispatch(options, handler);
  }),
);

const request = http.request;
http.request = function (options, callback) {
  if (options && typeof options === "object" && !(options instanceof URL)) {
    const origin = `http://${options.hostname ?? options.host}:${options.port}`;
    if (forTarget(origin, options.path)) {
      options = { ...options, headers: { ...(options.headers ?? {}), Authorization: authorization } };
    }
  }
  return request.call(this, options, callback);
};

// Node's own fetch may not read the npm undici's global dispatcher (the tasks-* scenarios call it
// directly), so the global fetch is wrapped as well.
const originalFetch = globalThis.fetch;
globalThis.fetch = function (input, init) {
  const url = typeof input === "string" || input instanceof URL ? String(input) : input?.url;
  if (url && forTarget(url, url)) {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (!headers.has("authorization")) headers.set("authorization", authorization);
    init = { ...(init ?? {}), headers };
  }
  return originalFetch.call(this, input, init);
};
