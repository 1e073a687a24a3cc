"""Which names say "this holds a credential": one vocabulary for every check that refuses or masks a secret.

Two questions, two rules, kept side by side so they are changed together:

* :func:`is_sensitive_name` for a *key* found in a text (a URL's query, ``name=value``, a header): the whole key is
  a credential word (dlt's sensitive keys plus the usual API spellings: ``key``, ``sig``, ``pass``) or ends in one
  (``x_api_key``). Matching inside a key would flag ``passes=3`` or ``keyword=``.
* :func:`names_a_credential` for a flow *parameter's* name, which a person chose to describe its value: a credential
  word anywhere in it (``github_token_value``, ``credentials_json``). The words are the unambiguous ones only: a
  parameter named ``key`` (a table key) or ``pass_count`` is not a secret.
"""

from __future__ import annotations

# keys that carry credentials (dlt's sensitive keys plus the usual API spellings)
SENSITIVE_NAMES = frozenset(
    {
        "key", "apikey", "api_key", "x_api_key", "token", "access_token", "auth_token", "refresh_token", "id_token",
        "private_token", "personal_token", "secret", "client_secret", "password", "passwd", "pwd", "pass",
        "sig", "signature", "auth", "authorization", "credential", "credentials", "session", "sessionid", "jwt",
    }
)  # fmt: skip
SENSITIVE_SUFFIXES = ("_key", "_token", "_secret", "_password")
# words that make a parameter's name a credential's wherever they stand (dlt's SENSITIVE_KEYS plus OSO's usual keys)
CREDENTIAL_WORDS = ("token", "password", "secret", "api_key", "apikey", "private_key", "credential")


def is_sensitive_name(name: str) -> bool:
    """Whether a key in a text (``?api_key=``, ``password:``) names a credential: the whole key, or its suffix."""
    lowered = name.strip().lower().replace("-", "_")
    return lowered in SENSITIVE_NAMES or lowered.endswith(SENSITIVE_SUFFIXES)


def names_a_credential(name: str) -> bool:
    """Whether a parameter's name says it holds a credential: a credential word anywhere in it."""
    lowered = name.lower()
    return any(word in lowered for word in CREDENTIAL_WORDS)
