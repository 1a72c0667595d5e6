/* <b24-stock record="13"></b24-stock> or <b24-stock product="6973" lang="ru">: a stock badge
 * for b24-stock-gateway, no dependencies. Attributes and states: docs/api.md ("The badge"). */
(() => {
  const script = document.currentScript;
  // The script's folder: a gateway under a path prefix keeps it.
  const home = script && script.src ? new URL('.', script.src).href : location.origin + '/';
  const TEXT = {
    en: { in_stock: 'In stock', low_stock: 'Low stock', out_of_stock: 'Out of stock', backorder: 'On backorder', untracked: 'Available', discontinued: 'Discontinued' },
    ru: { in_stock: 'В наличии', low_stock: 'Заканчивается', out_of_stock: 'Нет в наличии', backorder: 'Под заказ', untracked: 'Доступен', discontinued: 'Снят с продажи' },
  };
  const CSS = `:host{display:inline-block;font:var(--b24-stock-font,inherit)}
[part=badge]{display:inline-flex;align-items:center;gap:.4em;padding:var(--b24-stock-padding,.15em .6em);border-radius:var(--b24-stock-radius,1em);background:var(--b24-stock-bg,#f1f3f5);color:var(--b24-stock-color,#1f2328);font-size:var(--b24-stock-size,.875em);line-height:1.5}
[part=dot]{width:.6em;height:.6em;border-radius:50%;background:var(--c)}
:host([state=in_stock]){--c:var(--b24-stock-in,#1a7f37)}
:host([state=low_stock]){--c:var(--b24-stock-low,#b35900)}
:host([state=out_of_stock]){--c:var(--b24-stock-out,#b42318)}
:host([state=backorder]){--c:var(--b24-stock-backorder,#0969da)}
:host([state=untracked]){--c:var(--b24-stock-untracked,#0a7d6e)}
:host([state=discontinued]){--c:var(--b24-stock-discontinued,#6e7781)}
:host(:not([state])) [part=badge],:host([state=unknown]) [part=badge]{display:none}`;
  let sheet;
  const MAX_IDS = 50; // the gateway's limit for one ?ids= request
  const RETRY_SECS = 60; // after a failure, or an answer that may not be kept
  let waiting = new Set();
  let planned = false;
  const warned = new Set();

  // Badges asking within one task share requests.
  function plan(badge) {
    waiting.add(badge);
    if (planned) return;
    planned = true;
    const go = () => setTimeout(flush);
    document.readyState == 'loading' ? addEventListener('DOMContentLoaded', go) : go();
  }

  function flush() {
    const badges = [...waiting].filter((b) => b.isConnected && b.want);
    waiting = new Set();
    planned = false;
    const asks = new Map(); // request URL -> badges
    const lists = new Map(); // gateway -> record ids
    const ask = (url, badge) => (asks.get(url) || asks.set(url, []).get(url)).push(badge);
    for (const b of badges) {
      const [gw, kind, id] = b.want;
      if (kind == 'product') ask(`${gw}v1/products/${id}/stock`, b);
      else (lists.get(gw) || lists.set(gw, new Set()).get(gw)).add(id);
    }
    for (const [gw, ids] of lists) {
      const all = [...ids];
      for (let i = 0; i < all.length; i += MAX_IDS) {
        const part = all.slice(i, i + MAX_IDS);
        const url = `${gw}v1/store-products?ids=${part}`;
        for (const b of badges) if (b.want[0] == gw && b.want[1] == 'record' && part.includes(b.want[2])) ask(url, b);
      }
    }
    for (const [url, list] of asks) load(url, list);
  }

  // One request; each badge then gets its record, null (no such record) or undefined (failed).
  async function load(url, badges) {
    const asked = badges.map((b) => [b, b.turn]);
    let found = () => undefined;
    let secs = RETRY_SECS;
    let r;
    try {
      r = await fetch(url, { credentials: 'omit', cache: 'no-cache' });
    } catch (e) {
      // Most often an origin the gateway does not allow: say so once.
      const gw = new URL(url).origin;
      if (!warned.has(gw)) {
        warned.add(gw);
        console.warn(`b24-stock: no answer from ${gw}. If it is not this page's origin, list ${location.origin} in its STOCK_ALLOWED_ORIGINS.`);
      }
    }
    try {
      const age = /max-age=(\d+)/.exec(r.headers.get('cache-control'));
      if (age && +age[1] > 0) secs = +age[1];
      secs = Math.max(secs, +r.headers.get('retry-after') || 0);
      if (r.ok) {
        const body = await r.json();
        const items = body.items;
        found = items
          ? (b) => items.find((x) => x.id == b.want[2]) || ((body.notFound || []).includes(+b.want[2]) ? null : undefined)
          : () => body;
      } else if (r.status == 404) found = () => null;
    } catch (e) {
    }
    for (const [b, turn] of asked) {
      try {
        if (b.turn == turn) b.show(found(b));
      } catch (e) {}
    }
    // Not before the answer's max-age; 1 s to a day.
    setTimeout(() => {
      for (const [b, turn] of asked) if (b.turn == turn && b.isConnected) b.ask();
    }, Math.min(Math.max(secs, 1), 86400) * 1000);
  }

  class Badge extends HTMLElement {
    static observedAttributes = ['record', 'product', 'gateway', 'low-stock', 'lang'];

    constructor() {
      super();
      this.turn = 0;
      const root = this.attachShadow({ mode: 'open' });
      if (root.adoptedStyleSheets) {
        // Works under a CSP without inline styles.
        if (!sheet) (sheet = new CSSStyleSheet()).replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      } else root.innerHTML = `<style>${CSS}</style>`;
      root.innerHTML += '<span part="badge" role="status"><span part="dot"></span><span part="label"></span></span>';
      this.badge = root.querySelector('[part=badge]');
    }

    connectedCallback() {
      this.ask();
    }

    attributeChangedCallback() {
      if (this.isConnected) this.ask();
    }

    ask() {
      this.turn++;
      const kind = this.hasAttribute('product') ? 'product' : 'record';
      const id = (this.getAttribute(kind) || '').trim();
      let gw = this.getAttribute('gateway') || home;
      if (!gw.endsWith('/')) gw += '/';
      this.want = /^[1-9]\d{0,9}$/.test(id) ? [gw, kind, id] : null;
      if (this.want) plan(this);
      else this.show(null);
    }

    // data: an answer, null (nothing to show), undefined (failed: keep what is shown).
    show(data) {
      if (data === undefined && this.state) return;
      const low = parseFloat(this.getAttribute('low-stock'));
      const n = data && parseFloat(data.available); // "10+" is 10
      const a = data && data.availability;
      // The gateway's state, unless the page sets its own threshold for exact figures.
      const state = !data
        ? 'unknown'
        : /^(ba|un|di)/.test(a) || !(n >= 0) || (a && !(low >= 0))
          ? a || 'unknown'
          : n > (low >= 0 ? low : 5) ? 'in_stock' : n > 0 ? 'low_stock' : 'out_of_stock';
      const lang = (this.closest('[lang]') || {}).lang || '';
      const text = (TEXT[lang.slice(0, 2).toLowerCase()] || TEXT.en)[state] || '';
      this.state = data && state;
      this.setAttribute('state', state);
      this.badge.lastChild.textContent = text;
      if (text) this.badge.setAttribute('aria-label', text);
      else this.badge.removeAttribute('aria-label');
    }
  }

  if (!customElements.get('b24-stock')) customElements.define('b24-stock', Badge);
})();
