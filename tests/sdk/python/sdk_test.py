#!/usr/bin/env python3
"""Exercise published Bitrix24 Python client libraries against a gateway.

Env:
    GATEWAY_WEBHOOK   webhook-shaped base URL, e.g. http://127.0.0.1:8787/rest/0/public/
    SDK_TEST_LIBS     optional, comma list of libraries to run: fast_bitrix24,b24pysdk
                      (default: every one of them that is importable)
    SDK_TEST_VERBOSE  optional, "1" prints one line per check to stderr
    SDK_TEST_HTTP_TIMEOUT  per-request timeout in seconds (default 5)
    SDK_TEST_HARD_LIMIT    whole-run watchdog in seconds (default 120; exit 1 when hit)

Checks, per library:
  * single catalog.storeproduct.get id=13 -> id 13, productId 6973, storeId 11, amount 14
  * batch of ids 13, 14, 99999 -> records for 13 and 14, error (or no entry) for 99999
  (+ a few library-specific variants, see below)

Exit status: 0 when every check passed, 1 otherwise, 2 on bad configuration.
The last line on stdout is "sdk_test: N passed, M failed".
Bounded: HTTP timeouts, at most 2 attempts per call, and a hard watchdog.
"""
import faulthandler
import importlib
import os
import sys
import traceback
import urllib.parse

HARD_LIMIT_SECONDS = float(os.environ.get("SDK_TEST_HARD_LIMIT", "120"))
HTTP_TIMEOUT = float(os.environ.get("SDK_TEST_HTTP_TIMEOUT", "5"))  # seconds, per HTTP request
EXPECTED_13 = {"id": 13, "productId": 6973, "storeId": 11, "amount": 14}
VERBOSE = os.environ.get("SDK_TEST_VERBOSE") == "1"

RESULTS = []  # (name, ok, detail)


