#!/usr/bin/env python3
"""API latency of a running `tenax serve`: p50/p95/p99 per dashboard query, as a client sees it.

    bench_api.py BASE_URL [REQUESTS]   (e.g. http://127.0.0.1:18080 400)

Prints one JSON object. One keep-alive connection, requests one after another (what a dashboard
user waits for). The first overview request is reported on its own ("cold"): it is the first
read of the store by a fresh server.
"""
import http.client
import json
import random
import sys
import time
import urllib.parse


def main() -> int:
    base = urllib.parse.urlparse(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=120)

    def get(path):
        t = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        ms = (time.perf_counter() - t) * 1000
        if r.status != 200:
            raise SystemExit(f"GET {path}: HTTP {r.status}: {body[:200]!r}")
        return ms, body

    cold_ms, body = get("/api/v1/stats")
    stats = json.loads(body)
    sources = sorted({row["source"] for row in stats["by_severity"]})

    # Unified ids to visit: the first pages of the listing, then a random sample.
    ids, cursor = [], None
    while len(ids) < 5000:
        q = "/api/v1/unified-assets?limit=1000" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        _, body = get(q)
        page = json.loads(body)
        ids += [u["unified_id"] for u in page["items"] if u["records"] > 1] or [u["unified_id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    rnd = random.Random(42)
    severities = ["critical", "high", "medium", "low", "info"]
    states = ["open", "reopened", "fixed"]

    def findings_query():
        q = {
            "severity": ",".join(rnd.sample(severities, rnd.randint(1, 2))),
            "state": rnd.choice(["open", "open,reopened", "fixed"]),
            "limit": "100",
        }
        if rnd.random() < 0.5:
            q["source"] = rnd.choice(sources)
        return "/api/v1/findings?" + urllib.parse.urlencode(q, safe=",")

    cases = {
        "overview (GET /api/v1/stats)": lambda: "/api/v1/stats",
        "filtered findings page (severity × state [× source], 100 rows)": findings_query,
        "unified asset (GET /api/v1/unified-assets/{id})": lambda: "/api/v1/unified-assets/" + rnd.choice(ids),
        "unified asset's findings (GET /api/v1/findings?unified_asset=…, 100 rows)": lambda: "/api/v1/findings?limit=100&unified_asset=" + rnd.choice(ids),
    }
    out = {"cold_overview_ms": round(cold_ms, 1), "requests_per_case": n, "cases": {}}
    for name, make in cases.items():
        lat = sorted(get(make())[0] for _ in range(n))
        pick = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
        out["cases"][name] = {
            "p50_ms": round(pick(0.50), 2),
            "p95_ms": round(pick(0.95), 2),
            "p99_ms": round(pick(0.99), 2),
            "max_ms": round(lat[-1], 2),
        }
    # A findings page deep in a keyset walk (page 50 of the open critical + high findings).
    q = "/api/v1/findings?severity=critical,high&state=open&limit=100"
    cursor, deep = None, []
    for _ in range(50):
        ms, body = get(q + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""))
        deep.append(ms)
        cursor = json.loads(body)["next_cursor"]
        if not cursor:
            break
    deep.sort()
    out["cases"]["keyset walk, 50 pages of open critical + high (100 rows each)"] = {
        "p50_ms": round(deep[len(deep) // 2], 2),
        "p95_ms": round(deep[min(len(deep) - 1, int(0.95 * len(deep)))], 2),
        "p99_ms": round(deep[-1], 2),
        "max_ms": round(deep[-1], 2),
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
