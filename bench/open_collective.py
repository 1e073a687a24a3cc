"""open_collective at scale: the real source's load path on a replay of 1M GraphQL transactions, measured in one run.

    .venv/bin/python bench/open_collective.py                       # 1,000,000 records over 52 weekly windows
    .venv/bin/python bench/open_collective.py --records 20000 --weeks 4   # quick run, same shape
    .venv/bin/python bench/open_collective.py --records 200000 --profile  # also cProfile our side (top 30)

The replay copies ``flows/open_collective/fixtures``: every node is built from the fixture's own DEBIT and CREDIT
transaction nodes (the same fields in the same order, nested ``amount``/``account``/``expense {payee}``/``order``/
``host`` objects shaped as there, ``taxInfo`` as the query selects it), varied per record (ids, amounts, currencies,
accounts out of a pool, kinds, timestamps inside the window, refunds, payment and payout methods). It is served as
the real API pages: a ``transactions { totalCount }`` query per window and kind, then ``limit``/``offset`` pages of
1,000 (``TRANSACTIONS_PAGE``) answering ``{"data": {"transactions": {"totalCount": T, "nodes": [...]}}}``, compact
JSON. The records are spread over ``--weeks`` weekly windows from 2023-01-01, 40% expenses (DEBIT) and 60% deposits
(CREDIT), unevenly (a window's count is not a multiple of the page). The pages are rendered once, before any
timing, as a fixture directory (``routes.json`` in the fixture's format, page and count files) under
``bench/.runs/`` and reused by the next run of the same size; they are served by ``oso_dev.replay.ReplayServer``
(the ``--replay`` server) with its routes looked up by key instead of scanned, so 1,100 routes cost nothing.

Each side runs in its own subprocess against that server (in the parent):

* ours: ``open_collective_flow.fn`` (as ``python -m flows open_collective`` runs it, without a Prefect server, as
  ``bench/vs_dlt.py`` does) with ``base_url`` on the server, ``start``/``end`` the replayed weeks, tables
  ``expenses`` and ``deposits``, the token a stand-in through the secrets' own variable
  (``oso_dev.replay_secrets``, ``DAGSTER__OPEN_COLLECTIVE__PERSONAL_TOKEN``) and no retry waits
  (``DAGSTER__OPEN_COLLECTIVE__RATE_LIMIT_WAIT=0``, ``RETRY_BACKOFF=0``), as the tests set them. Per window: the
  count, the pages, ``NodeSchema`` validation into a typed frame (nested objects as JSON text), one merge on ``id``
  into the month-partitioned Iceberg table, the window's load state recorded.
* baseline ``json_parse``: the shortest script that fetches the same responses: ``httpx`` POSTs of the same count
  and page queries in the same order, ``json.loads`` of each page, ``polars.from_dicts`` (nested objects as
  structs), one plain Parquet file per window. No validation, no types beyond inference, no merge, no catalog, no
  load state: it is the floor for "fetch and parse these pages in Python", so ``open_collective_vs_json_parse``
  says what the product's validation, typing and lake commits cost on top of that.

Time is the wall time of the load call inside each subprocess (after imports); ``*_process_seconds`` is the whole
subprocess. Peak RSS is the larger of the subprocess's ``VmHWM`` and its process tree's RSS polled every 50 ms.
Both results are read back with DuckDB (``iceberg_scan`` of each table's current metadata; ``read_parquet`` of the
baseline's files) and checked against what the generator served: rows, distinct ids, the sum of ``legacyId``, of
``amount.valueInCents`` (read out of the JSON text) and of ``createdAt`` in microseconds. Load average is printed
before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the project's packages (flows, oso_core, oso_dev) importable
    sys.path.insert(0, str(ROOT))
if str(ROOT / "bench") not in sys.path:  # the sibling module, also when this file is imported by its path
    sys.path.insert(0, str(ROOT / "bench"))
from subprocess_measure import load_average, own_peak_rss_mib, run_case  # noqa: E402

RUNS = ROOT / "bench" / ".runs"
FIXTURES = ROOT / "flows" / "open_collective" / "fixtures"
PATH = "/graphql/v2"
PAGE = 1000  # flows.open_collective.payload.TRANSACTIONS_PAGE, the flow's default (checked in main)
FIRST_WEEK = datetime(2023, 1, 1, tzinfo=UTC)  # a Sunday: the weekly grid's windows start on Sundays
WEEK = timedelta(days=7)
KINDS = (("expenses", "DEBIT", 0.4), ("deposits", "CREDIT", 0.6))
PAGES_VERSION = 1  # bump when the generated records change, so cached replays are re-rendered
TOKEN_NOTE = "stand-in token from oso_dev.replay_secrets"

# -- the replay: nodes copied from the fixture, varied per record ------------------------------------------------------


def fixture_templates() -> dict[str, dict[str, Any]]:
    """The fixture's first DEBIT and CREDIT transaction nodes, the shape every generated node copies."""
    out = {}
    for kind, file in (("DEBIT", "debit_2024-01-07_offset0.json"), ("CREDIT", "credit_2024-01-07_offset0.json")):
        out[kind] = json.loads((FIXTURES / file).read_text())["data"]["transactions"]["nodes"][0]
    return out


