"""The description of a declarative REST source, in dlt ``rest_api`` vocabulary, validated by pydantic.

A plain REST source is data, not code (``flows/<source>/source.yaml``, or a file in the dynamic sources
directory)::

    name: chainlist
    description: EVM chains from chainlist.org
    client: {base_url: https://chainlist.org}
    resources:
      - name: chains
        endpoint: /rpcs.json
        primary_key: chain_id
        fields: {name: text, chainId: bigint}
        columns: {name: name, chain_id: chainId}

``client`` holds what every request shares (``base_url``, ``auth`` naming a secret, ``headers``, ``timeout``,
``retry``, the rate limit ``min_interval`` and ``max_workers``); ``resource_defaults`` is merged into every
resource; each resource is one table: its ``endpoint`` (``path``, ``params``, ``paginator``, ``data_selector``,
``response_actions``), ``primary_key``, ``write_disposition``, the typed ``fields`` of a record as the API names
them (errors name these), the table's ``columns`` (each from a field path; a list takes the first non-null),
``naming``, an optional ``transform`` (``module:function`` in the source's folder) for payloads that need code,
``allow_empty``, and ``checks`` (data-quality checks on the staged table before its commit, see ``Checks``). A path
placeholder is filled from a ``{type: resolve}`` param: the ``field`` of each record of an earlier ``resource``, or
a fixed list of ``values``; the value is also a text column of the records.

Everything is checked when the file is read, before any flow runs: ``DescriptionError`` names the file, the
field (``resources[1].endpoint.paginator.type``) and the problem.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from oso_core.errors import OsoError

NAME = r"^[a-z][a-z0-9_]*$"
SECRET_NAME = re.compile(r"^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)$")
TRANSFORM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:[A-Za-z_][A-Za-z0-9_]*$")
# dlt's data type names → Polars types; an object of field types is a struct, a one-item list a list.
DATA_TYPES: dict[str, pl.DataType] = {
    "text": pl.String(),
    "bigint": pl.Int64(),
    "double": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us", "UTC"),
}


class DescriptionError(OsoError, ValueError):
    """A source description is invalid: one line per problem, each naming the file and the field."""

    def __init__(self, file: str | Path, problems: list[tuple[str, str]]):
        self.file, self.problems = str(file), problems
        self.lines = [": ".join(filter(None, (self.file, where, problem))) for where, problem in problems]
        super().__init__("\n".join(self.lines))

    @classmethod
    def combine(cls, errors: list[DescriptionError]) -> DescriptionError:
        """One error for several files (every line still names its file)."""
        if len(errors) == 1:
            return errors[0]
        combined = cls(errors[0].file, [])
        combined.problems = [p for e in errors for p in e.problems]
        combined.lines = [line for e in errors for line in e.lines]
        combined.args = ("\n".join(combined.lines),)
        return combined


def polars_type(spec: Any, where: str) -> pl.DataType:
    """A field type of the description (``bigint``, ``{name: text}``, ``[text]``) as a Polars type."""
    if isinstance(spec, str):
        if spec not in DATA_TYPES:
            raise ValueError(f"{where}: unknown type {spec!r}; one of {', '.join(DATA_TYPES)}")
        return DATA_TYPES[spec]
    if isinstance(spec, dict) and spec:
        return pl.Struct({str(k): polars_type(v, f"{where}.{k}") for k, v in spec.items()})
    if isinstance(spec, list) and len(spec) == 1:
        return pl.List(polars_type(spec[0], f"{where}[]"))
    raise ValueError(f"{where}: a type is a name, an object of field types or a one-item list, got {spec!r}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Auth(_Model):
    """Credentials from a secret ``group.key`` (resolved at run time, never written here): ``bearer`` sends
    ``Authorization: Bearer <secret>``; ``api_key`` sends the secret as header or query parameter ``name``."""

    type: Literal["bearer", "api_key"]
    secret: str
    name: str = "Authorization"
    location: Literal["header", "query"] = "header"

    @field_validator("secret")
    @classmethod
    def _reference(cls, value: str) -> str:
        if not SECRET_NAME.match(value):
            raise ValueError("must name a secret as group.key (snake_case), never hold its value")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Auth:
        if self.type == "bearer" and (self.location != "header" or self.name != "Authorization"):
            raise ValueError("bearer auth is the Authorization header; use type api_key for another place")
        return self


class Retry(_Model):
    attempts: int = Field(6, ge=1)
    backoff_initial: float = Field(0.5, ge=0)
    backoff_max: float = Field(30.0, ge=0)
    total_wait: float = Field(300.0, ge=0)


class Client(_Model):
    base_url: str = Field(pattern=r"^https?://\S+$")
    auth: Auth | None = None
    headers: dict[str, str] = {}
    timeout: float = Field(60.0, gt=0)
    retry: Retry = Retry()
    min_interval: float = Field(0.0, ge=0, description="seconds between request starts (setting <source>.min_interval)")
    max_workers: int = Field(4, ge=1, description="child requests in flight at once")

    @field_validator("headers")
    @classmethod
    def _no_credentials(cls, headers: dict[str, str]) -> dict[str, str]:
        from oso_core.base.sensitive import is_sensitive_name
        from oso_core.model.secret_params import findings

        for name, value in headers.items():
            if is_sensitive_name(name) or findings(value) or findings(f"{name}: {value}"):
                raise ValueError(f"header {name!r} looks like a credential; name its secret in `auth` instead")
        return headers


class Paginator(_Model):
    """dlt's paginators over ``oso_core.transport.pagination``; only the fields of the chosen ``type`` apply."""

    type: Literal["single_page", "page_number", "offset", "json_link", "header_link", "cursor"] = "single_page"
    page_param: str = "page"
    base_page: int = 1
    page_size: int | None = Field(None, ge=1)
    page_size_param: str | None = None
    limit: int | None = Field(None, ge=1)
    offset: int = 0
    offset_param: str = "offset"
    limit_param: str = "limit"
    total_path: str | None = None
    next_url_path: str | None = None
    cursor_path: str | None = None
    cursor_param: str | None = None
    max_pages: int | None = Field(None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _needs(self) -> Paginator:
        needed = {"offset": ["limit"], "json_link": ["next_url_path"], "cursor": ["cursor_path", "cursor_param"]}
        missing = [name for name in needed.get(self.type, []) if getattr(self, name) is None]
        if missing:
            raise ValueError(f"paginator {self.type} needs {', '.join(missing)}")
        return self


class Resolve(_Model):
    """A path parameter filled from each record of an earlier resource (``resource`` + ``field``) or from a
    fixed list (``values``); one request per value, and the value is added to the records as a text field."""

    type: Literal["resolve"]
    resource: str | None = None
    field: str | None = None
    values: list[str] | None = None

    @model_validator(mode="after")
    def _source(self) -> Resolve:
        if (self.values is None) == (self.resource is None and self.field is None):
            raise ValueError("resolve takes either `resource` and `field`, or `values`")
        if self.values is None and not (self.resource and self.field):
            raise ValueError("resolve needs both `resource` and `field`")
        return self


class Endpoint(_Model):
    path: str
    params: dict[str, Any] = {}
    paginator: Paginator = Paginator()
    data_selector: str = "$"
    response_actions: dict[int, Literal["ignore", "skip", "retry", "raise"]] = {}

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @field_validator("params")
    @classmethod
    def _params(cls, params: dict[str, Any]) -> dict[str, Any]:
        checked: dict[str, Any] = {}
        for name, value in params.items():
            if isinstance(value, dict):
                try:
                    checked[name] = Resolve.model_validate(value)
                except ValidationError as exc:
                    problem = "; ".join(_problem(e) for e in exc.errors())
                    raise ValueError(f"param {name!r}: {problem}") from None
            elif isinstance(value, (str, int, float, bool)):
                checked[name] = value
            else:
                raise ValueError(f"param {name!r}: a text, a number or {{type: resolve, ...}}, got {value!r}")
        return checked

    @model_validator(mode="after")
    def _template(self) -> Endpoint:
        try:
            placeholders = [field for _, field, _, _ in string.Formatter().parse(self.path) if field is not None]
        except ValueError as exc:
            raise ValueError(f"path {self.path!r} is not a valid template: {exc}") from None
        resolved = [name for name, value in self.params.items() if isinstance(value, Resolve)]
        for field in placeholders:
            if not re.match(r"^[A-Za-z_]\w*$", field):
                raise ValueError(f"path {self.path!r}: placeholder {{{field}}} is not a parameter name")
            if field not in resolved:
                raise ValueError(f"path {self.path!r}: placeholder {{{field}}} has no `type: resolve` param")
        for name in resolved:
            if name not in placeholders:
                raise ValueError(f"param {name!r} resolves values, but the path has no {{{name}}}")
        if len(resolved) > 1:
            raise ValueError(f"path {self.path!r}: at most one resolved param, got {', '.join(resolved)}")
        return self

    @property
    def resolve(self) -> tuple[str, Resolve] | None:
        return next(((k, v) for k, v in self.params.items() if isinstance(v, Resolve)), None)

    @property
    def query(self) -> dict[str, Any]:
        return {k: v for k, v in self.params.items() if not isinstance(v, Resolve)}


class Checks(_Model):
    """A table's data-quality checks (``oso_core.warehouse.quality``), run on the staged data before the commit::

        checks: {unique: [chain_id], not_null: [name, chain_id], accepted_values: {kind: [a, b]},
                 expressions: {positive_id: "chain_id > 0"}, max_row_drop: 0.9}

    ``unique`` entries are a column or a list of columns (one key); ``expressions`` are SQL expressions every row
    satisfies, by check name; ``max_row_drop`` loosens or tightens the default ``row_drop`` gate of a replace."""

    unique: list[str | list[str]] = []
    not_null: list[str] = []
    accepted_values: dict[str, list[Any]] = {}
    expressions: dict[str, str] = {}
    max_row_drop: float | None = Field(None, ge=0, le=1)

    @field_validator("expressions")
    @classmethod
    def _sql(cls, expressions: dict[str, str]) -> dict[str, str]:
        for name, expression in expressions.items():
            if not re.match(NAME, name):
                raise ValueError(f"check name {name!r} must be snake_case")
            try:
                pl.sql_expr(expression)
            except Exception as error:  # noqa: BLE001 - Polars' SQL parser raises several kinds
                raise ValueError(f"expression {name!r} is not valid SQL: {str(error).splitlines()[0]}") from None
        return expressions

    def declared(self) -> tuple[Any, ...]:
        """The checks as ``TableSpec.checks`` takes them."""
        from oso_core.warehouse.quality import AcceptedValues, Expression, NotNull, RowCountChange, Unique

        checks: list[Any] = [Unique(*([key] if isinstance(key, str) else key)) for key in self.unique]
        checks += [NotNull(column) for column in self.not_null]
        checks += [AcceptedValues(column, values) for column, values in self.accepted_values.items()]
        checks += [Expression(expression, name=name) for name, expression in self.expressions.items()]
        if self.max_row_drop is not None:
            checks.append(RowCountChange(max_drop=self.max_row_drop))
        return tuple(checks)


class Resource(_Model):
    """One endpoint → one table ``<source>.<name>``."""

    name: str = Field(pattern=NAME)
    description: str = ""
    endpoint: Endpoint
    primary_key: list[str] = []
    write_disposition: Literal["replace", "merge", "append"] = "replace"
    fields: dict[str, Any] = {}
    required: list[str] = []
    record_id: str | None = None
    extra: Literal["drop", "keep", "error"] = "drop"
    columns: dict[str, str | list[str]] = {}
    naming: Literal["as_is", "snake_case"] = "as_is"
    transform: str | None = Field(None, pattern=TRANSFORM.pattern)
    allow_empty: bool = True
    checks: Checks = Checks()

    @field_validator("primary_key", mode="before")
    @classmethod
    def _one_key(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("fields")
    @classmethod
    def _types(cls, fields: dict[str, Any]) -> dict[str, Any]:
        for name, spec in fields.items():
            polars_type(spec, f"field {name!r}")
        return fields

    @model_validator(mode="after")
    def _consistent(self) -> Resource:
        known = set(self.record_schema)
        if not known and self.extra != "keep":
            raise ValueError("declare the record's `fields`, or keep every field with `extra: keep`")
        if self.write_disposition == "merge" and not self.primary_key:
            raise ValueError("write_disposition merge needs a primary_key")
        unknown = [name for name in self.required if name not in known]
        if unknown:
            raise ValueError(f"required {unknown} are not among the fields {sorted(known)}")
        schema = self.record_schema
        for column, paths in self.columns.items():
            for path in [paths] if isinstance(paths, str) else paths:
                head, *rest = path.split(".")
                if head not in known:
                    if self.extra != "keep":
                        raise ValueError(f"column {column!r}: {path!r} is not among the fields {sorted(known)}")
                    continue
                dtype = schema[head]
                for part in rest:
                    inner = {f.name: f.dtype for f in dtype.fields} if isinstance(dtype, pl.Struct) else {}
                    if part not in inner:
                        raise ValueError(f"column {column!r}: field {head!r} has no {part!r} in its type")
                    dtype = inner[part]
        if self.extra != "keep":
            missing = [key for key in self.primary_key if key not in self.output_columns]
            if missing:
                raise ValueError(f"primary_key {missing} is not among the columns {self.output_columns}")
        return self

    @property
    def record_schema(self) -> dict[str, pl.DataType]:
        """The record's typed fields, with the resolved parameter's column (text) when not declared."""
        schema = {name: polars_type(spec, name) for name, spec in self.fields.items()}
        resolve = self.endpoint.resolve
        if resolve is not None and resolve[0] not in schema:
            schema[resolve[0]] = pl.String()
        return schema

    @property
    def output_columns(self) -> list[str]:
        """The table's columns as far as the description fixes them (kept extra fields come on top)."""
        return list(self.columns) if self.columns else list(self.record_schema)


class Description(_Model):
    """A whole source: its name (the lake namespace), client, and resources (one table each)."""

    name: str = Field(pattern=NAME)
    description: str = ""
    client: Client
    resources: list[Resource] = Field(min_length=1)
    tags: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, value: Any) -> Any:
        """dlt's ``resource_defaults``: merged into every resource (its ``endpoint`` one level deep)."""
        if not isinstance(value, dict) or "resource_defaults" not in value:
            return value
        value = dict(value)
        defaults = value.pop("resource_defaults") or {}
        if not isinstance(defaults, dict) or not isinstance(value.get("resources"), list):
            return value
        merged = []
        for resource in value["resources"]:
            if isinstance(resource, dict):
                endpoint = resource.get("endpoint", defaults.get("endpoint"))
                if isinstance(defaults.get("endpoint"), dict) and isinstance(endpoint, (dict, str)):
                    own = {"path": endpoint} if isinstance(endpoint, str) else endpoint
                    endpoint = {**defaults["endpoint"], **own}
                resource = {**defaults, **resource, **({"endpoint": endpoint} if endpoint is not None else {})}
            merged.append(resource)
        value["resources"] = merged
        return value

    @model_validator(mode="after")
    def _parents(self) -> Description:
        seen: dict[str, Resource] = {}
        for resource in self.resources:
            if resource.name in seen:
                raise ValueError(f"resource {resource.name!r} is declared twice")
            resolve = resource.endpoint.resolve
            if resolve is not None and resolve[1].resource is not None:
                param, parent = resolve[0], resolve[1]
                if parent.resource not in seen:
                    raise ValueError(
                        f"resource {resource.name!r}: param {param!r} resolves from {parent.resource!r}, "
                        "which is not a resource declared before it"
                    )
                upstream = seen[parent.resource]
                if upstream.extra != "keep" and parent.field not in upstream.output_columns:
                    raise ValueError(
                        f"resource {resource.name!r}: param {param!r}: {parent.resource!r} has no column "
                        f"{parent.field!r} (its columns: {upstream.output_columns})"
                    )
            seen[resource.name] = resource
        return self

    def resource(self, name: str) -> Resource:
        return next(r for r in self.resources if r.name == name)


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """pydantic's errors as ``(field path, problem)`` lines for a ``DescriptionError`` (REST and SQL sources)."""
    return [(_location(e["loc"]), _problem(e)) for e in exc.errors()]


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problem(error: dict[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown field (a typo?)"
    if error["type"] == "missing":
        return "missing (required)"
    if error["type"] in ("literal_error", "string_pattern_mismatch") and "input" in error:
        return f"{message}, got {error['input']!r}"
    return message


def validate_description(raw: Any, file: str | Path) -> Description:
    """``raw`` (parsed YAML) as a ``Description``; a ``DescriptionError`` naming file, fields and problems."""
    if not isinstance(raw, dict):
        raise DescriptionError(file, [("", f"a source description is a mapping, got {type(raw).__name__}")])
    try:
        return Description.model_validate(raw)
    except ValidationError as exc:
        raise DescriptionError(file, validation_problems(exc)) from None
