#!/usr/bin/env python3
"""Writes the committed seed corpus, fuzz/seeds/<target>/, from the repository's own material:
the Lambda event fixtures, requests shaped like the README's examples, and portal answers
captured from a sandbox portal that this script starts on loopback (every fault id whose answer
is small enough to seed: not slow, trickle, reset or the 2 MiB one).

    python3 fuzz/make_seeds.py target/release/b24-stock-gateway

Run by hand when the formats change; the seeds stay tiny (a few dozen files per target).
The sandbox's webhook code is random and is checked to appear in no seed.
"""

import json
import os
import secrets
import shutil
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
# Must match fuzz/src/lib.rs.
STATUSES = [200, 400, 401, 403, 404, 429, 500, 502, 503, 302, 204, 418]
# Faults whose answers cannot be seeds: they wait, drip, close the socket or send 2 MiB.
UNSEEDABLE = {990001, 990002, 990006, 990009}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def post(url, body, content_type="application/json"):
    """Status and body of a POST; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with OPENER.open(request, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError as error:  # a cut-off answer (the truncated fault): nothing to seed
        print(f"skipped {url.rsplit('/', 1)[-1]} {body[:40]!r}: {error!r}")
        return None, None


def start_sandbox(binary, code):
    process = subprocess.Popen(
        [binary, "sandbox", "--listen", "127.0.0.1:0", "--drain-per-sec", "1000", "--burst", "100000"],
        env={**os.environ, "SANDBOX_WEBHOOK_CODE": code, "RUST_LOG": "warn"},
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("webhook: "):
            return process, line.split(" ", 1)[1].strip()
    process.kill()
    sys.exit("the sandbox printed no webhook within 20 s")


def write(target, name, data):
    folder = SEEDS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def batch_body(commands):
    """The gateway's own batch body: keys c0, c1, ... (see portal/command.rs)."""
    cmd = {}
    for i, command in enumerate(commands):
        if command[0] == "get":
            cmd[f"c{i}"] = f"catalog.storeproduct.get?id={command[1]}"
        else:
            cmd[f"c{i}"] = (
                f"catalog.storeproduct.list?filter[productId]={command[1]}&select[]=id&select[]=productId"
                f"&select[]=storeId&select[]=amount&select[]=quantityReserved&order[id]=ASC&start={command[2]}"
            )
    return json.dumps({"halt": 0, "cmd": cmd}).encode()


def portal_seeds(webhook):
    status_byte = lambda status: bytes([STATUSES.index(status) if status in STATUSES else 0])
    # Single gets: records of every documented shape, a missing one, and the fault ids.
    gets = [13, 14, 15, 16, 17, 18, 19, 301, 999] + [
        id for id in range(990003, 990031) if id not in UNSEEDABLE
    ]
    for id in gets:
        status, body = post(webhook + "catalog.storeproduct.get", json.dumps({"id": id}).encode())
        if status is None:
            continue
        # The reply target asks for record 13: other ids exercise the wrong-record check.
        write("portal_reply", f"get-{id}", b"\x00" + status_byte(status) + body)
    # Product pages, as single list calls (reply target shape 4: one page of product 6973).
    for product, start in [(6973, 0), (8000, 0), (8000, 50), (1, 0)]:
        list_call = {
            "filter": {"productId": product},
            "select": ["id", "productId", "storeId", "amount", "quantityReserved"],
            "order": {"id": "ASC"},
            "start": start,
        }
        status, body = post(webhook + "catalog.storeproduct.list", json.dumps(list_call).encode())
        write("portal_reply", f"list-{product}-{start}", b"\x04" + status_byte(status) + body)
        write("list_page", f"list-{product}-{start}.json", body)
    # Batches as the gateway sends them; the reply target's shape byte says which commands.
    batches = {
        "gets": ([("get", 13), ("get", 14), ("get", 15), ("get", 999)], 0x03),
        "faults": ([("get", 13), ("get", 990010), ("get", 990022), ("get", 990029)], 0x03),
        "pages": ([("list", 6973, 0), ("get", 14), ("list", 8000, 0)], 0x02 | 0x04 | 0x10),
        "busy": ([("get", 13), ("get", 990008)], 0x01),
        "broken": ([("get", 13), ("get", 990004)], 0x01),
        "empty": ([("get", 990030), ("get", 13)], 0x01),
    }
    for name, (commands, shape) in batches.items():
        status, body = post(webhook + "batch", batch_body(commands))
        if status is None:
            continue
        write("portal_reply", f"batch-{name}", bytes([shape]) + status_byte(status) + body)
        write("batch_answer", f"batch-{name}", bytes([len(commands) - 1]) + status_byte(status) + body)
    write("batch_answer", "php-empty-maps", b"\x01\x00" + json.dumps(
        {"result": {"result": [], "result_error": [], "result_total": [], "result_next": [], "result_time": []}}
    ).encode())


