"""Declarative REST sources: a description (``oso_core.kinds.rest_model``) becomes a ``Source`` and its engine flow.

A described source's folder holds ``source.yaml`` and a ``source.py`` of one line of code::

    SPEC, SOURCE, chainlist_flow = described(__file__)

so discovery, the weekly pipeline, the command line, replay and ``prefect deploy`` treat it like any source.
Dynamic sources are the same descriptions read from the directory named by ``OSO_DYNAMIC_SOURCES_DIR``, one
source per YAML file, served by the module ``flows/dynamic.py`` (``flows/dynamic.py:<name>_flow``).

The flow is built from parts that already exist: ``HttpClient`` (retries, rate limit, masking), the paginators of
``oso_core.transport.pagination``, ``fan_out`` for child requests, and typed, validated records whose errors name
source, endpoint, record and field.

Pages are decoded natively (``oso_core.transport.json_frames.FrameDecoder``: Arrow reads each page's bytes straight into
the declared ``fields``), so a large endpoint costs no Python object per value. A page the native path cannot vouch
for (a bad or convertible value, a null where a list is expected, a payload of another shape) is decoded again
with ``json.loads`` + ``records_to_frame``, record numbers counted from the page's first record, so it converts
what the Python path converts and fails with the Python path's message, e.g.
``chainlist: /rpcs.json: record Bad #0: field 'chainId': expected an integer, got str 'ten'``; when several pages
are bad, the first bad page's first misfit is named. A resource needing what only Python does (a ``transform``,
a map selector ``path.*``, ``naming: snake_case``, ``extra: keep`` or ``error``, a resolved parameter declared as
anything but text) goes the Python way for all its pages, its records validated together as before. Offset pages
decoded natively are fetched ``parallel_pages`` at a time once the total is known (setting
``<source>.parallel_pages``, default 4), each request still retried and rate-limited by the shared client.

Every table is fetched and validated before the engine writes any (one commit per table), so a bad payload
commits nothing. One table may be streamed instead (see ``streamed_resource``): the last natively decoded resource
with no resolved parameter, no skipped statuses and no children is fetched while it is written, in chunks of
``STREAM_ROWS`` rows, and written first; a bad page fails its write before the commit, and the other tables,
fetched and validated already, are written after it. A million-record endpoint is so held a chunk at a time.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import polars as pl
import yaml

from oso_core.base.naming import snake_case
from oso_core.config.secrets import SecretReference
from oso_core.engine.flow import SourceRun, source_flow
from oso_core.errors import Skipped, SourceError
from oso_core.kinds.rest_model import Description, DescriptionError, Endpoint, Resource, validate_description
from oso_core.model.sources import Source, TableSpec
from oso_core.transport.fanout import fan_out
from oso_core.transport.http import HttpClient, RetryPolicy, StatusAction, min_interval_setting
from oso_core.transport.json_frames import FrameDecoder
from oso_core.transport.pagination import (
    Page,
    PageReader,
    json_next,
    link_header_next,
    paginate_next_link,
    paginate_offset,
    paginate_pages,
    parallel_pages_setting,
)
from oso_core.transport.records import Where, group_frames, records_to_frame

if TYPE_CHECKING:
    from prefect import Flow

Transform = Callable[[Any, "Call"], Any]
STREAM_ROWS = 100_000
"""Rows per frame handed to the writer by a streamed table (pages of a few hundred make data files that small)."""


@dataclass(frozen=True)
class Call:
    """What a resource's ``transform`` gets beside the payload: where it came from (``where.error(...)`` names
    source, endpoint and field), the resolved ``value`` of this request, and ``note`` for the run summary."""

    where: Where
    resource: str
    value: str | None
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        label = f"{self.resource}: {self.value}" if self.value is not None else self.resource
        self.notes.append(f"{label}: {text}")


@dataclass(frozen=True)
class Described:
    """A loaded description with its ``Source``, its flow and the transforms its resources name."""

    description: Description
    source: Source
    flow: Flow[..., Any]
    file: Path


def read_description(file: Path) -> tuple[Description, dict[str, Transform]]:
    """The validated description in ``file`` and its resources' transforms, or one ``DescriptionError``."""
    try:
        raw = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise DescriptionError(file, [("", f"not valid YAML: {exc}".replace("\n", " "))]) from None
    description = validate_description(raw, file)
    transforms, problems = {}, []
    for index, resource in enumerate(description.resources):
        if resource.transform:
            try:
                transforms[resource.name] = load_transform(resource.transform, file.parent)
            except (ImportError, AttributeError, SyntaxError) as exc:
                problems.append((f"resources[{index}].transform", f"cannot load {resource.transform!r}: {exc}"))
    if problems:
        raise DescriptionError(file, problems)
    return description, transforms


