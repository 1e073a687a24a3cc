"""End to end against dlt: the same paginated JSON API loaded by dlt's ``rest_api`` source and by our toolkit.

    .venv/bin/python bench/vs_dlt.py                    # 1,000,000 records (issue 15's figures; several minutes)
    .venv/bin/python bench/vs_dlt.py --records 50000    # quick run, same shape

A local HTTP server (a thread of this process) serves Open Collective-like transactions: ``GET
/transactions?offset=N&limit=1000`` answers ``{"totalCount": T, "nodes": [...]}``, each node with nested objects
(``amount {value, currency, valueInCents}``, ``netAmount``, ``fromAccount``/``toAccount {id, slug, name, type}``, a
nullable ``paymentMethod``), a list (``tags``) and ISO timestamps. The pages are rendered once, before any timing,
to files under ``bench/.runs/`` (reused by the next run of the same size), so the server costs both sides the same
little. ``/updates`` serves the incremental re-load: the last 10% of the records again, each changed (amount +1,
later ``updatedAt``), half of them existing and half new.

Each side runs in its own subprocess, in this order: ours, dlt (initial load: append), ours, dlt (re-load: merge
on ``id``):

* dlt: ``rest_api_source`` (offset paginator, ``total_path``, ``data_selector``) into
  ``dlt.destinations.filesystem`` with ``table_format="iceberg"`` (dlt's defaults otherwise: nested objects become
  ``amount__value``-style columns, ``tags`` a child table), run with the interpreter of a separate virtualenv
  ``bench/.runs/venv-dlt`` (made on first use: ``pip install "dlt[filesystem,pyiceberg]"``; dlt never enters the
  project's venv). Its re-load uses ``write_disposition="merge"`` (dlt 1.31 merges into Iceberg with pyiceberg's
  ``upsert`` in batches of 1,000 rows).
* ours: ``bench/vs_dlt_source.yaml`` built by ``oso_core.kinds.rest_source.build`` as any ``flows/*/source.yaml`` (its
  flow called through ``flow.fn`` so no Prefect server is involved, as dlt runs without one): offset pages a few in
  flight, each page's bytes decoded natively (``FrameDecoder``) into the declared fields, a page it cannot vouch
  for going through ``records_to_frame``'s value-by-value checks and errors → the declared ``columns`` (dlt's
  names) → ``Warehouse.write`` streamed in 100k-record chunks, one commit (merge on ``id`` for the re-load).

Both sides load the same description: dlt's ``rest_api`` config is made from its client, paginator, path,
``data_selector``, ``primary_key`` and ``write_disposition`` (``dlt_config``); the re-load is its ``variant`` for
``/updates`` (``write_disposition: merge``).

Time is the wall time of the load call inside each subprocess (after imports; ``process_*`` lines give the whole
subprocess, start-up included). Peak RSS is the larger of the subprocess's own ``VmHWM`` and the RSS of its process
tree polled every 50 ms. Both end states are read back with DuckDB (``iceberg_scan`` of each table's current
metadata) and compared with each other and with what the server sent: row count, distinct ids, a checksum over the
columns both have, the tag count and a checksum of the (id, tag) pairs (dlt's child table joined to its parent).
The machine's load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "bench") not in sys.path:  # the sibling module, also when this file is imported by its path
    sys.path.insert(0, str(ROOT / "bench"))
from subprocess_measure import load_average, own_peak_rss_mib, run_case  # noqa: E402

RUNS = ROOT / "bench" / ".runs"
DLT_VENV = RUNS / "venv-dlt"
DLT_REQUIREMENT = "dlt[filesystem,pyiceberg]==1.31.0"
PAGE = 1000
CHUNK = 100_000
START = datetime(2024, 1, 1, tzinfo=UTC)
CURRENCIES = ("USD", "EUR", "GBP", "CAD")
KINDS = ("CONTRIBUTION", "EXPENSE", "ADDED_FUNDS", "HOST_FEE", "PAYMENT_PROCESSOR_FEE")
TAGS = ("open source", "python", "rust", "javascript", "climate", "education", "ai", "web3", "community", "design")
PAGES_VERSION = 1  # bump when the records' shape changes, so cached pages are re-rendered

# -- the data the server sends ----------------------------------------------------------------------------------------


def record(i: int, version: int = 0) -> dict[str, Any]:
    """Transaction ``i`` (``version`` 1 = the changed copy the re-load sends): deterministic, Open Collective-like."""
    h = (i * 2654435761 + 12345) & 0xFFFFFFFF
    cents = h % 5_000_000 + 100 * version
    currency = CURRENCIES[h % 4]
    sender, receiver = h % 50_000, (h >> 7) % 5_000
    created = START + timedelta(seconds=30 * i)
    updated = created + timedelta(days=1 + 30 * version)
    return {
        "id": f"{h:08x}-{i:09d}",
        "legacyId": i,
        "group": f"{(h * 7) & 0xFFFFFFFF:08x}-{i % 977:04d}",
        "type": "CREDIT" if h & 1 else "DEBIT",
        "kind": KINDS[h % 5],
        "description": f"Contribution #{i} to collective-{receiver}",
        "amount": {"value": cents / 100, "currency": currency, "valueInCents": cents},
        "netAmount": {"value": (cents - cents // 20) / 100, "currency": currency, "valueInCents": cents - cents // 20},
        "fromAccount": {
            "id": f"acc-{sender}",
            "slug": f"user-{sender}",
            "name": f"User {sender}",
            "type": "INDIVIDUAL",
        },
        "toAccount": {
            "id": f"col-{receiver}",
            "slug": f"collective-{receiver}",
            "name": f"Collective {receiver}",
            "type": "COLLECTIVE",
        },
        "paymentMethod": None if h % 3 == 0 else {"service": "STRIPE", "type": "CREDITCARD"},
        "createdAt": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "updatedAt": updated.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "isRefunded": bool(h & 8),
        "tags": [TAGS[(h >> (3 * k)) % len(TAGS)] for k in range(h % 4)],
    }


def update_range(records: int) -> tuple[int, int]:
    """The re-load's records: the last 5% again (changed) and 5% new ones."""
    tenth = max(records // 10, 2)
    return records - tenth // 2, records - tenth // 2 + tenth


def render_pages(records: int) -> Path:
    """Every page of both endpoints as a file (once per size); the server then only reads bytes."""
    import orjson

    folder = RUNS / f"vs_dlt_pages_v{PAGES_VERSION}_{records}"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    lo, hi = update_range(records)
    for name, first, total, version in (("transactions", 0, records, 0), ("updates", lo, hi - lo, 1)):
        for offset in range(0, total, PAGE):
            nodes = [record(first + j, version) for j in range(offset, min(offset + PAGE, total))]
            (folder / f"{name}-{offset}.json").write_bytes(orjson.dumps({"totalCount": total, "nodes": nodes}))
    (folder / "done").write_text("")
    return folder


def serve(folder: Path, records: int) -> ThreadingHTTPServer:
    lo, hi = update_range(records)
    totals = {"transactions": records, "updates": hi - lo}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlparse(self.path)
            name = url.path.strip("/")
            query = parse_qs(url.query)
            offset, limit = int(query.get("offset", ["0"])[0]), int(query.get("limit", [str(PAGE)])[0])
            if name not in totals or limit != PAGE or offset % PAGE:
                self.send_error(404, "unknown page")
                return
            page = folder / f"{name}-{offset}.json"
            empty = {"totalCount": totals[name], "nodes": []}
            body = page.read_bytes() if page.exists() else json.dumps(empty).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# -- the source, described once for both sides (bench/vs_dlt_source.yaml) --------------------------------------------

DESCRIPTION = ROOT / "bench" / "vs_dlt_source.yaml"


def variant(path: str) -> dict[str, Any]:
    """The description as loaded for ``path``: ``/transactions`` appends (as written), ``/updates`` merges on id."""
    import yaml

    raw = yaml.safe_load(DESCRIPTION.read_text())
    resource = raw["resources"][0]
    resource["endpoint"]["path"] = path
    if path != "/transactions":
        resource["write_disposition"] = "merge"
    return raw


def dlt_config(raw: dict[str, Any], base_url: str) -> dict[str, Any]:
    """dlt's ``rest_api`` config from the same description: client, paginator, path, selector, key, disposition."""
    resource = raw["resources"][0]
    endpoint = resource["endpoint"]
    paginator = dict(endpoint["paginator"])
    return {
        "client": {"base_url": base_url, "paginator": paginator},
        "resources": [
            {
                "name": resource["name"],
                "primary_key": resource["primary_key"],
                "write_disposition": resource["write_disposition"],
                "table_format": "iceberg",
                "endpoint": {"path": endpoint["path"].lstrip("/"), "data_selector": endpoint["data_selector"]},
            }
        ],
    }


# -- our side ---------------------------------------------------------------------------------------------------------


def side_ours(base_url: str, path: str, work: Path) -> dict:
    os.environ["OSO_HOME"] = str(work / "ours")
    import yaml

    from oso_core.kinds.rest_source import build

    file = work / f"vs_dlt_source{path.replace('/', '_')}.yaml"  # the variant, read by build as any source.yaml
    file.write_text(yaml.safe_dump(variant(path), sort_keys=False))
    built = build(file)
    started = time.perf_counter()
    summary = built.flow.fn(base_url=base_url)
    seconds = time.perf_counter() - started
    from oso_core.warehouse import Warehouse

    table = built.source.qualified(built.description.resources[0].name)
    location = Warehouse().catalog.load_table(table).metadata_location
    return {"seconds": seconds, "rows": summary.results[-1].rows_written, "metadata": location}


# -- dlt's side (runs with bench/.runs/venv-dlt's interpreter) --------------------------------------------------------


def side_dlt(base_url: str, path: str, work: Path) -> dict:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    os.chdir(work)  # dlt reads ./.dlt config; none there
    import dlt
    from dlt.sources.rest_api import rest_api_source

    started = time.perf_counter()
    source = rest_api_source(dlt_config(variant(path), base_url))
    # dlt's documented switch for a resource that appends first and merges later: nested tables (``tags``) carry
    # ``_dlt_root_id`` from the first load (without it the merge fails adding that required column to the Iceberg table)
    source.root_key = True
    pipeline = dlt.pipeline(
        pipeline_name="bench_vs_dlt",
        destination=dlt.destinations.filesystem(bucket_url=(work / "dlt_lake").as_uri()),
        dataset_name="bench",
        pipelines_dir=str(work / "dlt_pipelines"),
    )
    info = pipeline.run(source)
    seconds = time.perf_counter() - started
    info.raise_on_failed_jobs()
    return {"seconds": seconds, "rows": pipeline.last_trace.last_normalize_info.row_counts.get("transactions")}


# -- measuring --------------------------------------------------------------------------------------------------------


def run_side(side: str, interpreter: str, base_url: str, path: str, work: Path, timeout: float) -> dict:
    """One load in a fresh subprocess (``subprocess_measure.run_case``)."""
    command = [interpreter, __file__, "--side", side, "--base-url", base_url, "--path", path, "--work", str(work)]
    return run_case(f"{side} {path}", command, ROOT, {**os.environ, "PYTHONPATH": str(ROOT)}, timeout)


def ensure_dlt_venv() -> str:
    """bench/.runs/venv-dlt's interpreter, created with dlt on first use (never the project's venv)."""
    python = DLT_VENV / "bin" / "python"
    probe = [str(python), "-c", "import dlt, pyiceberg, psutil"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return str(python)
    print(f"# creating {DLT_VENV} with {DLT_REQUIREMENT} (once)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(DLT_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", DLT_REQUIREMENT, "psutil"], check=True)
    return str(python)


# -- reading both lakes back ------------------------------------------------------------------------------------------


def expected_state(records: int, reloaded: bool) -> dict:
    """What the lake must hold: counts and sums computed from the generator, not from either loader."""
    lo, hi = update_range(records)
    total, cents, tags = 0, 0, 0
    for i in range(hi if reloaded else records):
        rec = record(i, 1 if reloaded and i >= lo else 0)
        total += 1
        cents += rec["amount"]["valueInCents"]
        tags += len(rec["tags"])
    return {"rows": total, "ids": total, "cents": cents, "tags": tags}


def dlt_metadata(work: Path, table: str) -> str:
    found = sorted(
        (work / "dlt_lake" / "bench" / table / "metadata").glob("*.metadata.json"),
        key=lambda p: int(p.name.split("-")[0]) if p.name.split("-")[0].isdigit() else p.stat().st_mtime_ns,
    )
    if not found:
        raise SystemExit(f"no Iceberg metadata under {work / 'dlt_lake' / 'bench' / table}")
    return str(found[-1])


CHECKSUM = """
SELECT count(*) AS rows, count(DISTINCT id) AS ids, sum(amount__value_in_cents) AS cents,
       sum(hash(id, legacy_id, amount__value_in_cents, amount__currency, net_amount__value_in_cents,
                from_account__slug, to_account__name, payment_method__service, kind, is_refunded,
                epoch_us(CAST(created_at AS TIMESTAMPTZ)), epoch_us(CAST(updated_at AS TIMESTAMPTZ)))) AS checksum
FROM {table}
"""


def read_back(work: Path, ours_metadata: str) -> tuple[dict, dict]:
    os.environ["OSO_HOME"] = str(work / "ours")
    from oso_core.warehouse.reader import duckdb_connection

    con = duckdb_connection()
    con.execute(f"CREATE OR REPLACE VIEW ours AS SELECT * FROM iceberg_scan('{ours_metadata.removeprefix('file://')}')")
    con.execute(f"CREATE OR REPLACE VIEW dlt AS SELECT * FROM iceberg_scan('{dlt_metadata(work, 'transactions')}')")
    con.execute(
        f"CREATE OR REPLACE VIEW dlt_tags AS SELECT * FROM iceberg_scan('{dlt_metadata(work, 'transactions__tags')}')"
    )
    states = []
    for table, tags_sql in (
        ("ours", "SELECT count(*), sum(hash(id, tag)) FROM (SELECT id, unnest(tags) AS tag FROM ours)"),
        ("dlt", "SELECT count(*), sum(hash(p.id, c.value)) FROM dlt_tags c JOIN dlt p ON c._dlt_parent_id = p._dlt_id"),
    ):
        row = con.execute(CHECKSUM.format(table=table)).fetchone()
        tags = con.execute(tags_sql).fetchone()
        states.append(
            {"rows": row[0], "ids": row[1], "cents": int(row[2]), "checksum": int(row[3]), "tags": tags[0],
             "tag_checksum": int(tags[1] or 0)}
        )  # fmt: skip
    return states[0], states[1]


def compare(label: str, ours: dict, dlt: dict, expected: dict) -> None:
    for what, value in expected.items():
        if ours[what] != value or dlt[what] != value:
            raise SystemExit(f"check failed ({label}): {what}: expected {value}, ours {ours[what]}, dlt {dlt[what]}")
    for what in ("checksum", "tag_checksum"):
        if ours[what] != dlt[what]:
            raise SystemExit(f"check failed ({label}): {what} differs: ours {ours[what]}, dlt {dlt[what]}")
    print(f"# {label}: both lakes hold {ours['rows']:,} rows, {ours['tags']:,} tags; checksums equal", flush=True)


# -- main -------------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="records the API holds (default 1M)")
    parser.add_argument("--dlt-timeout", type=float, default=1800, help="stop a dlt load after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (both lakes) under bench/.runs")
    parser.add_argument("--side", choices=("ours", "dlt"))
    parser.add_argument("--base-url")
    parser.add_argument("--path")
    parser.add_argument("--work")
    args = parser.parse_args()
    if args.side:
        sys.path.insert(0, str(ROOT))
        result = (side_ours if args.side == "ours" else side_dlt)(args.base_url, args.path, Path(args.work))
        result["own_rss_mib"] = own_peak_rss_mib()
        print(json.dumps(result))
        return

    import shutil
    import tempfile

    records = args.records
    print(f"# cores: {os.cpu_count()}, records: {records:,}, page {PAGE}, our chunk {CHUNK:,}")
    dlt_python = ensure_dlt_venv()
    version = subprocess.run(
        [dlt_python, "-c", "import dlt, pyiceberg; print(dlt.__version__, pyiceberg.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    print(f"# dlt {version[0]} (pyiceberg {version[1]}) in {DLT_VENV.relative_to(ROOT)}", flush=True)
    started = time.perf_counter()
    folder = render_pages(records)
    print(f"# pages ready in {folder.relative_to(ROOT)} ({time.perf_counter() - started:.1f} s)", flush=True)
    server = serve(folder, records)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    RUNS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vs_dlt-", dir=RUNS))
    print(f"# load average before: {load_average()}", flush=True)
    try:
        r: dict[str, dict] = {}
        r["ours"] = run_side("ours", sys.executable, base_url, "/transactions", work, timeout=args.dlt_timeout)
        r["dlt"] = run_side("dlt", dlt_python, base_url, "/transactions", work, timeout=args.dlt_timeout)
        compare("initial load", *read_back(work, r["ours"]["metadata"]), expected_state(records, reloaded=False))
        r["ours_merge"] = run_side("ours", sys.executable, base_url, "/updates", work, timeout=args.dlt_timeout)
        r["dlt_merge"] = run_side("dlt", dlt_python, base_url, "/updates", work, timeout=args.dlt_timeout)
        if not r["dlt_merge"].get("timed_out"):
            states = read_back(work, r["ours_merge"]["metadata"])
            compare("after merge", *states, expected_state(records, reloaded=True))
        print(f"load_average_after: {load_average()}")
        print(f"cores: {os.cpu_count()}")
        print("dlt_table_format: iceberg")
        for prefix, ours, dlt in (("", "ours", "dlt"), ("merge_", "ours_merge", "dlt_merge")):
            bound = "<=" if r[dlt].get("timed_out") else ""
            print(f"{prefix}load_vs_dlt: {bound}{r[ours]['seconds'] / r[dlt]['seconds']:.3f}")
            print(f"{prefix}rss_vs_dlt: {r[ours]['rss_mib'] / r[dlt]['rss_mib']:.2f}")
            print(f"{prefix}process_vs_dlt: {bound}{r[ours]['process_seconds'] / r[dlt]['process_seconds']:.3f}")
        for name, result in r.items():
            print(f"{name}_seconds: {result['seconds']:.2f}")
            print(f"{name}_process_seconds: {result['process_seconds']:.2f}")
            print(f"{name}_peak_rss_mib: {result['rss_mib']:.0f}")
    finally:
        server.shutdown()
        if args.keep:
            print(f"# kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
