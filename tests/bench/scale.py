"""`make bench-scale`: every page at 10k, 100k and 1M calls (seeded or reused, tests/bench/seed.py), the
growth table (p50, x floor, queries) and the background drain rate (tests/bench/drain.py).

Each size runs tests/bench/pages.py in a process of its own (its own database). Growth from 100k to 1M is
read as the ratio of the two p50s, each divided by the floor measured beside it, so machine load shared by
other work does not flip it; the usage page must stay within 1.5x.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "artifacts" / "bench"
SIZES = [int(n) for n in os.environ.get("BENCH_SCALE_SIZES", "10000,100000,1000000").split(",")]
GROWTH_LIMIT = 1.5


def label(calls: int) -> str:
    return f"{calls // 1_000_000}m" if calls % 1_000_000 == 0 else f"{calls // 1000}k"


def main() -> None:
    env = {
        **os.environ,
        "BENCH_ROUNDS": os.environ.get("BENCH_ROUNDS", "10"),
        "BENCH_PAGE_SECONDS": os.environ.get("BENCH_PAGE_SECONDS", "4"),
    }
    runs = {}
    for calls in SIZES:
        print(f"== {calls} calls", flush=True)
        subprocess.run(
            [sys.executable, "tests/bench/pages.py"], cwd=ROOT, env={**env, "BENCH_CALLS": str(calls)}, check=True
        )
        runs[calls] = json.loads((OUT / f"pages-{label(calls)}.json").read_text())["results"]
    subprocess.run(
        [sys.executable, "tests/bench/drain.py"], cwd=ROOT, env={**env, "BENCH_CALLS": str(SIZES[0])}, check=True
    )
    head = "".join(f"{label(c) + ' p50 ms (x floor) q':>28}" for c in SIZES)
    print(f"\n{'page':<26}{head}{'growth':>9}")
    for page in runs[SIZES[0]]:
        cells, normalised = "", []
        for calls in SIZES:
            r = runs[calls].get(page, {})
            if not r.get("built"):
                cells += f"{'-':>28}"
                continue
            cells += f"{r['p50_ms']:>14} ({r['x_floor']:>6}) {r['queries']:>4}"
            normalised.append(r["x_floor"])
        growth = round(normalised[-1] / normalised[-2], 2) if len(normalised) >= 2 and normalised[-2] else ""
        mark = ""
        if page.startswith("usage") and growth != "":
            mark = "PASS" if growth <= GROWTH_LIMIT else "MISS"
        print(f"{page:<26}{cells}{growth:>9}  {mark}")
    (OUT / "scale.json").write_text(json.dumps({str(c): r for c, r in runs.items()}, indent=2))
    print(f"wrote {OUT / 'scale.json'}")


if __name__ == "__main__":
    main()