TAX_INFO_FIELDS = ("id", "type", "rate", "idNumber")  # the query's ``taxInfo { id type rate idNumber }``
CURRENCIES = (("USD", 1), ("USD", 1), ("USD", 1), ("EUR", 1.0834), ("GBP", 1.2691), ("CAD", 0.7432))
DEBIT_KINDS = ("EXPENSE", "EXPENSE", "EXPENSE", "EXPENSE", "HOST_FEE", "PAYMENT_PROCESSOR_FEE")
CREDIT_KINDS = ("CONTRIBUTION", "CONTRIBUTION", "CONTRIBUTION", "CONTRIBUTION", "ADDED_FUNDS", "PLATFORM_TIP")
EXPENSES = ("Maintenance", "Conference travel", "Hosting", "Design work", "Security audit", "Documentation", "CI")
PAYMENT_TYPES = (("CREDITCARD", "4242"), ("CREDITCARD", "1881"), ("PAYPAL", None), ("COLLECTIVE", None))
PAYOUT_TYPES = ("BANK_ACCOUNT", "BANK_ACCOUNT", "PAYPAL", "OTHER")
COLLECTIVES, INDIVIDUALS = 2_000, 20_000


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Generator:
    """Deterministic Open Collective transactions shaped as the fixture's nodes (``node(kind, seq, created)``)."""

    def __init__(self) -> None:
        self.templates = fixture_templates()
        debit = self.templates["DEBIT"]
        self.account_template = debit["account"]
        self.hosts = [
            {**debit["host"], "id": f"{slug}-host", "slug": slug, "name": name, "legalName": name}
            for slug, name in (("opensource", "Open Source Collective"), ("europe", "Open Collective Europe"),
                               ("allforclimate", "All for Climate"))
        ]  # fmt: skip
        self._accounts: dict[tuple[str, int], dict[str, Any]] = {}

    def account(self, kind: str, n: int) -> dict[str, Any]:
        """Account ``n`` of a pool (one object per account, shared by its transactions, as the API repeats it)."""
        found = self._accounts.get((kind, n))
        if found is None:
            slug = f"collective-{n}" if kind == "COLLECTIVE" else f"user-{n}"
            h = (n * 40503 + 977) & 0xFFFF
            found = {
                **self.account_template,
                "id": f"{h:04x}{n:04x}-{slug}",
                "slug": slug,
                "type": kind,
                "name": slug.replace("-", " ").title(),
                "legalName": None if n % 7 else f"{slug.title()} Ltd",
                "description": f"{slug} on Open Collective",
                "imageUrl": f"https://images.opencollective.com/{slug}/logo.png",
                "isHost": False,
                "createdAt": _iso(datetime(2016, 1, 1, tzinfo=UTC) + timedelta(hours=37 * n)),
                "updatedAt": _iso(datetime(2022, 6, 1, tzinfo=UTC) + timedelta(minutes=13 * n)),
            }
            self._accounts[(kind, n)] = found
        return found

    def node(self, kind: str, seq: int, created: datetime) -> dict[str, Any]:
        """Transaction ``seq`` (unique across kinds and windows) of type ``kind``, created at ``created``."""
        h = (seq * 2654435761 + 12345) & 0xFFFFFFFF
        currency, fx = CURRENCIES[h % len(CURRENCIES)]
        cents = h % 500_000 + 100
        debit = kind == "DEBIT"
        sign = -1 if debit else 1
        collective = self.account("COLLECTIVE", (h >> 3) % COLLECTIVES)
        person = self.account("INDIVIDUAL", (h >> 5) % INDIVIDUALS)
        host = self.hosts[(h >> 11) % len(self.hosts)]
        fee = cents // 10 if not debit and h % 3 else 0
        processor = (cents * 29) // 1000 + 30 if not debit and h % 4 else 0
        net = cents - fee - processor

        def money(value: int, in_host: bool = False) -> dict[str, Any]:
            rate = fx if in_host else 1
            shown = round(value * rate) if in_host else value
            code = host["currency"] if in_host else currency
            return {"value": shown / 100 if shown else 0, "currency": code, "valueInCents": shown}

        transaction_kind = (DEBIT_KINDS if debit else CREDIT_KINDS)[(h >> 13) % 6]
        description = (
            f"{EXPENSES[(h >> 17) % len(EXPENSES)]} #{seq}" if debit else
            ("Monthly financial contribution" if h & 16 else "Financial contribution")
        )  # fmt: skip
        updated = created + timedelta(hours=(h >> 19) % 72) if h & 32 else created
        refunded = (h >> 7) % 40 == 0
        expense = None
        if debit and transaction_kind == "EXPENSE":
            expense = {
                "id": f"exp-{seq}",
                "legacyId": seq,
                "description": description,
                "reference": f"INV-{h % 100000:05d}" if h & 64 else None,
                "createdAt": _iso(created - timedelta(days=1 + h % 20)),
                "currency": currency,
                "type": "INVOICE" if h & 128 else "RECEIPT",
                "status": "PAID",
                "payee": person,
            }
        order = None
        if not debit and transaction_kind == "CONTRIBUTION":
            order = {
                "id": f"ord-{seq}",
                "legacyId": seq,
                "description": description,
                "amount": money(cents),
                "totalAmount": money(cents + (h % 500 if h & 256 else 0)),
                "quantity": 1,
                "status": "ACTIVE" if h & 16 else "PAID",
            }
        tax_info = None
        if h % 25 == 0:
            tax_info = dict(zip(TAX_INFO_FIELDS, (f"tax-{seq}", "VAT", 0.21, f"EU{h % 10**9:09d}"), strict=True))
        payment_type, payment_name = PAYMENT_TYPES[(h >> 21) % len(PAYMENT_TYPES)]
        return {
            "id": f"{h:08x}-{(seq >> 16) & 0xFFFF:04x}-4{h & 0xFFF:03x}-a{(h >> 12) & 0xFFF:03x}-{seq:012x}",
            "legacyId": 10_000_000 + seq,
            "group": f"{(h * 7) & 0xFFFFFFFF:08x}-{(h >> 4) & 0xFFFF:04x}-4{seq & 0xFFF:03x}-b{h & 0xFFF:03x}-{h:012x}",
            "type": kind,
            "kind": transaction_kind,
            "description": description,
            "amount": money(sign * cents),
            "amountInHostCurrency": money(sign * cents, in_host=True),
            "hostCurrencyFxRate": fx,
            "netAmount": money(sign * net),
            "netAmountInHostCurrency": money(sign * net, in_host=True),
            "taxAmount": money(0),
            "taxInfo": tax_info,
            "platformFee": money(0),
            "hostFee": money(-fee),
            "paymentProcessorFee": money(-processor),
            "account": collective,
            "fromAccount": collective if debit else person,
            "toAccount": person if debit else collective,
            "expense": expense,
            "order": order,
            "createdAt": _iso(created),
            "updatedAt": _iso(updated),
            "isRefunded": refunded,
            "isRefund": (h >> 8) % 60 == 0,
            "isDisputed": False,
            "isInReview": (h >> 9) % 500 == 0,
            "paymentMethod": None if debit else {"id": f"pm-{seq}", "type": payment_type, "name": payment_name},
            "payoutMethod": {"id": f"po-{seq}", "type": PAYOUT_TYPES[(h >> 23) % 4], "name": None} if debit else None,
            "isOrderRejected": False,
            "merchantId": f"ch_{h:08x}{seq:08x}" if not debit and payment_type == "CREDITCARD" else None,
            "invoiceTemplate": "default" if (h >> 10) % 30 == 0 else None,
            "host": host,
        }


