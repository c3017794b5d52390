"""Microbenchmark of `DetectionEngine.inspect`: typical requests and adversarial inputs.

    PYTHONPATH=src python bench/detect_micro.py [--repeat N]

Prints the median time of one full inspection (parsers + detectors) for a typical
GET and a 1 KB JSON POST (DESIGN.md §11 budgets: 30 µs and 150 µs on the reference
machine), and the worst single inspection of each adversarial input (bar: 50 ms).
Timing is reported, never asserted: tests do not depend on the machine's speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import timeit
from collections.abc import Callable
from typing import Final

from wallarm_sidecar.detect import DetectionEngine, InspectedRequest

GET_BUDGET_US: Final = 30.0
JSON_BUDGET_US: Final = 150.0
WORST_CASE_MS: Final = 50.0

BROWSER_HEADERS: Final = (
    ("host", "shop.example.com"),
    (
        "user-agent",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
    ),
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("accept-language", "en-US,en;q=0.9"),
    ("accept-encoding", "gzip, deflate, br"),
    ("cookie", "sid=8e5a89cef8e7d616c40368e11891ed9e; theme=dark"),
    ("connection", "keep-alive"),
)

TYPICAL_GET: Final = InspectedRequest(
    method="GET", target="/api/v1/products/1234?page=2&sort=price", headers=BROWSER_HEADERS
)


def _json_post() -> InspectedRequest:
    document = {
        "order_id": "3bc85494-dede-46eb-941c-3bdbc9ce26b0",
        "customer": {"name": "Jane Doe", "email": "jane.doe@example.com", "phone": "+1 555 0100"},
        "items": [
            {"sku": f"MUG-{n:04d}", "qty": n % 3 + 1, "price": 12.5 + n, "gift": n % 2 == 0}
            for n in range(8)
        ],
        "note": "Please select the best option from the list, or drop us a line if unsure.",
        "shipping": {"street": "1 Main St", "city": "Springfield", "zip": "12345"},
        "created_at": "2024-05-01T10:20:30Z",
    }
    body = json.dumps(document).encode()
    while len(body) < 1024:
        document["note"] = str(document["note"]) + " Thanks!"
        body = json.dumps(document).encode()
    return InspectedRequest(
        method="POST",
        target="/api/v1/orders",
        headers=(*BROWSER_HEADERS, ("content-type", "application/json")),
        body=body,
    )


def _form(value: str) -> InspectedRequest:
    return InspectedRequest(
        method="POST",
        target="/post",
        headers=(("content-type", "application/x-www-form-urlencoded"),),
        body=b"v=" + value.encode(),
    )


def _raw(value: str, content_type: str = "text/plain") -> InspectedRequest:
    return InspectedRequest(
        method="POST",
        target="/post",
        headers=(("content-type", content_type),),
        body=value.encode(),
    )


#: name -> request that tries to make one inspection slow
ADVERSARIAL: Final[dict[str, Callable[[], InspectedRequest]]] = {
    "100k single quotes": lambda: _raw("'" * 100_000),
    "100k double quotes": lambda: _raw('"' * 100_000),
    "50k doubled quotes": lambda: _raw("a''" * 33_000),
    "nested parens 50k": lambda: _raw("(" * 50_000 + ")" * 50_000),
    "100k of <a": lambda: _raw("<a" * 50_000),
    "100k of <a x=": lambda: _raw("<a x=" * 20_000),
    "open attributes": lambda: _raw("<svg " + "a='x " * 20_000),
    "100k of ${": lambda: _raw("${" * 50_000),
    "nested lookups": lambda: _raw("${" * 5_000 + "lower:j" + "}" * 5_000 + "ndi:"),
    "comments /*": lambda: _raw("/*" * 50_000),
    "dotdot slashes": lambda: _raw("../" * 33_000),
    "backslashes": lambda: _raw("\\" * 100_000),
    "select words": lambda: _raw("select " * 15_000),
    "or 1=1 repeated": lambda: _raw("' or 1=1 " * 10_000),
    "many short params": lambda: _form("&v=".join(["x'"] * 2_000)),
    "long query value": lambda: InspectedRequest(method="GET", target="/?q=" + "%27%3C" * 20_000),
    "long header": lambda: InspectedRequest(
        method="GET", target="/", headers=(("user-agent", "() {" * 20_000),)
    ),
    "json 1 MB of strings": lambda: _raw(
        json.dumps(["<b onx=" + "'" * 100] * 5_000), "application/json"
    ),
    "xml entities text": lambda: _raw("<r>" + "&lt;a " * 20_000 + "</r>", "application/xml"),
    "shell quotes": lambda: _raw("c'a't" * 20_000),
}


def _size(request: InspectedRequest) -> int:
    return len(request.body) + len(request.target) + sum(len(v) for _, v in request.headers)


def median_us(engine: DetectionEngine, request: InspectedRequest, repeat: int) -> float:
    timer = timeit.Timer(lambda: engine.inspect(request))
    loops = max(1, int(timer.autorange()[0] / 5))
    runs = [timer.timeit(loops) / loops * 1e6 for _ in range(repeat)]
    return statistics.median(runs)


def worst_ms(engine: DetectionEngine, request: InspectedRequest, tries: int = 3) -> float:
    worst = 0.0
    for _ in range(tries):
        start = time.perf_counter()
        engine.inspect(request)
        worst = max(worst, (time.perf_counter() - start) * 1e3)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="timeit repeats (median taken)")
    args = parser.parse_args()
    engine = DetectionEngine()
    json_post = _json_post()
    engine.inspect(TYPICAL_GET)  # warm caches
    get_us = median_us(engine, TYPICAL_GET, args.repeat)
    json_us = median_us(engine, json_post, args.repeat)
    print(f"typical GET             median {get_us:8.1f} µs   (budget {GET_BUDGET_US:.0f} µs)")
    print(
        f"1 KB JSON POST ({len(json_post.body)} B) median {json_us:8.1f} µs"
        f"   (budget {JSON_BUDGET_US:.0f} µs)"
    )
    print(f"\nadversarial inputs: worst single inspection (bar {WORST_CASE_MS:.0f} ms)")
    overall = 0.0
    for name, build in ADVERSARIAL.items():
        request = build()
        elapsed = worst_ms(engine, request)
        overall = max(overall, elapsed)
        flag = "" if elapsed <= WORST_CASE_MS else "   OVER"
        print(f"  {name:24s} {_size(request):>8d} B {elapsed:8.2f} ms{flag}")
    print(f"\nworst of all: {overall:.2f} ms")


if __name__ == "__main__":
    main()
