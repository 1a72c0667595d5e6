#!/usr/bin/env node
// Exercise the official Bitrix24 JS SDK (@bitrix24/b24jssdk) against a gateway.
//
// Env:
//   GATEWAY_WEBHOOK        webhook-shaped base URL, e.g. http://127.0.0.1:8787/rest/0/public/
//   SDK_TEST_VERBOSE=1     one line per check on stderr
//   SDK_TEST_HTTP_TIMEOUT  per-request timeout in ms (default 5000)
//   SDK_TEST_HARD_LIMIT    whole-run watchdog in ms (default 60000; exit 1 when hit)
//
// Checks:
//   * single catalog.storeproduct.get id=13 -> id 13, productId 6973, storeId 11, amount 14
//   * batch (named commands, halt=false) of 13, 14, 99999 -> records for 13 and 14,
//     error (or no entry) for 99999
//   * batch (named commands, SDK default halt=1) of 13, 14, 99999
//   * batch (array of commands, i.e. JSON array `cmd`) of 13, 14
// Exit status 0 when every check passed, 1 otherwise, 2 on bad configuration.
// The last line on stdout is "sdk_test: N passed, M failed".
import { B24Hook, ApiVersion } from '@bitrix24/b24jssdk'
import { createRequire } from 'node:module'

const HTTP_TIMEOUT = Number(process.env.SDK_TEST_HTTP_TIMEOUT || 5000)
const HARD_LIMIT = Number(process.env.SDK_TEST_HARD_LIMIT || 60000)
const VERBOSE = process.env.SDK_TEST_VERBOSE === '1'
const watchdog = setTimeout(() => {
  console.error(`sdk_test: hard time limit ${HARD_LIMIT} ms reached`)
  console.log('sdk_test: 0 passed, 1 failed')
  process.exit(1)
}, HARD_LIMIT)

const sdkVersion = (() => {
  try { return createRequire(import.meta.url)('@bitrix24/b24jssdk/package.json').version } catch { return '?' }
})()
const results = []
function expect(cond, msg) { if (!cond) throw new Error(msg) }
function assertRecord(rec, id, fields = {}) {
  expect(rec && typeof rec === 'object', `record for ${id} is not an object: ${JSON.stringify(rec)}`)
  for (const [k, v] of Object.entries({ id, ...fields })) {
    expect(rec[k] === v, `record ${id}: ${k}=${JSON.stringify(rec[k])}, expected ${JSON.stringify(v)}`)
  }
}
function unwrap(value) {
  expect(value && typeof value === 'object' && 'storeProduct' in value, `no storeProduct in ${JSON.stringify(value)}`)
  return value.storeProduct
}
async function check(name, fn) {
  const full = `b24jssdk@${sdkVersion} ${name}`
  try {
    await fn()
    results.push([full, true])
    if (VERBOSE) console.error(`ok   ${full}`)
  } catch (e) {
    const detail = `${e?.constructor?.name}: ${e?.code ? `[${e.code}] ` : ''}${e?.message}`
    results.push([full, false, detail])
    console.error(`FAIL ${full}: ${detail}`)
  }
}

const raw = (process.env.GATEWAY_WEBHOOK || '').trim()
let url
try { url = new URL(raw) } catch { url = null }
const parts = url ? url.pathname.split('/').filter(Boolean) : []
if (!url || !['http:', 'https:'].includes(url.protocol) || parts.length !== 3 || parts[0] !== 'rest' || !/^\d+$/.test(parts[1])) {
  console.error(`sdk_test: GATEWAY_WEBHOOK must look like http://HOST:PORT/rest/<user>/<secret>/, got ${JSON.stringify(raw)}`)
  process.exit(2)
}

// The SDK always builds https://<domain>/rest/<user>/<secret>/<method> (B24Hook.fromWebhookUrl
// even rejects http://). For a plain-http gateway, rewrite the scheme in an axios request
// interceptor on the SDK's own axios instance (public getter `ajaxClient`).
const b24 = new B24Hook(
  { b24Url: url.origin, userId: Number(parts[1]), secret: parts[2] },
  { restrictionParams: { maxRetries: 2, retryDelay: 200, retryOnNetworkError: false } }
)
for (const v of [ApiVersion.v2, ApiVersion.v3]) {
  const ax = b24.getHttpClient(v).ajaxClient
  ax.defaults.timeout = HTTP_TIMEOUT
  if (url.protocol === 'http:') {
    const httpsOrigin = `https://${url.host}`
    ax.interceptors.request.use((cfg) => {
      if (typeof cfg.url === 'string' && cfg.url.startsWith(httpsOrigin)) cfg.url = `http://${url.host}${cfg.url.slice(httpsOrigin.length)}`
      return cfg
    })
  }
}

await check('single', async () => {
  const r = await b24.actions.v2.call.make({ method: 'catalog.storeproduct.get', params: { id: 13 } })
  expect(r.isSuccess, `call failed: ${r.getErrorMessages().join('; ')}`)
  assertRecord(unwrap(r.getData().result), 13, { productId: 6973, storeId: 11, amount: 14 })
})

const named = {
  p13: ['catalog.storeproduct.get', { id: 13 }],
  p14: ['catalog.storeproduct.get', { id: 14 }],
  p99999: ['catalog.storeproduct.get', { id: 99999 }]
}

await check('batch named halt=false 13,14,99999', async () => {
  const r = await b24.actions.v2.batch.make({ calls: named, options: { isHaltOnError: false, returnAjaxResult: true } })
  const per = r.getData()
  expect(per && typeof per === 'object', `no data: ${r.getErrorMessages().join('; ')}`)
  expect(per.p13?.isSuccess && per.p14?.isSuccess, `13/14 not successful: ${r.getErrorMessages().join('; ')}`)
  assertRecord(unwrap(per.p13.getData().result), 13, { productId: 6973, storeId: 11, amount: 14 })
  assertRecord(unwrap(per.p14.getData().result), 14)
  // 99999: an entry that is not successful, or no entry at all
  expect(!per.p99999 || !per.p99999.isSuccess, '99999 reported success')
  expect(!r.isSuccess, 'batch with a missing id reported overall success')
})

await check('batch named default halt 13,14,99999', async () => {
  const r = await b24.actions.v2.batch.make({ calls: named })
  const data = r.getData() // successful commands only, keyed by command name
  assertRecord(unwrap(data.p13), 13, { productId: 6973, storeId: 11, amount: 14 })
  assertRecord(unwrap(data.p14), 14)
  expect(!('p99999' in data), '99999 returned a result')
})

await check('batch array 13,14', async () => {
  const r = await b24.actions.v2.batch.make({
    calls: [['catalog.storeproduct.get', { id: 13 }], ['catalog.storeproduct.get', { id: 14 }]],
    options: { isHaltOnError: false }
  })
  expect(r.isSuccess, `batch failed: ${r.getErrorMessages().join('; ')}`)
  const data = r.getData()
  expect(Array.isArray(data) && data.length === 2, `expected 2 results, got ${JSON.stringify(data)}`)
  assertRecord(unwrap(data[0]), 13, { productId: 6973, storeId: 11, amount: 14 })
  assertRecord(unwrap(data[1]), 14)
})

clearTimeout(watchdog)
const passed = results.filter((r) => r[1]).length
const failed = results.length - passed
console.log(`sdk_test: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 && passed > 0 ? 0 : 1)