def plan(records: int, weeks: int) -> list[tuple[str, str, datetime, int]]:
    """``(table, type, window start, count)`` for every window and kind: uneven counts summing to ``records``."""
    weights = []
    for table, kind, share in KINDS:
        for week in range(weeks):
            wobble = 0.6 + ((week * 2654435761 + len(kind)) & 0xFFFF) / 0xFFFF * 0.8  # 0.6..1.4
            weights.append((table, kind, FIRST_WEEK + week * WEEK, share * wobble))
    total = sum(w for *_, w in weights)
    counts = [int(records * w / total) for *_, w in weights]
    for i in range(records - sum(counts)):  # the remainder, one each, so the sum is exact
        counts[i % len(counts)] += 1
    return [(table, kind, start, n) for (table, kind, start, _), n in zip(weights, counts, strict=True)]


def _page(total: int, nodes: list[dict[str, Any]] | None) -> dict[str, Any]:
    inner: dict[str, Any] = {"totalCount": total}
    if nodes is not None:
        inner["nodes"] = nodes
    return {"data": {"transactions": inner}}


def render(records: int, weeks: int, folder: Path | None = None) -> Path:
    """The replay as a fixture directory (``routes.json``, count and page files, ``expected.json``), once per size.

    Page routes come before count routes, so the plain first-match ``ReplayServer`` serves it too."""
    import orjson

    folder = folder or RUNS / f"open_collective_v{PAGES_VERSION}_{records}_{weeks}w"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    generator = Generator()
    pages, counts = [], []
    expected: dict[str, dict[str, int]] = {}
    seq = 0
    for table, kind, start, total in plan(records, weeks):
        date_from = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        stem = f"{kind.lower()}_{start.date().isoformat()}"
        (folder / f"{stem}_count.json").write_bytes(orjson.dumps(_page(total, None)))
        counts.append({"method": "POST", "path": PATH, "file": f"{stem}_count.json",
                       "body": {"variables.type": kind, "variables.dateFrom": date_from}})  # fmt: skip
        sums = expected.setdefault(table, {"rows": 0, "legacy_ids": 0, "cents": 0, "created_us": 0})
        step = WEEK.total_seconds() / max(total, 1)
        for offset in range(0, total, PAGE):
            nodes = []
            for j in range(offset, min(offset + PAGE, total)):
                created = start + timedelta(seconds=int(j * step))
                node = generator.node(kind, seq, created)
                seq += 1
                nodes.append(node)
                sums["rows"] += 1
                sums["legacy_ids"] += node["legacyId"]
                sums["cents"] += node["amount"]["valueInCents"]
                sums["created_us"] += int(created.timestamp()) * 1_000_000
            (folder / f"{stem}_offset{offset}.json").write_bytes(orjson.dumps(_page(total, nodes)))
            pages.append({"method": "POST", "path": PATH, "file": f"{stem}_offset{offset}.json", "body": {
                "variables.type": kind, "variables.dateFrom": date_from, "variables.offset": offset,
                "variables.limit": PAGE}})  # fmt: skip
    (folder / "routes.json").write_text(json.dumps(pages + counts, indent=1))
    (folder / "expected.json").write_text(json.dumps(expected))
    (folder / "done").write_text("")
    return folder


