"""ossd load vs ``ossdirectory.fetch_data`` on a realistic 7,100-project snapshot, measured in one run.

Prints ``ossd_load_vs_fetch_data: <ratio>`` (our parse + validate + three Iceberg commits ÷ the package's
parse + validate alone; target ≤ 0.3) with both times and peak RSS. The snapshot is generated with the shape
of the real directory: nested URL lists, social profiles, blockchain addresses, one file per project.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
from pathlib import Path

import yaml

NETWORKS = ["mainnet", "optimism", "base", "arbitrum_one", "matic", "zora", "mode", "linea", "scroll", "any_evm"]
TAGS = ["contract", "eoa", "safe", "wallet", "deployer", "factory", "proxy", "bridge"]
WORDS = "open source observer ethereum protocol library toolkit wallet bridge index data graph chain sdk".split()  # noqa: SIM905


def _urls(rng: random.Random, prefix: str, n: int) -> list[dict[str, str]]:
    return [{"url": f"{prefix}/{rng.choice(WORDS)}-{rng.randrange(10**6)}"} for _ in range(n)]


def make_project(rng: random.Random, i: int) -> dict:
    name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i}"
    project: dict = {"version": 7, "name": name, "display_name": name.replace("-", " ").title()}
    if rng.random() < 0.8:
        project["description"] = " ".join(rng.choices(WORDS, k=rng.randint(5, 30)))
    if rng.random() < 0.7:
        project["websites"] = _urls(rng, "https://www.example.org", rng.randint(1, 2))
    if rng.random() < 0.5:
        project["social"] = {"twitter": _urls(rng, "https://twitter.com", 1)}
        if rng.random() < 0.3:
            project["social"]["telegram"] = _urls(rng, "https://t.me", 1)
    owner = f"org-{i}"
    project["github"] = (
        [{"url": f"https://github.com/{owner}"}]
        if rng.random() < 0.3
        else [{"url": f"https://github.com/{owner}/repo-{k}"} for k in range(rng.choice([1, 1, 1, 2, 3, 8]))]
    )
    if rng.random() < 0.3:
        project["npm"] = _urls(rng, "https://www.npmjs.com/package", rng.randint(1, 4))
    if rng.random() < 0.25:
        project["blockchain"] = [
            {
                "address": "0x" + "".join(rng.choices("0123456789abcdef", k=40)),
                "networks": rng.sample(NETWORKS, rng.randint(1, 3)),
                "tags": rng.sample(TAGS, rng.randint(1, 2)),
                **({"name": rng.choice(WORDS)} if rng.random() < 0.5 else {}),
            }
            for _ in range(rng.choice([1, 1, 2, 5, 12]))
        ]
    if rng.random() < 0.05:
        project["defillama"] = _urls(rng, "https://defillama.com/protocol", 1)
    return project


def generate_snapshot(root: Path, projects: int, collections: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    names = []
    for i in range(projects):
        project = make_project(rng, i)
        names.append(project["name"])
        folder = root / "data" / "projects" / project["name"][0]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{project['name']}.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    (root / "data" / "collections").mkdir(parents=True, exist_ok=True)
    for i in range(collections):
        body = {
            "version": 3,
            "name": f"collection-{i}",
            "display_name": f"Collection {i}",
            "projects": rng.sample(names, min(len(names), rng.randint(5, 400))),
        }
        (root / "data" / "collections" / f"collection-{i}.yaml").write_text(yaml.safe_dump(body, sort_keys=False))


def time_fetch_data(root: Path) -> tuple[float, int]:
    from ossdirectory import fetch_data

    started = time.perf_counter()
    data = fetch_data(directory_path=str(root))
    return time.perf_counter() - started, len(data.projects)


def time_our_load(root: Path, oso_home: Path) -> tuple[float, dict[str, int]]:
    os.environ["OSO_HOME"] = str(oso_home)
    from flows.ossd import payload as ossd
    from oso_core.warehouse import Warehouse

    started = time.perf_counter()
    directory = ossd.read_directory(root, ossd.Revision("ab" * 20, None))
    warehouse = Warehouse()
    rows = {}
    for name, frame in (
        ("projects", ossd.projects_frame(directory)),
        ("collections", ossd.collections_frame(directory)),
        ("project_repositories", ossd.project_repositories_frame(directory)),
    ):
        rows[name] = warehouse.write(f"ossd.{name}", frame, mode="replace").rows_written
    elapsed = time.perf_counter() - started
    check = warehouse.sql("SELECT count(*) AS n FROM ossd.projects")["n"][0]
    assert check == rows["projects"], f"read back {check} projects, wrote {rows['projects']}"
    return elapsed, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=7100)
    parser.add_argument("--collections", type=int, default=120)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oso-bench-ossd-") as tmp:
        root = Path(tmp) / "oss-directory"
        generate_snapshot(root, args.projects, args.collections)
        ours, rows = time_our_load(root, Path(tmp) / "lake")
        theirs, fetched = time_fetch_data(root)
        assert fetched == rows["projects"] == args.projects, (fetched, rows)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cores: {os.cpu_count()}")
    print(f"projects: {args.projects}  rows: {rows}")
    print(f"fetch_data_s: {theirs:.2f}")
    print(f"ossd_load_s: {ours:.2f}")
    print(f"peak_rss_mib: {peak_mib:.0f}")
    print(f"ossd_load_vs_fetch_data: {ours / theirs:.3f}")


if __name__ == "__main__":
    main()
