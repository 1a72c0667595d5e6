// The smallest honest JS Worker with the gateway's contract on the hit path, for comparison
// only (bench/worker-vs-js.sh; never shipped): GET /v1/store-products/{id}, a strict id check,
// an isolate cache with the same TTL, the trimmed exact answer, CORS for listed origins, and the
// same headers. A miss calls the portal's catalog.storeproduct.get with the webhook secret.
const JSON_TYPE = "application/json; charset=utf-8";
const cache = new Map();
let requests = 0;

function error(status, code, message, cacheControl = "no-store") {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": JSON_TYPE, "cache-control": cacheControl },
  });
}

function trimmed(record, env) {
  const amount = Number(record.amount);
  const reserved = record.quantityReserved == null ? 0 : Number(record.quantityReserved);
  const available = Math.round(Math.max(amount - reserved, 0) * 1e6) / 1e6;
  // What may be sold, from the stock alone (the gateway's answer for a product whose flags are
  // the catalog's defaults): at or below the low-stock threshold is "low_stock".
  const threshold = Number(env.STOCK_LOW_STOCK_THRESHOLD || 5);
  const availability = available <= 0 ? "out_of_stock" : available <= threshold ? "low_stock" : "in_stock";
  return JSON.stringify({
    id: Number(record.id), productId: Number(record.productId), storeId: Number(record.storeId),
    amount, reserved, available, inStock: available > 0, availability, sellable: available > 0,
  });
}

function withCommonHeaders(response, request, env, cacheStatus, age) {
  const headers = new Headers(response.headers);
  const origins = (env.STOCK_ALLOWED_ORIGINS || "").split(",").map((o) => o.trim()).filter(Boolean);
  const origin = request.headers.get("origin");
  if (origins.length) {
    headers.append("vary", "Origin");
    if (origin && origins.includes(origin)) {
      headers.set("access-control-allow-origin", origin);
      headers.set("access-control-expose-headers", "Retry-After, Age, X-Cache, X-Request-Id");
    }
  }
  headers.set("x-content-type-options", "nosniff");
  headers.set("x-request-id", `js-${++requests}`);
  if (cacheStatus) headers.set("x-cache", cacheStatus);
  if (age !== undefined) headers.set("age", String(age));
  return new Response(response.body, { status: response.status, headers });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const match = /^\/v1\/store-products\/([^/]*)$/.exec(url.pathname);
    if (!match) return withCommonHeaders(error(404, "not_found", "no such route"), request, env);
    if (request.method !== "GET") {
      return withCommonHeaders(error(405, "method_not_allowed", "method not allowed on this route"), request, env);
    }
    const text = match[1];
    if (!/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > 2147483647) {
      return withCommonHeaders(error(400, "invalid_id", "id must be a positive decimal integer"), request, env);
    }
    const ttl = Number(env.STOCK_CACHE_TTL_SECS || 30) * 1000;
    const now = Date.now();
    const hit = cache.get(text);
    if (hit && now - hit.at < ttl) {
      const response = new Response(hit.body, {
        headers: { "content-type": JSON_TYPE, "cache-control": `public, max-age=${ttl / 1000}` },
      });
      return withCommonHeaders(response, request, env, "HIT", Math.floor((now - hit.at) / 1000));
    }
    const portal = await fetch(`${env.B24_WEBHOOK_URL}catalog.storeproduct.get`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: Number(text) }),
      redirect: "manual",
      signal: AbortSignal.timeout(Number(env.STOCK_UPSTREAM_TIMEOUT_MS || 3000)),
    }).catch(() => null);
    const answer = portal && portal.ok ? await portal.json().catch(() => null) : null;
    const record = answer && answer.result && answer.result.storeProduct;
    if (!record || String(record.id) !== text) {
      return withCommonHeaders(error(502, "upstream_error", "the stock service could not read the inventory"), request, env, "MISS");
    }
    const body = trimmed(record, env);
    cache.set(text, { body, at: now });
    const response = new Response(body, {
      headers: { "content-type": JSON_TYPE, "cache-control": `public, max-age=${ttl / 1000}` },
    });
    return withCommonHeaders(response, request, env, "MISS");
  },
};