def indexed_server(folder: Path) -> Any:
    """``oso_dev.replay.ReplayServer`` on the rendered directory, its routes found by key (type, dateFrom, offset,
    limit) rather than scanned in order; a request no route answers gets the replay's 404, as with the fixture."""
    from oso_dev.replay import ReplayServer

    def key(body: Any) -> tuple[Any, ...] | None:
        variables = body.get("variables") if isinstance(body, dict) else None
        if not isinstance(variables, dict):
            return None
        return tuple(variables.get(k) for k in ("type", "dateFrom", "offset", "limit"))

    class IndexedReplayServer(ReplayServer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.index = {
                tuple(r.body.get(f"variables.{k}") for k in ("type", "dateFrom", "offset", "limit")): r
                for r in self.routes
            }

        def route_for(self, method: str, path: str, query: dict, body: Any, headers: dict | None = None) -> Any:
            with self._lock:
                self.requests.append(_Request(method, body, (headers or {}).get("Personal-Token")))
                route = self.index.get(key(body)) if method == "POST" and path == PATH else None
                if route is not None:
                    route.served += 1
                return route

    return IndexedReplayServer.from_directory(folder)


class _Request:
    """What the bench keeps of a request (not its query text: 1,100 of them)."""

    __slots__ = ("body", "method", "token")

    def __init__(self, method: str, body: Any, token: str | None) -> None:
        self.method, self.token = method, token
        self.body = {"variables": body.get("variables")} if isinstance(body, dict) else None


# -- our side: the real flow ------------------------------------------------------------------------------------------


def window_range(weeks: int) -> tuple[str, str]:
    return FIRST_WEEK.date().isoformat(), (FIRST_WEEK + weeks * WEEK).date().isoformat()


def side_ours(base_url: str, work: Path, weeks: int, profile: bool) -> dict:
    os.environ["OSO_HOME"] = str(work / "ours")
    for name, value in (("RATE_LIMIT_WAIT", "0"), ("RETRY_BACKOFF", "0"), ("RETRY_ATTEMPTS", "2")):
        os.environ[f"DAGSTER__OPEN_COLLECTIVE__{name}"] = value  # as tests.support.sources.no_retry_waits
    from flows.open_collective.source import SOURCE, open_collective_flow
    from oso_core.warehouse import Warehouse
    from oso_dev.replay_secrets import replay_secrets

    start, end = window_range(weeks)
    params = {"base_url": f"{base_url}{PATH}", "start": start, "end": end, "tables": ["expenses", "deposits"]}
    with replay_secrets(SOURCE.secrets):
        started = time.perf_counter()
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            summary = profiler.runcall(open_collective_flow.fn, **params)
            seconds = time.perf_counter() - started
            with (work / "profile.txt").open("w") as out:
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
            profiler.dump_stats(work / "profile.pstats")  # for pstats callers/callees
        else:
            summary = open_collective_flow.fn(**params)
            seconds = time.perf_counter() - started
    catalog = Warehouse().catalog
    tables = {t: catalog.load_table(SOURCE.qualified(t)) for t in ("expenses", "deposits")}
    return {
        "seconds": seconds,
        "rows": sum(r.rows_written for r in summary.results),
        "metadata": {t: table.metadata_location for t, table in tables.items()},
        "commits_ms": {t: [s.timestamp_ms for s in table.snapshots()] for t, table in tables.items()},
    }


def window_cost_growth(commits_ms: dict[str, list[int]], records: int, weeks: int) -> float | None:
    """Time per record of a table's last quarter of windows ÷ its first quarter's (window 1 on: window 0 has no
    commit before it), both tables pooled; a window's time is the gap between its commit and the one before
    (extract + merge + load state). ``None`` unless each window made exactly one commit."""
    counts: dict[str, list[int]] = {}
    for table, _, _, n in plan(records, weeks):
        counts.setdefault(table, []).append(n)
    quarter = max((weeks - 1) // 4, 1)
    first = [0.0, 0]
    last = [0.0, 0]
    for table, stamps in commits_ms.items():
        if len(stamps) != weeks or weeks < 5:
            return None
        gaps = [(b - a) / 1000 for a, b in zip(stamps, stamps[1:], strict=False)]  # window i+1's time
        sizes = counts[table][1:]
        for bucket, part in ((first, slice(0, quarter)), (last, slice(-quarter, None))):
            bucket[0] += sum(gaps[part])
            bucket[1] += sum(sizes[part])
        head, tail = (1e6 * sum(gaps[p]) / sum(sizes[p]) for p in (slice(0, quarter), slice(-quarter, None)))
        print(f"# {table}: {head:.0f} ms per 1k records in windows 2-{quarter + 1}, {tail:.0f} in the last {quarter}")
        print(f"# {table} window seconds: {' '.join(f'{g:.2f}' for g in gaps)}; records: {sizes}")
    return (last[0] / last[1]) / (first[0] / first[1])


# -- the baseline: httpx + json.loads + polars.from_dicts + plain Parquet ---------------------------------------------


def side_json_parse(base_url: str, work: Path, weeks: int) -> dict:
    import httpx
    import polars as pl

    from flows.open_collective.payload import COUNT_QUERY, TRANSACTIONS_QUERY

    started = time.perf_counter()
    rows = 0
    headers = {"Personal-Token": "bench-token", "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
        for table, kind, _ in KINDS:
            folder = work / "json_parse" / table
            folder.mkdir(parents=True)
            for week in range(weeks):
                start = FIRST_WEEK + week * WEEK
                variables = {"type": kind, "dateFrom": _z(start), "dateTo": _z(start + WEEK)}
                counted = client.post(PATH, json={"query": COUNT_QUERY, "variables": variables})
                total = json.loads(counted.content)["data"]["transactions"]["totalCount"]
                frames = []
                for offset in range(0, total, PAGE):
                    body = {"query": TRANSACTIONS_QUERY, "variables": {**variables, "limit": PAGE, "offset": offset}}
                    response = client.post(PATH, json=body)
                    response.raise_for_status()
                    nodes = json.loads(response.content)["data"]["transactions"]["nodes"]
                    frames.append(pl.from_dicts(nodes, infer_schema_length=None))
                if frames:
                    frame = pl.concat(frames, how="diagonal_relaxed")
                    frame.write_parquet(folder / f"{start.date().isoformat()}.parquet")
                    rows += frame.height
    return {"seconds": time.perf_counter() - started, "rows": rows}


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- measuring --------------------------------------------------------------------------------------------------------


def run_side(side: str, base_url: str, work: Path, weeks: int, profile: bool = False) -> dict:
    """One load in a fresh subprocess (``subprocess_measure.run_case``)."""
    command = [sys.executable, __file__, "--side", side, "--base-url", base_url, "--work", str(work),
               "--weeks", str(weeks), *(["--profile"] if profile else [])]  # fmt: skip
    return run_case(side, command, ROOT, {**os.environ, "PYTHONPATH": str(ROOT)})


# -- reading back -----------------------------------------------------------------------------------------------------

OURS_SQL = """
SELECT count(*), count(DISTINCT id), sum(legacy_id),
       sum(CAST(json_extract(amount, '$.valueInCents') AS BIGINT)), sum(epoch_us(created_at))
FROM iceberg_scan('{metadata}')
"""
PLAIN_SQL = """
SELECT count(*), count(DISTINCT id), sum(legacyId), sum(amount.valueInCents),
       sum(epoch_us(CAST(createdAt AS TIMESTAMPTZ)))
FROM read_parquet('{files}')
"""
CHECKED = ("rows", "ids", "legacy_ids", "cents", "created_us")


def read_back(work: Path, metadata: dict[str, str]) -> dict[str, dict[str, dict[str, int]]]:
    """Each side's tables, read by DuckDB (not by the code that wrote them)."""
    os.environ["OSO_HOME"] = str(work / "ours")
    from oso_core.warehouse.reader import duckdb_connection

    con = duckdb_connection()
    con.execute("SET TimeZone = 'UTC'")
    states: dict[str, dict[str, dict[str, int]]] = {"ours": {}, "json_parse": {}}
    for table, _, _ in KINDS:
        for side, sql in (
            ("ours", OURS_SQL.format(metadata=metadata[table].removeprefix("file://"))),
            ("json_parse", PLAIN_SQL.format(files=work / "json_parse" / table / "*.parquet")),
        ):
            row = con.execute(sql).fetchone()
            states[side][table] = dict(zip(CHECKED, (int(v or 0) for v in row), strict=True))
    return states


def check(states: dict[str, dict[str, dict[str, int]]], expected: dict[str, dict[str, int]]) -> None:
    for table, sums in expected.items():
        want = {**sums, "ids": sums["rows"]}
        for side, tables in states.items():
            got = tables[table]
            wrong = {k: (want[k], got[k]) for k in CHECKED if got[k] != want[k]}
            if wrong:
                raise SystemExit(f"check failed: {side} {table}: (served, read back) {wrong}")
        print(f"# {table}: both sides hold the {want['rows']:,} records served (ids, sums, timestamps equal)")


# -- main -------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="transactions the replay holds (default 1M)")
    parser.add_argument("--weeks", type=int, default=52, help="weekly windows they are spread over (default 52)")
    parser.add_argument("--quick", action="store_true", help="20,000 records over 4 weeks (unless given)")
    parser.add_argument("--profile", action="store_true", help="cProfile our side; print its top functions")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (lake, Parquet) under bench/.runs")
    parser.add_argument("--side", choices=("ours", "json_parse"))
    parser.add_argument("--base-url")
    parser.add_argument("--work")
    args = parser.parse_args(argv)
    if args.side:
        work = Path(args.work)
        if args.side == "ours":
            result = side_ours(args.base_url, work, args.weeks, args.profile)
        else:
            result = side_json_parse(args.base_url, work, args.weeks)
        result["own_rss_mib"] = own_peak_rss_mib()
        print(json.dumps(result))
        return
    if args.quick:
        given = argv if argv is not None else sys.argv[1:]
        args.records = args.records if "--records" in given else 20_000
        args.weeks = args.weeks if "--weeks" in given else 4

    import shutil
    import tempfile

    from flows.open_collective.payload import TRANSACTIONS_PAGE

    assert TRANSACTIONS_PAGE == PAGE, f"the flow pages by {TRANSACTIONS_PAGE}; the replay renders pages of {PAGE}"
    records, weeks = args.records, args.weeks
    print(f"# cores: {os.cpu_count()}, records: {records:,}, {weeks} weekly windows x 2 kinds, page {PAGE}")
    started = time.perf_counter()
    folder = render(records, weeks)
    size = sum(p.stat().st_size for p in folder.glob("*.json"))
    print(f"# replay ready in {folder.relative_to(ROOT)} ({size / 2**20:,.0f} MiB of pages, "
          f"{time.perf_counter() - started:.1f} s)", flush=True)  # fmt: skip
    expected = json.loads((folder / "expected.json").read_text())
    RUNS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="open_collective-", dir=RUNS))
    print(f"# load average before: {load_average()}", flush=True)
    try:
        with indexed_server(folder) as server:
            ours = run_side("ours", server.url, work, weeks, args.profile)
            requests_ours = len(server.requests)
            baseline = run_side("json_parse", server.url, work, weeks)
            requests_baseline = len(server.requests) - requests_ours
        if ours["rows"] != records:
            raise SystemExit(f"check failed: the flow reports {ours['rows']:,} rows written, {records:,} served")
        if requests_ours != requests_baseline:
            raise SystemExit(f"check failed: ours made {requests_ours} requests, the baseline {requests_baseline}")
        check(read_back(work, ours["metadata"]), expected)
        print(f"load_average_after: {load_average()}")
        print(f"cores: {os.cpu_count()}")
        print(f"records: {records}")
        print(f"requests: {requests_ours}")
        print(f"replay_mib: {size / 2**20:.0f}")
        print(f"open_collective_records_per_s: {records / ours['seconds']:.0f}")
        print(f"json_parse_records_per_s: {records / baseline['seconds']:.0f}")
        print(f"open_collective_vs_json_parse: {ours['seconds'] / baseline['seconds']:.3f}")
        print(f"open_collective_rss_vs_json_parse: {ours['rss_mib'] / baseline['rss_mib']:.2f}")
        growth = window_cost_growth(ours["commits_ms"], records, weeks)
        if growth is not None:
            print(f"window_cost_last_vs_first_quarter: {growth:.2f}")
        for name, result in (("open_collective", ours), ("json_parse", baseline)):
            print(f"{name}_seconds: {result['seconds']:.2f}")
            print(f"{name}_process_seconds: {result['process_seconds']:.2f}")
            print(f"{name}_peak_rss_mib: {result['rss_mib']:.0f}")
        if args.profile:
            print((work / "profile.txt").read_text())
    finally:
        if args.keep:
            print(f"# kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