def package_of(folder: Path) -> str | None:
    """The dotted package a folder is (``flows/l2beat`` → ``flows.l2beat``), or None outside packages."""
    parts: list[str] = []
    while (folder / "__init__.py").is_file():
        parts.append(folder.name)
        folder = folder.parent
    return ".".join(reversed(parts)) or None


_file_modules: dict[Path, Any] = {}


def load_transform(spec: str, folder: Path) -> Transform:
    """``module:function`` from the description's folder: imported as ``<package>.<module>`` inside a package
    (``flows.l2beat.payload``), else loaded from ``<folder>/<module>.py`` (a dynamic sources directory)."""
    module_name, function = spec.split(":")
    package = package_of(folder)
    if package is not None:
        module = importlib.import_module(f"{package}.{module_name}")
    else:
        path = (folder / f"{module_name}.py").resolve()
        if path not in _file_modules:
            if not path.is_file():
                raise ImportError(f"{path} does not exist")
            loader = importlib.util.spec_from_file_location(f"oso_described_{abs(hash(path))}_{module_name}", path)
            assert loader is not None and loader.loader is not None
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
            _file_modules[path] = module
        module = _file_modules[path]
    fn = getattr(module, function)
    if not callable(fn):
        raise AttributeError(f"{module_name}.{function} is not a function")
    return fn


def build_source(description: Description, module: str = "") -> Source:
    """The ``Source`` declaration of a description: one table per resource, the auth secret, the base URL."""
    auth = description.client.auth
    secrets = (SecretReference(*auth.secret.split(".")),) if auth else ()
    tables = tuple(
        TableSpec(
            r.name,
            mode=r.write_disposition,
            key=tuple(r.primary_key),
            description=r.description,
            checks=r.checks.declared(),
        )
        for r in description.resources
    )
    return Source(
        name=description.name,
        tables=tables,
        flow=f"{description.name}_flow",
        description=description.description,
        secrets=secrets,
        base_url=description.client.base_url,
        tags=tuple(description.tags),
        module=module,
    )


def build(file: Path, module: str = "") -> Described:
    """Read ``file`` and build its source and flow; nothing is requested until the flow runs."""
    description, transforms = read_description(file)
    source = build_source(description, module)
    return Described(description, source, _flow(description, source, transforms), file)


def described(file: str | Path) -> tuple[Description, Source, Flow[..., Any]]:
    """For ``flows/<source>/source.py``: ``SPEC, SOURCE, <source>_flow = described(__file__)``."""
    folder = Path(file).resolve().parent
    package = package_of(folder)
    built = build(folder / "source.yaml", f"{package}.source" if package else "")
    return built.description, built.source, built.flow


# --- the flow -----------------------------------------------------------------------------------------------


