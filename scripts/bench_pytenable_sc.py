#!/usr/bin/env python3
"""pyTenable's side of the Security Center benchmark: iterate every vulndetails row.

Usage: bench_pytenable_sc.py URL ACCESS_KEY SECRET_KEY
Iterates `analysis.vulns(tool='vulndetails')` over the cumulative and the patched data (what
`tenax sync` fetches), 1,000 rows per page like tenax's default page size.
Prints one JSON line: {"findings": N, "seconds": S}.
"""
import json
import sys
import time

from tenable.sc import TenableSC

url, ak, sk = sys.argv[1], sys.argv[2], sys.argv[3]
sc = TenableSC(url=url, access_key=ak, secret_key=sk)
start = time.monotonic()
n = 0
for source in ("cumulative", "patched"):
    for _ in sc.analysis.vulns(tool="vulndetails", source=source, limit=1000):
        n += 1
print(json.dumps({"findings": n, "seconds": time.monotonic() - start}))
