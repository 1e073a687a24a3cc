"""JSON in and out at native speed, with exactly the results of the standard library's ``json``.

Every Python-side decode of a response (GraphQL pages, coded REST sources through ``HttpClient.get_json``, the slow
path of ``FrameDecoder``) and every nested value stored as JSON text goes through here:

* :func:`loads` parses with orjson (Rust; 2-3× ``json.loads`` on API pages) and, where orjson refuses what
  ``json.loads`` takes (``NaN``/``Infinity``, lone surrogate escapes, a UTF-8 BOM on bytes), parses with
  ``json.loads``: the same documents are accepted, into the same values, and what neither reads raises ``json``'s
  ``JSONDecodeError`` (a ``ValueError``) with its message. orjson reads an integer beyond 64 bits as a float
  instead of refusing it, so a document with a run of 19 digits anywhere (such an integer, or a string that looks
  like one) is read by ``json.loads`` from the start.
* :func:`dumps_sorted` and :func:`dumps_compact` are ``json.dumps(value, sort_keys=True)`` and its compact,
  non-ASCII form, text for text (the forms the lake's JSON columns have always stored, so a merge of a re-fetched
  row sees no change), without building a ``JSONEncoder`` and its C encoder again for every value, which was most
  of the cost of a GraphQL page with nested objects.
"""

from __future__ import annotations

import json
from json import encoder as _encoder
from typing import Any

import orjson

# orjson reads integers from -2**63 to 2**64 - 1 as ints; the first beyond either end has 19 digits. Every digit
# mapped to "0" (one C pass, ~40× faster than a regular expression) then a substring search finds such a run.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19


def _has_long_digit_run(body: bytes) -> bool:
    return body.translate(_DIGITS_AS_ZERO).find(_LONG_RUN) != -1


def loads(body: bytes | bytearray | memoryview | str) -> Any:
    """The JSON document in ``body``, as ``json.loads(body)`` would return it."""
    if isinstance(body, memoryview):
        body = body.tobytes()
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if not _has_long_digit_run(raw):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)


def _not_serializable(value: object) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _sorted_encoder(item_separator: str, key_separator: str, ensure_ascii: bool) -> Any:
    """``json.dumps(..., sort_keys=True)`` with these options as one C encoder, built once (``None`` without json's
    C accelerator). No circular-reference markers: decoded JSON is never circular."""
    if _encoder.c_make_encoder is None:
        return None
    strings = _encoder.encode_basestring_ascii if ensure_ascii else _encoder.encode_basestring
    return _encoder.c_make_encoder(
        None, _not_serializable, strings, None, key_separator, item_separator, True, False, True
    )


_SORTED = _sorted_encoder(", ", ": ", ensure_ascii=True)
_COMPACT = _sorted_encoder(",", ":", ensure_ascii=False)


def dumps_sorted(value: Any) -> str:
    """``json.dumps(value, sort_keys=True)``: how GraphQL sources store nested values."""
    if _SORTED is None:
        return json.dumps(value, sort_keys=True)
    return "".join(_SORTED(value, 0))


def dumps_compact(value: Any) -> str:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``: how REST records store
    nested values (``oso_core.transport.records.json_text``)."""
    if _COMPACT is None:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "".join(_COMPACT(value, 0))