class _QueryAuthClient(HttpClient):
    """An ``HttpClient`` that adds the secret query parameter to every request, next links included."""

    def __init__(self, *args: Any, auth_params: Mapping[str, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._auth_params = dict(auth_params)

    def request(
        self, method: str, path: str, *, on_status: Mapping[int, StatusAction] | None = None, **kwargs: Any
    ) -> httpx.Response:
        url = httpx.URL(path)  # httpx replaces a URL's query by ``params``: carry it over
        params = [*url.params.multi_items(), *dict(kwargs.pop("params", None) or {}).items()]
        params += list(self._auth_params.items())
        return super().request(method, str(url.copy_with(query=None)), on_status=on_status, params=params, **kwargs)


@contextmanager
def _http(run: SourceRun, description: Description, base_url: str | None, interval: float) -> Iterator[HttpClient]:
    client = description.client
    headers, params, mask = dict(client.headers), {}, ()
    if client.auth is not None:
        from oso_core.config.secrets import default_resolver

        secret = default_resolver().resolve_as_str(SecretReference(*client.auth.secret.split(".")))
        mask = (secret,)
        if client.auth.type == "bearer":
            headers["Authorization"] = f"Bearer {secret}"
        elif client.auth.location == "header":
            headers[client.auth.name] = secret
        else:
            params[client.auth.name] = secret
    options: dict[str, Any] = {
        "headers": headers,
        "timeout": client.timeout,
        "retry": RetryPolicy(**client.retry.model_dump()),
        "min_interval": interval,
        "mask": mask,
    }
    kind: type[HttpClient] = HttpClient
    if params:
        kind, options["auth_params"] = _QueryAuthClient, params
    with kind(run.source.name, run.base_url(base_url), **options) as http:
        yield http


def select_records(payload: Any, selector: str, where: Where) -> list[Any]:
    """The records at ``selector``: ``$`` (the payload), a dotted path (``data.items``), or ``path.*`` for the
    values of a map (l2beat's ``projects``). A missing field or a non-list is an error naming the field."""
    path = selector.removeprefix("$").lstrip(".")
    values = path == "*" or path.endswith(".*")
    path = path.removesuffix("*").rstrip(".")
    value = payload
    for part in path.split(".") if path else []:
        if not isinstance(value, Mapping):
            raise where.error(None, f"expected an object with field {part!r}, got {type(value).__name__}")
        if part not in value:
            raise where.error(part, "missing")
        value = value[part]
        if value is None:
            return []
    what = f"field {path!r}" if path else "response"
    if values:
        where.expect(value, (dict, list), what)
        return list(value.values()) if isinstance(value, dict) else value
    return where.expect(value, list, what)


def _cursor_next(path: str, params: Mapping[str, Any], cursor_path: str, cursor_param: str) -> Any:
    """A next link made of the endpoint, its params and the cursor found at ``cursor_path`` in the payload."""
    cursor_of = json_next(cursor_path)

    def next_page(response: httpx.Response, payload: Any) -> str | None:
        cursor = cursor_of(response, payload)
        return None if cursor is None else str(httpx.URL(path, params={**params, cursor_param: str(cursor)}))

    return next_page


def _pages(http: HttpClient, path: str, endpoint: Endpoint, read: PageReader, parallel: int = 1) -> Iterator[Any]:
    """Pages of records of one request through the paginator the endpoint names (oso_core.transport.pagination), each
    response read by ``read`` (rows, or a frame)."""
    p, params, on_status = endpoint.paginator, endpoint.query, endpoint.response_actions
    common: dict[str, Any] = {"read": read, "params": params, "max_pages": p.max_pages, "on_status": on_status}
    if p.type == "single_page":
        response = http.request("GET", path, params=params or None, on_status=on_status)
        yield read(http, path, response, 0).records
    elif p.type == "page_number":
        yield from paginate_pages(
            http, path, page_param=p.page_param, first_page=p.base_page, size=p.page_size,
            size_param=p.page_size_param, total_pages=p.total_path, **common,
        )  # fmt: skip
    elif p.type == "offset":
        assert p.limit is not None
        yield from paginate_offset(
            http, path, limit=p.limit, offset_param=p.offset_param, limit_param=p.limit_param, start=p.offset,
            total=p.total_path, parallel=parallel, **common,
        )  # fmt: skip
    else:
        if p.type == "json_link":
            follow = json_next(p.next_url_path or "")
        elif p.type == "header_link":
            follow = link_header_next
        else:
            follow = _cursor_next(path, params, p.cursor_path or "", p.cursor_param or "")
        yield from paginate_next_link(http, path, next_link=follow, **common)


def native_decoder(resource: Resource, where: Where, transform: bool = False) -> FrameDecoder | None:
    """The native decoder of the resource's pages (records at its selector → frames of its ``fields``, with what
    its paginator reads: the total, the next link or cursor), or ``None`` when the resource needs the Python path:
    a ``transform``, a map selector ``path.*``, snake_case naming, ``extra`` other than ``drop``, a resolved
    parameter declared as other than text, or a type or selector Arrow cannot read."""
    endpoint, p = resource.endpoint, resource.endpoint.paginator
    selector = endpoint.data_selector.removeprefix("$").lstrip(".")
    if transform or resource.naming != "as_is" or resource.extra != "drop" or selector.endswith("*"):
        return None
    schema = dict(resource.record_schema)
    resolve = endpoint.resolve
    if resolve is not None:  # the value is the request's own, added after decoding (as the Python path adds it)
        if schema[resolve[0]] != pl.String:
            return None
        del schema[resolve[0]]
    text = {"json_link": p.next_url_path, "cursor": p.cursor_path}.get(p.type)
    decoder = FrameDecoder(
        schema,
        where,
        records=selector or "$",
        total=p.total_path if p.type in ("offset", "page_number") else None,
        required=tuple(name for name in resource.required if name in schema),
        record_id=resource.record_id,
        text=(text,) if text else (),
    )
    return decoder if decoder.native else None


def _record_frame(
    resource: Resource, rows: list[Any], where: Where, value: str | None = None, start: int = 0
) -> pl.DataFrame:
    """Records → a frame of the record's fields, named, typed and checked value by value (``records_to_frame``,
    records numbered from ``start``): the Python path, and every page the native path cannot vouch for."""
    if resource.naming == "snake_case":
        rows = [{snake_case(k): v for k, v in row.items()} if isinstance(row, Mapping) else row for row in rows]
    resolve = resource.endpoint.resolve
    if resolve is not None and value is not None:
        rows = [{**row, resolve[0]: value} if isinstance(row, Mapping) else row for row in rows]
    return records_to_frame(
        rows, resource.record_schema, where=where, required=resource.required, record_id=resource.record_id,
        extra=resource.extra, start=start,
    )  # fmt: skip


def _path_expr(frame: pl.DataFrame, path: str) -> pl.Expr:
    head, *rest = path.split(".")
    if head not in frame.columns:
        return pl.lit(None)
    expr = pl.col(head)
    for part in rest:
        expr = expr.struct.field(part)
    return expr


def _columns(resource: Resource, frame: pl.DataFrame) -> pl.DataFrame:
    """The table's ``columns`` of a record frame (each from a field path; a list takes the first non-null)."""
    if not resource.columns:
        return frame
    exprs = []
    for name, paths in resource.columns.items():
        parts = [_path_expr(frame, p) for p in ([paths] if isinstance(paths, str) else paths)]
        exprs.append((parts[0] if len(parts) == 1 else pl.coalesce(parts)).alias(name))
    if resource.extra == "keep":
        declared = set(resource.record_schema) | set(resource.columns)
        exprs += [pl.col(c) for c in frame.columns if c not in declared]
    return frame.select(exprs)


def _table_frame(resource: Resource, rows: list[Any], where: Where, value: str | None = None) -> pl.DataFrame:
    """Records → the table's frame: named, typed and checked (``records_to_frame``), then its ``columns``."""
    return _columns(resource, _record_frame(resource, rows, where, value))


@dataclass(frozen=True)
class _Request:
    """One request of a resource (one resolved ``value``): reads its responses as rows or as frames."""

    resource: Resource
    where: Where
    value: str | None
    transform: Transform | None
    call: Call
    decoder: FrameDecoder | None

    def rows(self, http: HttpClient, endpoint: str, response: httpx.Response, start: int) -> Page:
        """The Python path: the payload, the resource's ``transform``, the records at its selector."""
        payload = http.decode_json(endpoint, response)
        selected = payload if self.transform is None else self.transform(payload, self.call)
        rows = select_records(selected, self.resource.endpoint.data_selector, self.where)
        return Page(rows, len(rows), payload)

    def frame(self, http: HttpClient, endpoint: str, response: httpx.Response, start: int) -> Page:
        """The native path: the page's bytes as a frame of the record's fields, or (a page it cannot vouch for)
        the Python path's frame of the same page, or its error."""
        assert self.decoder is not None
        page = self.decoder.native_page(response.content)
        if page is None:
            slow = self.rows(http, endpoint, response, start)
            frame = _record_frame(self.resource, slow.records, self.where, self.value, start)
            return Page(_columns(self.resource, frame), slow.count, slow.payload)
        frame = page.frame
        resolve = self.resource.endpoint.resolve
        if resolve is not None:
            frame = frame.with_columns(pl.lit(self.value, pl.String).alias(resolve[0]))
            frame = frame.select(list(self.resource.record_schema))
        return Page(_columns(self.resource, frame), frame.height, page.payload)


def streamed_resource(description: Description, transforms: Mapping[str, Transform]) -> str | None:
    """The resource whose table is fetched while it is written (see the module docstring), if any: the last one
    decoded natively with no resolved parameter, no ``skip``/``ignore`` status (a skipped request drops the
    records read before it) and no resource resolving from it."""
    parents = {r.endpoint.resolve[1].resource for r in description.resources if r.endpoint.resolve is not None}
    streamed = None
    for resource in description.resources:
        endpoint = resource.endpoint
        if (
            endpoint.resolve is None
            and resource.name not in parents
            and not {"skip", "ignore"} & set(endpoint.response_actions.values())
            and native_decoder(resource, Where(description.name, endpoint.path), resource.name in transforms)
        ):
            streamed = resource.name
    return streamed


@dataclass
class _Load:
    """One run of a described source: its client, summary and the tables loaded so far."""

    run: SourceRun
    description: Description
    transforms: dict[str, Transform]
    http: HttpClient
    max_workers: int
    parallel: int = 1
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)

    def request(self, resource: Resource, value: str | None, http: HttpClient | None = None) -> Iterator[pl.DataFrame]:
        """Frames of the table's columns for one request: one per page on the native path, else one of all the
        request's records (validated together, as the Python path always has)."""
        http = http or self.http
        path = resource.endpoint.path if value is None else resource.endpoint.path.format_map({
            resource.endpoint.resolve[0]: value  # type: ignore[index]
        })  # fmt: skip
        where = Where(self.run.source.name, path)
        transform = self.transforms.get(resource.name)
        decoder = native_decoder(resource, where, transform is not None)
        call = Call(where, resource.name, value, self.run.summary.notes)
        request = _Request(resource, where, value, transform, call, decoder)
        if decoder is not None:
            yield from _pages(http, path, resource.endpoint, request.frame, self.parallel)
            return
        rows = [row for page in _pages(http, path, resource.endpoint, request.rows) for row in page]
        yield _table_frame(resource, rows, where, value)

    def values(self, resource: Resource) -> list[str]:
        """The resolved parameter's values: the fixed list, or the parent table's column (non-null, distinct)."""
        _, resolve = resource.endpoint.resolve  # type: ignore[misc]
        if resolve.values is not None:
            return list(resolve.values)
        parent = self.frames[resolve.resource]  # type: ignore[index]
        if resolve.field not in parent.columns:
            problem = f"{resolve.resource} has no column {resolve.field!r} to resolve from"
            raise SourceError(self.run.source.name, resource.endpoint.path, problem)
        column = parent[resolve.field].drop_nulls().unique(maintain_order=True)  # type: ignore[index]
        return [str(v) for v in column.to_list()]

    def empty(self, resource: Resource) -> pl.DataFrame:
        return _table_frame(resource, [], Where(self.run.source.name, resource.endpoint.path))

    def refuse_empty(self, resource: Resource) -> None:
        source = self.run.source
        if not resource.allow_empty:
            noun = resource.name.removesuffix("s")
            raise Where(source.name, resource.endpoint.path).error(
                None, f"the {noun} list is empty; refusing to {resource.write_disposition} "
                f"{source.qualified(resource.name)} with nothing",
            )  # fmt: skip

    def table(self, resource: Resource) -> pl.DataFrame:
        source = self.run.source
        if resource.endpoint.resolve is None:
            try:
                frames = list(self.request(resource, None))
            except Skipped as skipped:
                self.run.summary.skipped.append(f"{resource.name} (HTTP {skipped.status})")
                frames = []
        else:
            fetched = fan_out(
                self.values(resource), lambda v: list(self.request(resource, v)), max_workers=self.max_workers
            )
            fetched.raise_for_errors(source.name, resource.endpoint.path)
            self.run.summary.skipped.extend(f"{resource.name}: {label}" for label in fetched.skipped_labels())
            frames = [frame for request in fetched.values() for frame in request]
        frame = pl.concat([self.empty(resource), *frames], how="diagonal_relaxed")
        if frame.is_empty():
            self.refuse_empty(resource)
        return frame

    def stream(self, resource: Resource, client: Callable[[], Any], stats: list[Any]) -> Iterator[pl.DataFrame]:
        """The table as frames of about ``STREAM_ROWS`` rows, fetched as the writer takes them through a client
        of its own (``client()``); an empty table still gives one empty frame of its columns. ``stats`` (the other
        resources' client's) is summed with this client's into the run's request note at the end."""
        rows = 0
        with client() as http:
            for frame in group_frames(self.request(resource, None, http), STREAM_ROWS):
                rows += frame.height
                yield frame
            if not rows:
                self.refuse_empty(resource)
                yield self.empty(resource)
        self.run.summary.notes.append(_requests_note([*stats, http.stats], http.min_interval))


def _requests_note(stats: list[Any], interval: float) -> str:
    requests, retries = sum(s.requests for s in stats), sum(s.retries for s in stats)
    return f"{requests} requests, {retries} retries, {interval:g}s between requests"


def _flow(description: Description, source: Source, transforms: dict[str, Transform]) -> Flow[..., Any]:
    client = description.client
    streamed = streamed_resource(description, transforms)

    def load(
        run: SourceRun,
        base_url: str | None = None,
        max_workers: int = client.max_workers,
        min_interval: float | None = None,
    ) -> dict[str, Any]:
        interval = min_interval_setting(source.name, client.min_interval) if min_interval is None else min_interval
        parallel = parallel_pages_setting(source.name)
        with _http(run, description, base_url, interval) as http:
            loading = _Load(run, description, transforms, http, max_workers, parallel)
            for resource in description.resources:
                if resource.name != streamed:
                    loading.frames[resource.name] = loading.table(resource)
        if streamed is None:
            run.summary.notes.append(_requests_note([http.stats], interval))
            return loading.frames
        # fetched while written, and written first: a bad page fails its write before any table is committed
        stream = loading.stream(
            description.resource(streamed), lambda: _http(run, description, base_url, interval), [http.stats]
        )
        return {streamed: stream, **loading.frames}

    load.__name__ = load.__qualname__ = source.flow
    load.__doc__ = f"Load {source.name} ({description.description or 'a described REST source'}): " + ", ".join(
        f"{source.qualified(r.name)} ({r.write_disposition})" for r in description.resources
    )
    return source_flow(source)(load)


# --- dynamic sources ----------------------------------------------------------------------------------------

_dynamic_cache: dict[tuple[Path, int, str], Described] = {}


def dynamic_sources(directory: Path | None = None, module: str = "flows.dynamic") -> dict[str, Described]:
    """Every ``*.yaml`` / ``*.yml`` of ``directory`` (default: ``OSO_DYNAMIC_SOURCES_DIR``; none when unset), by
    source name. All files are validated first; any problem fails with one ``DescriptionError`` naming each
    file, field and problem."""
    from oso_core.config import settings

    directory = directory if directory is not None else settings.dynamic_sources_dir()
    if directory is None:
        return {}
    if not directory.is_dir():
        raise DescriptionError(directory, [("", "the dynamic sources directory (OSO_DYNAMIC_SOURCES_DIR) is missing")])
    found: dict[str, Described] = {}
    errors: list[DescriptionError] = []
    for file in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
        key = (file.resolve(), file.stat().st_mtime_ns, module)
        try:
            built = _dynamic_cache.get(key) or build(file, module)
        except DescriptionError as exc:
            errors.append(exc)
            continue
        _dynamic_cache[key] = built
        name = built.source.name
        if name in found:
            twice = f"source {name!r} is also described in {found[name].file}"
            errors.append(DescriptionError(file, [("name", twice)]))
            continue
        found[name] = built
    if errors:
        raise DescriptionError.combine(errors)
    return found


def dynamic_attribute(module: str, name: str) -> Any:
    """PEP 562 ``__getattr__`` of ``flows/dynamic.py``: ``SOURCES`` (discovery) and ``<source>_flow`` (Prefect's
    entrypoint ``flows/dynamic.py:<source>_flow``), read from the dynamic sources directory when asked."""
    if name == "SOURCES":
        return {n: built.source for n, built in dynamic_sources(module=module).items()}
    if name.endswith("_flow") and not name.startswith("_"):
        for built in dynamic_sources(module=module).values():
            if built.source.flow == name:
                return built.flow
    raise AttributeError(f"module {module!r} has no attribute {name!r}")


__all__ = ["Call", "Described", "build", "described", "dynamic_attribute", "dynamic_sources", "select_records"]
