// The <b24-stock> badge in Debian's headless Chromium against real gateways on the sandbox
// portal. scripts/test-browser.sh starts them and sets:
//   GATEWAY        exact figures, allows the SHOP origin, demo page on
//   LEVEL_GATEWAY  STOCK_EXPOSE=level, cache lifetime 2 s, allows the SHOP origin
//   LEVEL_GATEWAY_LOG  its JSON log (the test looks for revalidations answered 304)
//   SHOP           a page server whose origin the gateways allow
//   OTHER_SHOP     the same pages from an origin they do not allow
//   ARTEFACTS      where the screenshot goes
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const { GATEWAY, LEVEL_GATEWAY, LEVEL_GATEWAY_LOG, SHOP, OTHER_SHOP, ARTEFACTS } = process.env;
for (const [name, value] of Object.entries({ GATEWAY, LEVEL_GATEWAY, LEVEL_GATEWAY_LOG, SHOP, OTHER_SHOP, ARTEFACTS })) {
  assert.ok(value, `${name} is not set: run scripts/test-browser.sh`);
}

// As this machine's Chromium needs them: no sandbox as root, and nothing that calls out.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const EN = {
  in_stock: 'In stock',
  low_stock: 'Low stock',
  out_of_stock: 'Out of stock',
  backorder: 'On backorder',
  untracked: 'Available',
  discontinued: 'Discontinued',
  unknown: '',
};
const RU = {
  in_stock: 'В наличии',
  low_stock: 'Заканчивается',
  out_of_stock: 'Нет в наличии',
  backorder: 'Под заказ',
  untracked: 'Доступен',
  discontinued: 'Снят с продажи',
  unknown: '',
};

/** A fresh browser with a fresh profile (so no cache carries over), one page, and what it saw. */
async function open(t) {
  const profile = await mkdtemp(join(tmpdir(), 'b24-browser-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: FLAGS,
    viewport: { width: 900, height: 1000 },
    timeout: 30_000,
  });
  t.after(async () => {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15_000);
  const seen = { requests: [], errors: [], warnings: [] };
  page.on('request', (r) => seen.requests.push(r.url()));
  page.on('console', (m) => m.type() === 'error' && seen.errors.push(m.text()));
  page.on('console', (m) => m.type() === 'warning' && seen.warnings.push(m.text()));
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  return { page, seen };
}

/** Waits until every badge has settled, then reads what each shows. */
async function badges(page) {
  await page.waitForFunction(() =>
    [...document.querySelectorAll('b24-stock')].every((b) => b.hasAttribute('state')),
  );
  return page.$$eval('b24-stock', (all) =>
    all.map((b) => {
      const badge = b.shadowRoot.querySelector('[part=badge]');
      return {
        id: b.getAttribute('record') || b.getAttribute('product'),
        lang: b.closest('[lang]').lang,
        state: b.getAttribute('state'),
        text: badge.querySelector('[part=label]').textContent,
        label: badge.getAttribute('aria-label'),
        role: badge.getAttribute('role'),
        visible: badge.checkVisibility(),
      };
    }),
  );
}

const apiCalls = (seen, kind) =>
  seen.requests.filter((u) => u.includes(kind === 'ids' ? '/v1/store-products?ids=' : '/v1/products/'));

function expectShown(shown, want) {
  for (const b of shown) {
    const state = want[b.id];
    const text = (b.lang.startsWith('ru') ? RU : EN)[state];
    assert.deepEqual(
      { id: b.id, state: b.state, text: b.text, visible: b.visible },
      { id: b.id, state, text, visible: state !== 'unknown' },
    );
    // Screen readers get the same words; nothing is announced for a hidden badge.
    assert.equal(b.role, 'status');
    assert.equal(b.label, text || null);
  }
}

const SANDBOX = { 13: 'in_stock', 14: 'low_stock', 19: 'low_stock', 15: 'out_of_stock', 99999: 'unknown', 6973: 'in_stock', 8000: 'in_stock' };

test('the widget is within 3 KB gzipped, and the gateway serves it as it is', async () => {
  const file = await readFile(new URL('../../widget/b24-stock.js', import.meta.url));
  const size = gzipSync(file, { level: 9 }).length;
  assert.ok(size <= 3 * 1024, `widget/b24-stock.js is ${size} bytes gzipped`);
  const served = Buffer.from(await (await fetch(`${GATEWAY}/widget.js`)).arrayBuffer());
  assert.ok(served.equals(file));
});

test('demo page: right texts in English and Russian, one request for all records, no console errors; screenshot', async (t) => {
  const { page, seen } = await open(t);
  await page.goto(`${GATEWAY}/`);
  const shown = await badges(page);
  assert.equal(shown.length, 14);
  assert.deepEqual(new Set(shown.map((b) => b.lang)), new Set(['en', 'ru']));
  expectShown(shown, SANDBOX);
  // Ten record badges (five ids, twice), one ?ids= request; one request per product.
  assert.equal(apiCalls(seen, 'ids').length, 1, apiCalls(seen, 'ids').join('\n'));
  assert.deepEqual(apiCalls(seen, 'products').map((u) => new URL(u).pathname).sort(), [
    '/v1/products/6973/stock',
    '/v1/products/8000/stock',
  ]);
  assert.deepEqual(seen.errors, []);
  await mkdir(ARTEFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTEFACTS, 'demo.png'), fullPage: true });
});

