"""``python -m flows <source> --record`` against local servers standing in for the live APIs.

chainlist answers one long list after a 429; the ENS stand-in is a keyset-paged subgraph that wants its key in the
URL path and echoes it back in a header and in the body. Each recording goes to a scratch fixtures directory
(``OSO_REPLAY_DIR``); then no secret may be in any recorded file, the long list is cut with a note, and a
``--replay`` of the recording loads the same table offline.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from flows.__main__ import main
from flows.ens.source import SUBGRAPH_PATH
from oso_dev.record import Masker, cut_lists, cut_note, empty_lists
from oso_dev.replay import SHUTDOWN_POLL_S, ReplayServer, Route

KEY = "9c1e5d7a3b2f4e6d8a0b1c2d3e4f5a6b"
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def chain(i: int) -> dict[str, Any]:
    return {
        "name": f"Chain {i}",
        "chain": f"C{i}",
        "chainId": i,
        "networkId": i,
        "shortName": f"c{i}",
        "chainSlug": f"chain-{i}",
        "nativeCurrency": {"name": "Ether", "symbol": "ETH", "decimals": 18},
        "infoURL": f"https://chain{i}.example",
    }


@pytest.fixture
def scratch(tmp_path: Path, oso_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Recordings and replays use this fixtures root instead of the source folders."""
    root = tmp_path / "fixtures"
    monkeypatch.setenv("OSO_REPLAY_DIR", str(root))
    return root


