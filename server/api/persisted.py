"""Persisted operations: the example operations in graphql/operations/, known by their SHA-256.

Clients may send, Apollo "automatic persisted queries" style, only the hash of an operation's
text instead of the text itself::

    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}, "variables": {...}}

(or, with GET, the same ``extensions`` as a JSON query parameter). The hash is of the file's text
exactly as served at ``/api/operations/<Name>.graphql``. Unlike Apollo's, our store is read-only:
it is loaded once at start-up from the files, and clients cannot register new operations, so an
unknown hash is answered ``PERSISTED_QUERY_NOT_FOUND`` and sending text with a hash only checks
that they agree.

In allow-list mode (``GRAPHQL_ALLOWLIST_ONLY=true``) nothing else is accepted: a request must name
a known hash, or send text identical to a known operation; anything else is refused with
``OPERATION_NOT_ALLOWED``.

This module knows nothing of HTTP or of Moot's app: ``resolve`` takes a query and the request's
``extensions`` and returns the text to run, or raises ``PersistedError``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APQ_VERSION = 1


class PersistedError(Exception):
    """A request the store refuses; ``code`` is the GraphQL ``extensions.code``."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    text: str
    sha256: str


@dataclass(frozen=True, slots=True)
class OperationStore:
    by_hash: Mapping[str, Operation]

    @classmethod
    def load(cls, directory: Path) -> OperationStore:
        """Every ``*.graphql`` file in ``directory``, keyed by the SHA-256 of its text."""
        operations = {}
        for path in sorted(directory.glob("*.graphql")):
            text = path.read_text(encoding="utf-8")
            operation = Operation(name=path.stem, text=text, sha256=sha256(text))
            operations[operation.sha256] = operation
        return cls(by_hash=operations)

    @property
    def operations(self) -> list[Operation]:
        return sorted(self.by_hash.values(), key=lambda o: o.name)

    def by_name(self, name: str) -> Operation | None:
        return next((o for o in self.by_hash.values() if o.name == name), None)

    def resolve(
        self, query: str | None, extensions: Mapping[str, Any] | None, *, allowlist_only: bool
    ) -> str | None:
        """The operation text to execute, from the request's ``query`` and ``extensions``."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is not None:
            digest = _requested_hash(persisted)
            known = self.by_hash.get(digest)
            if query is not None:
                if sha256(query) != digest:
                    raise PersistedError(
                        "The query's text does not match its persistedQuery.sha256Hash.",
                        "PERSISTED_QUERY_HASH_MISMATCH",
                    )
                if known is None and allowlist_only:
                    raise _not_allowed()
                return query
            if known is None:
                # Apollo clients recognise this exact message and resend with the text.
                raise PersistedError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
            return known.text
        if allowlist_only and (query is None or sha256(query) not in self.by_hash):
            raise _not_allowed()
        return query


def _requested_hash(persisted: Any) -> str:
    if not isinstance(persisted, Mapping):
        raise PersistedError("extensions.persistedQuery must be an object.", "BAD_REQUEST")
    if persisted.get("version") != APQ_VERSION:
        raise PersistedError(
            "Only version 1 of persisted queries is supported.",
            "PERSISTED_QUERY_VERSION_NOT_SUPPORTED",
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or len(digest) != 64:
        raise PersistedError(
            "extensions.persistedQuery.sha256Hash must be a hex SHA-256.", "BAD_REQUEST"
        )
    return digest.lower()


def _not_allowed() -> PersistedError:
    return PersistedError(
        "This server only runs its published operations (see /api): send the SHA-256 of one as "
        "extensions.persistedQuery.sha256Hash, or its exact text.",
        "OPERATION_NOT_ALLOWED",
    )
