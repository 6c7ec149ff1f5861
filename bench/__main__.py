"""`make bench` / `python -m bench`: run every benchmark module that exists, one after another.

Each runs in its own interpreter (``python -m bench.<name>``) so one benchmark's memory, pools
and event loop cannot colour the next one's figures. Missing modules are skipped with a note.
Each runs with its defaults (the targets' sizes); run one module directly for other sizes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCHES = ("ingest", "fanout", "search", "summaries", "scale", "memory")
HERE = Path(__file__).resolve().parent


def main() -> int:
    failed: list[str] = []
    for name in BENCHES:
        if not (HERE / f"{name}.py").is_file():
            print(f"== bench.{name}: not present, skipped", flush=True)
            continue
        print(f"== bench.{name}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=HERE.parent)
        took = time.perf_counter() - started
        print(f"== bench.{name}: exit {code} after {took:.1f}s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