def caller_seeds():
    for name, path in {
        "one": "13", "big": "2147483647", "too-big": "2147483648", "zero": "0", "lead": "013",
        "sign": "+1", "space": " 1", "arabic": "١٢", "fullwidth": "１", "empty": "",
    }.items():
        write("record_id", name, path)
    for name, query in {
        "id": "id=13", "ids": "ids=13,14,15", "encoded": "ids=13%2C14&utm=x", "both": "ids=1&id=2",
        "twice": "ids=1&ids=2", "gap": "ids=13,,14", "dup": "ids=13,13", "empty": "ids=",
        "fifty": "ids=" + ",".join(str(n) for n in range(1, 51)),
        "fifty-one": "ids=" + ",".join(str(n) for n in range(1, 52)), "other": "x=1&id=%31%33&_=99",
    }.items():
        write("query_ids", name, query)
    for name, path in {
        "by-path": "/v1/store-products/13", "by-query": "/v1/store-products", "stock": "/v1/products/6973/stock",
        "get": "/catalog.storeproduct.get", "get-json": "/catalog.storeproduct.get.json", "batch": "/batch.json",
        "hook": "/rest/1/public/catalog.storeproduct.get", "hook-batch": "/rest/12/tok-en/batch",
        "health": "/healthz", "deep": "/v1/products/1/2/stock", "list": "/rest/1/x/catalog.storeproduct.list",
    }.items():
        write("route", name, path)
    # <media byte><query>\n<body>, as fuzz/src/lib.rs cuts them.
    for name, seed in {
        "json": 'j\n{"id":13}', "json-string": 'J\n{"id":"13","auth":"x","select":["*"]}',
        "json-dup": 'j\n{"id":1,"id":2}', "json-float": 'j\n{"id":13.0}', "json-array": "j\n[13]",
        "form": "f\nid=13&auth=x", "query": "nid=13\n", "both": 'jid=1\n{"id":1}', "text": "t\nid=13",
        "null": 'j\n{"id":null}',
    }.items():
        write("bitrix_call", name, seed)
    for name, seed in {
        "sdk": 'jbx24_request_id=abc\n{"halt":1,"cmd":{"a":"catalog.storeproduct.get?__order=order0&id=13&",'
        '"b":"catalog.storeproduct.get?id=14"},"auth":"x"}',
        "array": 'j\n{"cmd":["catalog.storeproduct.get?id=13","catalog.storeproduct.get.json?id=15"]}',
        "form": "f\nhalt=0&cmd%5Bx%5D=catalog.storeproduct.get%3Fid%3D13&cmd[]=catalog.storeproduct.get%3Fid%3D14",
        "query": "ncmd[a]=catalog.storeproduct.get%3Fid%3D9\n",
        "reference": 'j\n{"cmd":{"b":"catalog.storeproduct.get?id=$result[a][id]"}}',
        "method": 'j\n{"cmd":{"a":"crm.deal.list"}}', "repeat": 'j\n{"cmd":{"a":"catalog.storeproduct.get?id=1&id=2"}}',
        "nested": "f\ncmd[a][b]=x", "empty": 'j\n{"cmd":{}}',
        "long": 'j\n{"cmd":[' + ",".join(f'"catalog.storeproduct.get?id={n}"' for n in range(1, 52)) + "]}",
    }.items():
        write("caller_batch", name, seed)
    v1 = b'{"id":13,"productId":6973,"storeId":11,"amount":14,"quantityReserved":0,"available":14}'
    bitrix = b'{"result":{"storeProduct":{"id":13}}}'
    for name, entry in {
        "missing": b"m", "product": b'p{"productId":6973,"stores":[]}',
        "record": b"r" + struct.pack(">I", len(v1)) + v1 + bitrix, "short": b"r\x00\x00\x00\xff{}",
        "foreign": b"x", "missing-tail": b"m!",
    }.items():
        write("cached_entry", name, entry)


def lambda_seeds():
    fixtures = ROOT / "tests" / "fixtures" / "lambda"
    for path in sorted(fixtures.glob("*.json")):
        write("lambda_event", path.name, path.read_bytes())
    v1 = json.loads((fixtures / "apigw_v1_rest.json").read_text())
    v1.update(httpMethod="POST", path="/prod/batch", body='{"cmd":{"a":"catalog.storeproduct.get?id=13"}}')
    v1["headers"]["Content-Type"] = "application/json"
    write("lambda_event", "v1-batch.json", json.dumps(v1))
    v2 = json.loads((fixtures / "apigw_v2_http.json").read_text())
    v2.update(rawPath="/catalog.storeproduct.get", rawQueryString="", isBase64Encoded=True, body="aWQ9MTM=")
    v2["requestContext"]["http"]["method"] = "POST"
    v2["headers"]["content-type"] = "application/x-www-form-urlencoded"
    write("lambda_event", "v2-form-base64.json", json.dumps(v2))
    v2 = json.loads((fixtures / "apigw_v2_http.json").read_text())
    v2.update(rawPath="/v1/store-products", rawQueryString="ids=13,14,15")
    v2["queryStringParameters"] = {"ids": "13,14,15"}
    write("lambda_event", "v2-ids.json", json.dumps(v2))
    alb = json.loads((fixtures / "alb.json").read_text())
    alb.update(path="/v1/products/6973/stock", queryStringParameters={"x": "1"})
    alb["headers"]["x-forwarded-for"] = "10.0.0.1, 192.0.2.44"
    write("lambda_event", "alb-stock.json", json.dumps(alb))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    code = "seed" + secrets.token_hex(12)
    shutil.rmtree(SEEDS, ignore_errors=True)
    process, webhook = start_sandbox(sys.argv[1], code)
    try:
        portal_seeds(webhook)
    finally:
        process.terminate()
        process.wait(timeout=10)
    caller_seeds()
    lambda_seeds()
    for path in SEEDS.rglob("*"):
        if path.is_file() and code.encode() in path.read_bytes():
            sys.exit(f"{path} holds the webhook code")
    for folder in sorted(SEEDS.iterdir()):
        files = list(folder.iterdir())
        print(f"{folder.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()
