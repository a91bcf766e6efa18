"""SDK cold start: ``import loopwise`` (and ``init`` + one observed call) against bare Python.

Each case runs in a fresh interpreter (``python -c ...``), as a serverless instance or a CLI
pays it; the difference from ``python -c pass`` is what loopwise costs. Also lists which of
the heavy modules (pandas, pyarrow, duckdb, streamlit, sklearn, plotly) each case loaded.
Target: ``import loopwise`` under 150 ms over bare Python.

    python bench/sdk_import.py [--runs 15] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from ingest import machine, write_section

TARGET_MS = 150.0
HEAVY = ("pandas", "pyarrow", "duckdb", "streamlit", "sklearn", "plotly")
# Printed by the child when the case is done: the clock then and the heavy modules loaded.
# Exit-time work (the final flush, which waits on an absent collector) is not counted.
REPORT = (
    "import json as _j, sys as _s, time as _t; "
    f"print(_j.dumps([_t.time(), [m for m in {HEAVY!r} if m in _s.modules]]))"
)
CASES: dict[str, str] = {
    "bare python": "pass",
    "import loopwise": "import loopwise",
    "import + init + one @observe call": (
        "import loopwise\n"
        "loopwise.init('bench', endpoint='http://127.0.0.1:9', spool_dir=SPOOL)\n"
        "@loopwise.observe()\n"
        "def f(x): return x\n"
        "f(1)\n"
    ),
    "import loopwise.cli (for comparison)": "import loopwise.cli",
}


def _run(code: str, spool: str) -> tuple[float, list[str]]:
    """Milliseconds from spawning a fresh interpreter to the end of ``code``, and the heavy
    modules it loaded."""
    program = f"SPOOL = {spool!r}\n{code}\n{REPORT}\n"
    started = time.time()
    out = subprocess.run(
        [sys.executable, "-c", program],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    done, loaded = json.loads(out.strip().splitlines()[-1])
    return (float(done) - started) * 1000, list(loaded)


def main() -> None:
    """Measure every case, print the table, and write it into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per case")
    parser.add_argument(
        "--no-write", action="store_true", help="print only (e.g. measuring an older install)"
    )
    args = parser.parse_args()
    results: dict[str, tuple[float, float, list[str]]] = {}
    with tempfile.TemporaryDirectory() as spool:
        for code in CASES.values():  # warm the page cache and the bytecode caches once
            _run(code, spool)
        samples: dict[str, list[float]] = {name: [] for name in CASES}
        loaded: dict[str, list[str]] = {}
        for _ in range(args.runs):  # interleaved, so load changes hit every case alike
            for name, code in CASES.items():
                ms, heavy = _run(code, spool)
                samples[name].append(ms)
                loaded[name] = heavy
    for name, values in samples.items():
        results[name] = (statistics.median(values), min(values), loaded[name])

    bare = results["bare python"][0]
    table = Table(title=f"SDK cold start, median of {args.runs} fresh interpreters")
    bare_low = results["bare python"][1]
    columns = ("case", "median ms", "min ms", "median over bare", "min over bare", "heavy modules")
    for column in columns:
        table.add_column(column, justify="left" if column == "case" else "right")
    lines = [
        "| case | median ms | min ms | median over bare Python, ms | min over bare Python, ms "
        "| heavy modules loaded |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, (median, low, heavy) in results.items():
        first = name == "bare python"
        over = "" if first else f"{median - bare:.0f}"
        over_low = "" if first else f"{low - bare_low:.0f}"
        modules = ", ".join(heavy) or "none"
        table.add_row(name, f"{median:.0f}", f"{low:.0f}", over, over_low, modules)
        lines.append(f"| {name} | {median:.0f} | {low:.0f} | {over} | {over_low} | {modules} |")
    Console().print(table)

    over_import = results["import loopwise"][0] - bare
    verdict = "met" if over_import < TARGET_MS else "NOT met"
    load = os.getloadavg()[0]
    section = (
        "## sdk import (bench/sdk_import.py)\n\n"
        f"{dt.date.today().isoformat()} · {machine()} · load average {load:.1f}\n\n"
        f"Each case in a fresh interpreter, median of {args.runs} interleaved runs after one "
        f"warm-up. Target: `import loopwise` under {TARGET_MS:.0f} ms over bare Python "
        f"({verdict}: {over_import:.0f} ms).\n\n" + "\n".join(lines) + "\n"
    )
    if not args.no_write:
        write_section(Path(__file__).parent / "RESULTS.md", "## sdk import", section)
    print(f"import loopwise: {over_import:.0f} ms over bare Python ({verdict})")


if __name__ == "__main__":
    main()