test('a page on an allowed origin shows badges from the gateway its script came from', async (t) => {
  const { page, seen } = await open(t);
  await page.goto(`${SHOP}/badges.html?gw=${GATEWAY}&records=13,14,15,19,99999&products=6973`);
  expectShown(await badges(page), SANDBOX);
  await page.goto(`${SHOP}/badges.html?gw=${GATEWAY}&records=13,14,15,19,99999&products=8000&lang=ru`);
  expectShown(await badges(page), SANDBOX);
  // The threshold attribute, with exact figures: 2 available is not low below 1.
  await page.goto(`${SHOP}/badges.html?gw=${GATEWAY}&records=14,19&low=1`);
  expectShown(await badges(page), { 14: 'in_stock', 19: 'in_stock' });
  assert.deepEqual(seen.errors, []);
});

test('a page on an origin that is not allowed shows the neutral state', async (t) => {
  const { page, seen } = await open(t);
  await page.goto(`${OTHER_SHOP}/badges.html?gw=${GATEWAY}&records=13,15&products=6973`);
  const shown = await badges(page);
  assert.equal(shown.length, 3);
  expectShown(shown, { 13: 'unknown', 15: 'unknown', 6973: 'unknown' });
  // The browser's own CORS message, and one hint from the widget naming the setting and this
  // page's origin (two requests failed: one hint per gateway).
  const hints = seen.warnings.filter((w) => w.includes('STOCK_ALLOWED_ORIGINS'));
  assert.equal(hints.length, 1, seen.warnings.join('\n'));
  assert.ok(hints[0].includes(new URL(OTHER_SHOP).origin), hints[0]);
});

test('many badges share requests: 50 ids per request, one per product', async (t) => {
  const { page, seen } = await open(t);
  const thirty = Array.from({ length: 30 }, (_, i) => 13 + (i % 25)).join(',');
  await page.goto(`${SHOP}/badges.html?gw=${GATEWAY}&records=${thirty}&products=6973,6973,6973`);
  assert.equal((await badges(page)).length, 33);
  assert.equal(apiCalls(seen, 'ids').length, 1, '30 badges, 25 distinct ids: one request');
  assert.equal(apiCalls(seen, 'products').length, 1, 'three badges of one product: one request');

  const sixty = Array.from({ length: 60 }, (_, i) => 100 + i).join(',');
  seen.requests.length = 0;
  await page.goto(`${SHOP}/badges.html?gw=${GATEWAY}&records=${sixty}`);
  assert.equal((await badges(page)).length, 60);
  const calls = apiCalls(seen, 'ids');
  assert.equal(calls.length, 2, calls.join('\n'));
  const sizes = calls.map((u) => new URL(u).searchParams.get('ids').split(',').length).sort((a, b) => a - b);
  assert.deepEqual(sizes, [10, 50]);
  assert.deepEqual(seen.errors, []);
});

test('level exposure: states from availability, and refreshes no sooner than max-age', async (t) => {
  const { page, seen } = await open(t);
  await page.goto(`${SHOP}/badges.html?gw=${LEVEL_GATEWAY}&records=13,14,15,19,99999&products=6973&low=0`);
  // With levels the gateway decides what is low; the page's threshold has nothing to act on.
  expectShown(await badges(page), SANDBOX);
  // The level gateway's answers may be kept 2 s: over 5 s, at most three rounds.
  const started = Date.now();
  await page.waitForTimeout(5_000);
  const rounds = apiCalls(seen, 'ids');
  assert.ok(rounds.length >= 2 && rounds.length <= 3, `${rounds.length} rounds in ${Date.now() - started} ms`);
  expectShown(await badges(page), SANDBOX);
  // Later rounds revalidate what the browser kept: the gateway answered them 304, no body.
  const log = await readFile(LEVEL_GATEWAY_LOG, 'utf8');
  const revalidated = log.split('\n').filter((l) => l.includes('"route":"v1.store_products"') && l.includes('"status":304'));
  assert.ok(revalidated.length >= 1, `no 304 in the level gateway's log`);
  assert.deepEqual(seen.errors, []);
});

test('what may be sold: backorder, untracked and discontinued, in both languages, each its own colour', async (t) => {
  const { page, seen } = await open(t);
  // Records 2101-2103 and products 7104-7106 carry the sandbox's flag combinations.
  const want = { 2101: 'backorder', 2102: 'untracked', 2103: 'discontinued', 7104: 'untracked', 7105: 'discontinued', 7106: 'out_of_stock' };
  for (const lang of ['en', 'ru']) {
    await page.goto(`${SHOP}/badges.html?gw=${GATEWAY}&records=2101,2102,2103&products=7104,7105,7106&lang=${lang}`);
    expectShown(await badges(page), want);
  }
  const colours = await page.$$eval('b24-stock', (all) =>
    Object.fromEntries(all.map((b) => [b.getAttribute('state'), getComputedStyle(b.shadowRoot.querySelector('[part=dot]')).backgroundColor])),
  );
  assert.equal(new Set(Object.values(colours)).size, 4, JSON.stringify(colours));
  assert.deepEqual(seen.errors, []);
});
