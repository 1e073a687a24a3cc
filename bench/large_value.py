"""Benchmark: the memory a write needs for one very large value (issue 22 item 9: one 50 MB value peaked at ~12x).

    .venv/bin/python bench/large_value.py              # one 50 MB text value
    .venv/bin/python bench/large_value.py --mb 200     # a larger one

Each case runs in its own subprocess on a fresh lake, builds a one-row frame ``{id, payload}`` whose payload is
``--mb`` MB of incompressible hex text, and reports how far the write's peak RSS rose above the RSS of the process
holding the frame, divided by the value's size (the frame itself is not counted; building it from a Python string
costs ~2x of its own):

* ``parquet``: the floor, ``pyarrow.parquet.write_table`` of the same frame with zstd and neither dictionary nor
  statistics (pyarrow's defaults need ~10x: its min/max statistics of a huge value cost ~6x, and are then dropped);
* ``append``: ``Warehouse.write(mode="append")`` into a new table;
* ``merge_rerun``: the same frame merged a second time on ``id`` (the first merge ran in a process of its own),
  which must rewrite nothing (checked: the table's data files are the same before and after).

Prints ``large_value_<case>_peak_vs_value: <ratio>`` and ``large_value_<case>_peak_rss_mib: <MiB>`` per case, and
``large_value_append_vs_parquet: <ratio>`` (the append's rise over the floor's). Every case reads the value's length
back with DuckDB before reporting. What bounds a write's peak over its frame: the Arrow copy for the hand-off
(Polars keeps strings as views, Parquet needs them contiguous: 1x) and Parquet's encoding of the page holding
the value (the plain page and its compressed copy: ~2x); a merge also reads the staged rows and the matched file
back (~1x each, one group at a time). RSS also keeps what the allocator does not give back, so repeated writes in
one process read higher.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.warehouse import peak_rss_mib  # noqa: E402

CASES = ("parquet", "append", "merge_rerun")


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def reset_peak() -> None:
    """Start VmHWM again from the current RSS (Linux: writing 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def payload(mb: int) -> str:
    """``mb`` MB of incompressible hex text, the same in every process (so a rerun merges the same row)."""
    return random.Random(22).randbytes(mb * 500_000).hex()


def case(name: str, mb: int, work: Path) -> dict[str, float]:
    os.environ["OSO_HOME"] = str(work / "lake")
    os.environ["OSO_ENV_FILE"] = str(work / "no.env")
    import polars as pl
    import pyarrow.parquet as pq

    from oso_core.warehouse import Warehouse

    warehouse = Warehouse()
    warehouse.write("bench.warm", pl.DataFrame({"id": [0], "payload": ["x"]}))  # imports and first-use costs
    files: set[str] = set()
    if name == "merge_rerun":
        files = set(warehouse.catalog.load_table("bench.large").inspect.files().column("file_path").to_pylist())
    text = payload(mb)
    frame = pl.DataFrame({"id": [1], "payload": [text]})
    del text
    gc.collect()
    reset_peak()  # the peak from here on: what the write adds to the process holding the frame
    base = rss_mib()
    if name == "parquet":
        # The least a Parquet write needs (no dictionary, no statistics); pyarrow's defaults need far more.
        arrow = frame.to_arrow()
        pq.write_table(arrow, work / "floor.parquet", compression="zstd", use_dictionary=False, write_statistics=False)
    elif name == "append":
        warehouse.write("bench.large", frame, mode="append")
    else:
        warehouse.write("bench.large", frame, mode="merge", key=["id"])
    peak = peak_rss_mib()
    if name == "merge_first":
        return {}
    if name == "parquet":
        assert pq.read_table(work / "floor.parquet").num_rows == 1
    else:
        (length,) = warehouse.sql("SELECT length(payload) AS n FROM bench.large WHERE id = 1")["n"].to_list()
        assert length == mb * 1_000_000, length
    if name == "merge_rerun":
        after = set(warehouse.catalog.load_table("bench.large").inspect.files().column("file_path").to_pylist())
        assert after == files, "the rerun rewrote data files"
    return {"peak_rss_mib": peak, "rise_mib": peak - base, "value_mib": mb * 1_000_000 / 2**20}


def run_case(name: str, mb: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-large-{name}-") as work:
        steps = ["merge_first", name] if name == "merge_rerun" else [name]  # the first merge in its own process
        for step in steps:
            command = [sys.executable, __file__, "--case", step, "--mb", str(mb), "--work", work]
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False, timeout=600)
            if done.returncode != 0:
                raise SystemExit(f"{step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=50, help="size of the one value, in MB (default 50)")
    parser.add_argument("--case", choices=[*CASES, "merge_first"])
    parser.add_argument("--work")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(args.case, args.mb, Path(args.work))))
        return
    results = {name: run_case(name, args.mb) for name in CASES}
    print(f"# one {args.mb} MB value; ratio = the write's peak RSS over the RSS holding the frame, per value size")
    for name, result in results.items():
        print(f"large_value_{name}_peak_vs_value: {result['rise_mib'] / result['value_mib']:.2f}")
        print(f"large_value_{name}_peak_rss_mib: {result['peak_rss_mib']:.0f}")
    print(f"large_value_append_vs_parquet: {results['append']['rise_mib'] / results['parquet']['rise_mib']:.2f}")


if __name__ == "__main__":
    main()