def recorded_bytes(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


def test_chainlist_record_cuts_the_list_keeps_the_429_and_replays_the_same_table(
    scratch: Path, warehouse, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    chains = [chain(i) for i in range(1, 1235)]
    live = ReplayServer(
        [Route("/rpcs.json", status=429, headers={"Retry-After": "0"}, times=1), Route("/rpcs.json", json=chains)]
    )
    with live:
        monkeypatch.setenv("DAGSTER__CHAINLIST__BASE_URL", live.url)
        assert main(["chainlist", "--record"]) == 0
    assert [r.path for r in live.requests] == ["/rpcs.json", "/rpcs.json"]
    recorded = warehouse.sql("SELECT * FROM chainlist.chains ORDER BY chain_id")

    directory = scratch / "chainlist"
    routes = json.loads((directory / "routes.json").read_text())
    assert routes == [
        {"method": "GET", "path": "/rpcs.json", "status": 429, "headers": {"Retry-After": "0"}, "times": 1},
        {"method": "GET", "path": "/rpcs.json", "file": "rpcs.json", "note": "cut from 1,234 to 5 items"},
    ]
    assert json.loads((directory / "rpcs.json").read_text()) == chains[:5]
    assert recorded["chain_id"].to_list() == [1, 2, 3, 4, 5]  # the flow got what was recorded
    assert "recorded 2 answer(s)" in capsys.readouterr().out

    # the live API is gone: the replay serves the recording
    assert main(["chainlist", "--replay"]) == 0
    assert warehouse.sql("SELECT * FROM chainlist.chains ORDER BY chain_id").equals(recorded)


class Subgraph(BaseHTTPRequestHandler):
    """The ENS subgraph as The Graph's gateway serves it: key in the path, keyset pages on ``id``."""

    protocol_version = "HTTP/1.1"
    rows: dict[str, list[dict[str, Any]]] = {}
    paths: list[str] = []

    def log_message(self, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.paths.append(self.path)
        if self.path != f"/api/{KEY}/subgraphs/id/5XqPmWe6gjyrJtFn9cLy237i4cWw2j9HcUJEXsP5qGtH":
            return self.reply(401, {"errors": [{"message": "auth error: bad key in the URL"}]})
        field = {"Domains": "domains", "TextChangeds": "textChangeds"}[body["operationName"]]
        variables = body["variables"]
        after = (variables.get("where") or {}).get("id_gt", "")
        page = [row for row in self.rows[field] if row["id"] > after][: variables["first"]]
        echo = f"https://gateway.thegraph.com/api/{KEY}/subgraphs/id/x?api_key={KEY}"
        return self.reply(200, {"data": {field: page, "_meta": {"deployment": echo}}})

    def reply(self, status: int, payload: Any) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Echo-Key", KEY)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def subgraph() -> Iterator[str]:
    domains = [
        {"id": f"0x{i:04x}", "name": f"name{i}.eth", "subdomainCount": i, "expiryDate": str(1700000000 + i),
         "resolver": {"id": f"r{i}", "address": "0xres"}, "owner": {"id": "0xowner"}, "registrant": None,
         "registration": None, "subdomains": [{"id": f"0xs{i:03d}", "name": f"sub.name{i}.eth"}]}
        for i in range(1, 8)
    ]  # fmt: skip
    texts = [
        {"id": f"0xt{i:03d}", "resolver": {"id": f"r{i}"}, "blockNumber": 19000000 + i, "transactionID": f"0xtx{i}",
         "key": "url", "value": GITHUB_TOKEN if i == 2 else f"https://site{i}.example"}
        for i in range(1, 5)
    ]  # fmt: skip
    Subgraph.rows = {"domains": domains, "textChangeds": texts}
    Subgraph.paths = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Subgraph)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_ens_record_masks_the_key_in_the_url_ends_paging_and_replays_the_same_tables(
    scratch: Path, warehouse, subgraph: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("DAGSTER__ENS__BASE_URL", subgraph + SUBGRAPH_PATH)
    monkeypatch.setenv("DAGSTER__ENS__API_KEY", KEY)
    assert main(["ens", "--record", "--record-max-pages", "3"]) == 0
    domains = warehouse.sql("SELECT * FROM ens.domains ORDER BY id")
    texts = warehouse.sql("SELECT * FROM ens.text_changeds ORDER BY id")
    # ens's replay reads pages of 2, so the recording did too: 3 pages of domains, then an emptied 4th
    assert domains["name"].to_list() == [f"name{i}.eth" for i in range(1, 7)]
    assert texts["value"].to_list() == [
        "https://site1.example",
        "***",
        "https://site3.example",
        "https://site4.example",
    ]
    assert len(Subgraph.paths) == 4 + 3

    directory = scratch / "ens"
    files = recorded_bytes(directory)
    for name, content in files.items():
        assert KEY.encode() not in content, f"the key leaked into {name}"
        assert GITHUB_TOKEN.encode() not in content, f"a token leaked into {name}"
    routes = json.loads(files["routes.json"])
    stand_in_path = "/api/replay-ens-api-key/subgraphs/id/5XqPmWe6gjyrJtFn9cLy237i4cWw2j9HcUJEXsP5qGtH"
    assert {r["path"] for r in routes} == {stand_in_path}
    assert [r["body"] for r in routes[:2]] == [
        {"operationName": "Domains", "variables.first": 2, "variables.where.id_gt": ""},
        {"operationName": "Domains", "variables.first": 2, "variables.where.id_gt": "0x0002"},
    ]
    assert [r["file"] for r in routes[:4]] == ["domains.json", "domains_2.json", "domains_3.json", "domains_4.json"]
    assert "lists emptied: answer 4 to POST" in routes[3]["note"] and "--record-max-pages 3" in routes[3]["note"]
    first_page = json.loads(files["domains.json"])
    assert first_page["data"]["_meta"]["deployment"] == (
        "https://gateway.thegraph.com/api/replay-ens-api-key/subgraphs/id/x?api_key=replay-ens-api-key"
    )
    assert KEY not in capsys.readouterr().out

    # offline: ens's own replay (stand-in key in the path) serves the recording and loads the same tables
    monkeypatch.delenv("DAGSTER__ENS__API_KEY")
    monkeypatch.delenv("DAGSTER__ENS__BASE_URL")
    assert main(["ens", "--replay"]) == 0
    assert warehouse.sql("SELECT * FROM ens.domains ORDER BY id").equals(domains)
    assert warehouse.sql("SELECT * FROM ens.text_changeds ORDER BY id").equals(texts)


def test_a_failed_recording_writes_nothing(scratch: Path, warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    with ReplayServer([Route("/rpcs.json", json={"not": "a list"})]) as live:
        monkeypatch.setenv("DAGSTER__CHAINLIST__BASE_URL", live.url)
        assert main(["chainlist", "--record"]) == 1
    assert not (scratch / "chainlist").exists()


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("ossd", "--record does not apply to ossd: its replay is custom"),
        ("gitcoin", "--record does not apply to gitcoin: it replicates a SQL database"),
        ("op_atlas", "seeds a temporary PostgreSQL from op_atlas/fixtures/seed.sql"),
    ],
)
def test_sources_with_a_custom_replay_say_record_does_not_apply(scratch: Path, source, says, capsys) -> None:
    assert main([source, "--record"]) == 1
    assert says in capsys.readouterr().err
    assert not (scratch / source).exists()


def test_masker_cut_and_empty() -> None:
    masker = Masker({KEY: "replay-ens-api-key"})
    text = f"/api/{KEY}/x https://h.example/p?token=abc123&page=2 Bearer abcdefghijklmnop {GITHUB_TOKEN}"
    assert masker.text(text) == "/api/replay-ens-api-key/x https://h.example/p?token=***&page=2 *** ***"
    assert masker.query([("api_key", KEY), ("access_token", "zzz999"), ("page", "2")]) == (
        {"api_key": "replay-ens-api-key", "page": "2"},
        ["access_token"],
    )
    value, cuts = cut_lists({"data": {"rows": list(range(10)), "tags": [[1, 2, 3, 4, 5, 6, 7]]}}, 3)
    assert value == {"data": {"rows": [0, 1, 2], "tags": [[1, 2, 3]]}}
    assert cut_note(cuts, 3) == "cut from 10 to 3 items at data.rows (and 1 more list(s))"
    assert empty_lists({"data": {"rows": [1], "total": 1}}) == {"data": {"rows": [], "total": 1}}
