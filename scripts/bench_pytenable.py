#!/usr/bin/env python3
"""pyTenable's side of the benchmark: iterate a full vulnerability export from the simulator.

Usage: bench_pytenable.py URL ACCESS_KEY SECRET_KEY SINCE
Prints one JSON line: {"findings": N, "seconds": S}.
"""
import json
import sys
import time

from tenable.io import TenableIO

url, ak, sk, since = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tio = TenableIO(ak, sk, url=url, retries=5)
start = time.monotonic()
n = 0
for _ in tio.exports.vulns(since=since, state=["OPEN", "REOPENED", "FIXED"], num_assets=500):
    n += 1
print(json.dumps({"findings": n, "seconds": time.monotonic() - start}))