def check(name, fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - report every failure
        detail = f"{type(exc).__name__}: {exc}"
        RESULTS.append((name, False, detail))
        print(f"FAIL {name}: {detail}", file=sys.stderr)
        if VERBOSE:
            traceback.print_exc()
    else:
        RESULTS.append((name, True, ""))
        if VERBOSE:
            print(f"ok   {name}", file=sys.stderr)


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def assert_record(rec, pid, **fields):
    expect(isinstance(rec, dict), f"record for {pid} is not an object: {rec!r}")
    for k, v in {"id": pid, **fields}.items():
        expect(rec.get(k) == v, f"record {pid}: {k}={rec.get(k)!r}, expected {v!r}")


def unwrap(value):
    """catalog.storeproduct.get answers {"storeProduct": {...}}."""
    expect(isinstance(value, dict) and "storeProduct" in value, f"no storeProduct in {value!r}")
    return value["storeProduct"]


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # noqa: BLE001
        return "?"


def parse_webhook(url):
    u = urllib.parse.urlsplit(url)
    parts = [p for p in u.path.split("/") if p]
    if u.scheme not in ("http", "https") or not u.netloc or len(parts) != 3 or parts[0] != "rest":
        raise SystemExit(f"GATEWAY_WEBHOOK must look like http://HOST:PORT/rest/<user>/<secret>/, got {url!r}")
    if not parts[1].isdigit():
        raise SystemExit("GATEWAY_WEBHOOK user id segment must be numeric")
    return u.scheme, u.netloc, parts[1], parts[2]


# ---------------------------------------------------------------- fast_bitrix24
def run_fast_bitrix24(webhook):
    import asyncio

    import aiohttp
    from fast_bitrix24 import BitrixAsync

    # The library retries 5xx / timeouts / connection errors up to 11 times with
    # growing sleeps (~17 s); there is no constructor option, only this module constant.
    srh = importlib.import_module("fast_bitrix24.srh")
    srh.MAX_RETRIES = 1  # -> at most 2 attempts
    ErrorInServerResponse = importlib.import_module(
        "fast_bitrix24.server_response"
    ).ErrorInServerResponseException
    ver = _dist_version("fast_bitrix24")

    async def main():
        # Own session: bounded timeout; raise_for_status=True keeps the library's
        # default semantics (it relies on aiohttp raising for 4xx/5xx).
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT), raise_for_status=True
        )
        try:
            # respect_velocity_policy must stay True: with False, an answer that
            # carries time.operating makes 1.8.14 raise KeyError('batch').
            b = BitrixAsync(webhook, verbose=False, client=session)

            async def single():
                rec = await b.call("catalog.storeproduct.get", {"id": 13})
                # call() sends a one-command batch and unwraps {"storeProduct": ...}
                assert_record(rec, 13, **{k: v for k, v in EXPECTED_13.items() if k != "id"})

            async def call_list():
                recs = await b.call("catalog.storeproduct.get", [{"id": 13}, {"id": 14}])
                expect(isinstance(recs, (list, tuple)) and len(recs) == 2, f"call() list -> {recs!r}")
                by_id = {r.get("id"): r for r in recs}
                assert_record(by_id.get(13), 13, productId=6973, storeId=11, amount=14)
                assert_record(by_id.get(14), 14)

            cmd = {
                "p13": "catalog.storeproduct.get?id=13",
                "p14": "catalog.storeproduct.get?id=14",
                "p99999": "catalog.storeproduct.get?id=99999",
            }

            async def batch_with_missing():
                # fast_bitrix24 turns ANY entry of result.result_error into an exception
                # for the whole batch (the good results are not returned).
                try:
                    res = await b.call_batch({"halt": 0, "cmd": cmd})
                except ErrorInServerResponse as exc:
                    errors = exc.args[0]
                    keys = set(errors) if isinstance(errors, dict) else None
                    expect(keys is None or keys == {"p99999"}, f"unexpected error keys {keys}")
                    return
                # no error reported: then 99999 must simply be absent
                expect(isinstance(res, dict), f"call_batch -> {res!r}")
                expect("p99999" not in res, "99999 returned a result")
                assert_record(unwrap(res["p13"]), 13, productId=6973, storeId=11, amount=14)
                assert_record(unwrap(res["p14"]), 14)

            async def raw_batch():
                # same batch through the raw pass-through, to see both halves
                raw = await b.call("batch", {"halt": 0, "cmd": cmd}, raw=True)
                inner = raw["result"]
                res = inner["result"]
                expect(isinstance(res, dict), f"result.result should be an object, got {type(res).__name__}")
                assert_record(unwrap(res["p13"]), 13, productId=6973, storeId=11, amount=14)
                assert_record(unwrap(res["p14"]), 14)
                err = inner.get("result_error") or {}
                expect("p99999" not in res, "99999 returned a result")
                if isinstance(err, dict) and err:
                    expect("p99999" in err, f"result_error has no p99999: {err!r}")

            for name, coro in (
                ("single", single),
                ("call() list 13,14", call_list),
                ("call_batch 13,14,99999", batch_with_missing),
                ("raw batch 13,14,99999", raw_batch),
            ):
                full = f"fast_bitrix24=={ver} {name}"
                try:
                    await asyncio.wait_for(coro(), HTTP_TIMEOUT * 3)
                except Exception as exc:  # noqa: BLE001
                    RESULTS.append((full, False, f"{type(exc).__name__}: {exc}"))
                    print(f"FAIL {full}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    if VERBOSE:
                        traceback.print_exc()
                else:
                    RESULTS.append((full, True, ""))
                    if VERBOSE:
                        print(f"ok   {full}", file=sys.stderr)
        finally:
            await session.close()

    asyncio.run(main())


# ---------------------------------------------------------------- b24pysdk
def run_b24pysdk(webhook):
    from b24pysdk import BitrixWebhook, Client

    scheme, netloc, user_id, secret = parse_webhook(webhook)
    ver = _dist_version("b24pysdk")
    if scheme == "http":
        # b24pysdk 1.3.x hard-codes "https://{domain}/rest"; no option or env var
        # changes it.  Smallest override: the one property that builds the base URL.
        mod = importlib.import_module("b24pysdk.api.callers.call_method")
        caller = getattr(mod, "_MethodCaller", None)
        if caller is None or not hasattr(caller, "_base_url"):
            raise RuntimeError("b24pysdk internals changed: cannot switch it to http://")
        caller._base_url = property(lambda self: f"http://{self._domain}/rest")

    client = Client(
        BitrixWebhook(domain=netloc, webhook_token=f"{user_id}/{secret}"),
        timeout=(3, HTTP_TIMEOUT),
        max_retries=2,            # attempts in total (only HTTP 503 is retried)
        initial_retry_delay=0.5,
        retry_delay_increment=0,
    )
    sp = client.catalog.storeproduct

    def single():
        req = sp.get(bitrix_id=13)
        assert_record(unwrap(req.result), 13, productId=6973, storeId=11, amount=14)
        expect(req.time is not None, "no time")

    def batch_mapping():
        resp = client.call_batch(
            {"p13": sp.get(bitrix_id=13), "p14": sp.get(bitrix_id=14), "p99999": sp.get(bitrix_id=99999)},
            halt=False,
        ).result
        res, err = resp.result, resp.result_error
        if isinstance(res, list):  # only legal if keys were numeric; they are not
            raise AssertionError("result.result came back as a JSON array for named commands")
        assert_record(unwrap(res["p13"]), 13, productId=6973, storeId=11, amount=14)
        assert_record(unwrap(res["p14"]), 14)
        expect("p99999" not in res, "99999 returned a result")
        if isinstance(err, dict) and err:
            expect(set(err) == {"p99999"}, f"result_error keys {set(err)}")
        elif isinstance(err, list) and err:
            expect(len(err) == 1, f"result_error {err!r}")

    def batch_sequence():
        # a Python list of requests is sent as cmd {"0": ..., "1": ...}; real Bitrix
        # (PHP) then answers result.result as a JSON array - accept either shape.
        resp = client.call_batch([sp.get(bitrix_id=13), sp.get(bitrix_id=14)]).result
        res = resp.result
        items = res if isinstance(res, list) else [res[k] for k in sorted(res, key=int)]
        expect(len(items) == 2, f"expected 2 results, got {res!r}")
        assert_record(unwrap(items[0]), 13, productId=6973, storeId=11, amount=14)
        assert_record(unwrap(items[1]), 14)

    check(f"b24pysdk=={ver} single", single)
    check(f"b24pysdk=={ver} call_batch mapping 13,14,99999", batch_mapping)
    check(f"b24pysdk=={ver} call_batch list 13,14", batch_sequence)


LIBS = {"fast_bitrix24": run_fast_bitrix24, "b24pysdk": run_b24pysdk}


def main():
    faulthandler.dump_traceback_later(HARD_LIMIT_SECONDS, exit=True)  # hard stop, exit code 1
    webhook = os.environ.get("GATEWAY_WEBHOOK", "").strip()
    if not webhook:
        print("sdk_test: GATEWAY_WEBHOOK is not set", file=sys.stderr)
        return 2
    if not webhook.endswith("/"):
        webhook += "/"
    parse_webhook(webhook)
    wanted = [x for x in os.environ.get("SDK_TEST_LIBS", "").split(",") if x] or list(LIBS)
    for lib in wanted:
        if lib not in LIBS:
            print(f"sdk_test: unknown library {lib!r}", file=sys.stderr)
            return 2
        try:
            importlib.import_module(lib)
        except ImportError as exc:
            if os.environ.get("SDK_TEST_LIBS"):
                RESULTS.append((f"{lib} import", False, str(exc)))
                print(f"FAIL {lib} import: {exc}", file=sys.stderr)
            else:
                print(f"skip {lib}: not installed", file=sys.stderr)
            continue
        try:
            LIBS[lib](webhook)
        except Exception as exc:  # noqa: BLE001
            RESULTS.append((f"{lib} setup", False, f"{type(exc).__name__}: {exc}"))
            print(f"FAIL {lib} setup: {type(exc).__name__}: {exc}", file=sys.stderr)
    passed = sum(1 for _, ok, _ in RESULTS if ok)
    failed = len(RESULTS) - passed
    print(f"sdk_test: {passed} passed, {failed} failed")
    return 0 if RESULTS and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
