// Test-only router in front of two gateway Workers (service bindings A and B), so that one
// `wrangler dev` session puts traffic through two separate isolates, as Cloudflare does when
// traffic grows. `x-gateway: a|b` picks one; otherwise requests alternate.
let next = 0;

export default {
  async fetch(request, env) {
    const pick = request.headers.get("x-gateway");
    const useA = pick ? pick === "a" : next++ % 2 === 0;
    return (useA ? env.A : env.B).fetch(request);
  },
};
