"""ossd_funding: OSO's public funding registry, ``opensource-observer/oss-funding``'s ``data/funding_data.csv``.

OSO's ``ossd/funding`` asset (``oss_directory_github_funding_resource("opensource-observer", "oss-funding",
"data/funding_data.csv", gh_token)``) reads the file through GitHub's contents API with the ``ossd`` token; so does
this, asking for the raw media type (the JSON form carries no content for files over 1 MB, and this one is near
it). The table is replaced with the file's rows; a malformed record fails the load with its line and field and
leaves the table as it was.
"""

from __future__ import annotations

from typing import Annotated

import polars as pl

from flows.ossd_funding.payload import FundingCsvError, funding_frame
from oso_core import GitHubClient, SecretReference, Source, SourceRun, TableSpec, source_flow

GITHUB_TOKEN = SecretReference("ossd", "github_token")
REPOSITORY = "opensource-observer/oss-funding"
CSV_PATH = "data/funding_data.csv"
RAW = "application/vnd.github.raw+json"

SOURCE = Source(
    name="ossd_funding",
    description="OSO's oss-funding registry (funding_data.csv), as OSO's ossd/funding",
    base_url="https://api.github.com",
    namespace="ossd",
    tables=(TableSpec("funding", mode="replace", description="one row per funding event of the CSV"),),
    flow="ossd_funding_flow",
    secrets=(GITHUB_TOKEN,),
    tags=("sbom",),  # OSO tags the funding asset source=sbom: its SBOM job loads it, Tuesdays and Fridays
    cadence="0 0 * * 2,5",
    api="github",
)


@source_flow(SOURCE)
def ossd_funding_flow(
    run: SourceRun,
    base_url: str | None = None,
    ref: Annotated[str | None, "branch, tag or commit of oss-funding (default: its default branch)"] = None,
) -> dict[str, pl.DataFrame]:
    """Download the funding CSV and replace ``ossd.funding`` with it in one commit."""
    token = run.secret(GITHUB_TOKEN)
    path = f"/repos/{REPOSITORY}/contents/{CSV_PATH}"
    with GitHubClient(SOURCE.name, run.base_url(base_url), token) as client:
        response = client.request("GET", path, headers={"Accept": RAW}, params={"ref": ref} if ref else None)
    try:
        frame = funding_frame(response.text, f"{REPOSITORY}/{CSV_PATH}")
    except FundingCsvError as exc:
        raise FundingCsvError(f"{SOURCE.name}: {exc}; {SOURCE.qualified('funding')} left unchanged") from None
    run.summary.notes.append(f"{REPOSITORY}/{CSV_PATH}{f'@{ref}' if ref else ''}: {frame.height} rows")
    return {"funding": frame}
