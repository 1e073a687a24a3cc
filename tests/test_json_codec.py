"""The JSON codec gives exactly the standard library's results (``oso_core/transport/json_codec.py``).

Decoding: the same documents accepted, into the same values (types included), and the same refusals, for documents
orjson reads differently or not at all (NaN, integers beyond 64 bits, lone surrogates, a BOM). Encoding: the same
text as ``json.dumps(..., sort_keys=True)`` in both forms the lake stores, for generated nested values.
"""

from __future__ import annotations

import json
import random
import struct

import pytest

from oso_core.transport.json_codec import dumps_compact, dumps_sorted, loads

EDGE_DOCUMENTS = [
    '{"a": NaN, "b": Infinity, "c": -Infinity}',
    "[1e400, -1e400, 1e-400]",
    '{"a": 1, "a": 2}',
    '"\\ud800"',
    '{"x": "\\ud83d\\ude00 \\u0000 \\u2028"}',
    "123456789012345678901234567890",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "-9223372036854775809",
    '{"wei": 123456789012345678901, "id": "1234567890123456789012"}',
    "-0",
    "-0.0",
    "1.0",
    "1E5",
    "123456789012345678.5",
    '{"b": 1, "a": [1, 2, {"c": null, "d": true, "e": false}]}',
    "[]",
    '""',
]


def same(left: object, right: object) -> bool:
    """Equal values of the same types all the way down (1 == 1.0 and -0.0 == 0.0 are not the same here)."""
    return repr(left) == repr(right) and json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


@pytest.mark.parametrize("document", EDGE_DOCUMENTS)
def test_edge_documents_decode_as_json_loads_decodes_them(document: str) -> None:
    expected = json.loads(document)
    assert same(loads(document.encode()), expected)
    assert same(loads(document), expected)
    assert same(loads(memoryview(document.encode())), expected)


def test_a_bom_on_bytes_is_read_as_json_loads_reads_it() -> None:
    body = b'\xef\xbb\xbf{"a": 1}'
    assert loads(body) == json.loads(body) == {"a": 1}


def test_random_numbers_decode_to_the_same_values() -> None:
    rng = random.Random(20261205)
    for _ in range(20_000):
        bits = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        texts = [
            str(rng.randint(-(2**63), 2**64 - 1)),
            str(rng.randint(-(10**30), 10**30)),
            f"{rng.random() * 10 ** rng.randint(-10, 17):.12f}",
        ]
        if bits == bits and abs(bits) != float("inf"):
            texts += [repr(bits), f"{bits:.17g}", f"{bits:.5e}"]
        for text in texts:
            assert same(loads(text.encode()), json.loads(text)), text


@pytest.mark.parametrize("document", ["{", "", "nul", "[1,]", '{"a": 1,}', "{'a': 1}", '{"a" 1}'])
def test_what_json_refuses_is_refused_with_its_message(document: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(document)
    with pytest.raises(json.JSONDecodeError) as got:
        loads(document.encode())
    assert str(got.value) == str(expected.value)


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(ValueError):
        loads(b'{"a": "\xff"}')


def nested(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randint(0, 7 if depth < 3 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([rng.random() * 10 ** rng.randint(-5, 20), -0.0, float("nan"), float("inf")])
    if kind == 2:
        return rng.randint(-(10**25), 10**25)
    if kind == 3:
        return "".join(
            rng.choice(["a", "é", "\u2028", '"', "\\", "\x00", "😀", "\n", "z"]) for _ in range(rng.randint(0, 6))
        )
    if kind == 4:
        return rng.random() < 0.5
    if kind in (5, 6):
        return {
            rng.choice(["b", "a", "é", "A", "_", "10", "9"]) + str(i): nested(rng, depth + 1)
            for i in range(rng.randint(0, 5))
        }
    return [nested(rng, depth + 1) for _ in range(rng.randint(0, 5))]


def test_nested_values_encode_to_json_dumps_text_in_both_stored_forms() -> None:
    rng = random.Random(5)
    for _ in range(20_000):
        value = nested(rng)
        assert dumps_sorted(value) == json.dumps(value, sort_keys=True)
        assert dumps_compact(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_a_value_json_cannot_encode_is_refused_as_json_refuses_it() -> None:
    for dumps in (dumps_sorted, dumps_compact):
        with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
            dumps({"a": object()})
