"""Resumable sweep result store: one SQLite row per design point, keyed by config digest.

The store is an embedded SQLite database in WAL mode. Every finished point is written
by a single ``INSERT ... ON CONFLICT DO UPDATE`` inside its own transaction with
``synchronous=FULL``, so a process killed at any moment (SIGKILL included) loses no
committed row and never leaves half a row. Only the sweep's parent process writes;
readers (reports, a second terminal) may open the same file concurrently.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from codesign.errors import CodesignError

JSON = dict[str, Any]
Status = Literal["done", "failed"]
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    digest      TEXT PRIMARY KEY,
    config      TEXT NOT NULL,
    overrides   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    results     TEXT,
    error       TEXT,
    seconds     REAL NOT NULL,
    until       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 1,
    finished_at TEXT NOT NULL
)
"""
_COLUMNS = (
    "digest, config, overrides, status, results, error, seconds, until, attempts, finished_at"
)


class StoreError(CodesignError):
    """The result store cannot be opened or holds something this version cannot read."""


@dataclass(frozen=True)
class StoreRow:
    """One finished design point (done or failed)."""

    digest: str
    config: JSON
    """The validated config (or, for an invalid point, the mapping that failed validation)."""
    overrides: JSON
    """The swept keys and values that produced this point (dotted keys)."""
    status: Status
    results: JSON | None
    error: str | None
    seconds: float
    until: str | None
    """The last flow step requested (None: the whole flow)."""
    attempts: int
    finished_at: str

    def comparable(self) -> JSON:
        """The row without timing and attempt bookkeeping: equal for equal outcomes."""
        return {
            "digest": self.digest,
            "config": self.config,
            "overrides": self.overrides,
            "status": self.status,
            "results": self.results,
            "error": self.error,
            "until": self.until,
        }


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _flatten(prefix: str, value: Any, out: JSON) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def flatten(data: JSON, prefix: str = "") -> JSON:
    """Nested mappings to dotted keys; lists and scalars are kept as values.

    >>> flatten({"a": {"b": 1, "c": [1, 2]}, "d": None}, "x")
    {'x.a.b': 1, 'x.a.c': [1, 2], 'x.d': None}
    """
    out: JSON = {}
    _flatten(prefix, data, out)
    return out


class SweepStore:
    """The SQLite result store of a sweep. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise StoreError(
                    f"{self.path} has store schema {version}; this codesign reads "
                    f"schema {SCHEMA_VERSION}"
                )
            self._conn.execute(_SCHEMA)
            self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as err:
            raise StoreError(f"cannot open sweep store {self.path}: {err}") from None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _row(rec: tuple[Any, ...]) -> StoreRow:
        digest, config, overrides, status, results, error, seconds, until, attempts, fin = rec
        return StoreRow(
            digest=digest,
            config=json.loads(config),
            overrides=json.loads(overrides),
            status=status,
            results=json.loads(results) if results is not None else None,
            error=error,
            seconds=float(seconds),
            until=until,
            attempts=int(attempts),
            finished_at=fin,
        )

    def get(self, digest: str) -> StoreRow | None:
        """The row of one point, or None if it never finished."""
        rec = self._conn.execute(
            f"SELECT {_COLUMNS} FROM points WHERE digest = ?", (digest,)
        ).fetchone()
        return self._row(rec) if rec else None

    def put(
        self,
        digest: str,
        *,
        config: JSON,
        status: Status,
        overrides: JSON | None = None,
        results: JSON | None = None,
        error: str | None = None,
        seconds: float = 0.0,
        until: str | None = None,
    ) -> StoreRow:
        """Insert or replace the row of one point in a single transaction; return it."""
        if status not in ("done", "failed"):
            raise StoreError(f"row status must be 'done' or 'failed', got {status!r}")
        finished_at = datetime.now(UTC).isoformat(timespec="seconds")
        params = (
            digest,
            _dumps(config),
            _dumps(overrides or {}),
            status,
            _dumps(results) if results is not None else None,
            error,
            round(float(seconds), 3),
            until,
            finished_at,
        )
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute(
                "INSERT INTO points (digest, config, overrides, status, results, error, "
                "seconds, until, attempts, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?) "
                "ON CONFLICT(digest) DO UPDATE SET config=excluded.config, "
                "overrides=excluded.overrides, status=excluded.status, "
                "results=excluded.results, error=excluded.error, seconds=excluded.seconds, "
                "until=excluded.until, attempts=points.attempts + 1, "
                "finished_at=excluded.finished_at",
                params,
            )
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        row = self.get(digest)
        assert row is not None
        return row

    def __iter__(self) -> Iterator[StoreRow]:
        return iter(self.rows())

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM points").fetchone()[0])

    def rows(self, status: Status | None = None) -> list[StoreRow]:
        """All rows (optionally of one status), in the order their points finished."""
        sql = f"SELECT {_COLUMNS} FROM points"
        args: tuple[str, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        sql += " ORDER BY finished_at, rowid"
        return [self._row(r) for r in self._conn.execute(sql, args).fetchall()]

    def to_records(self) -> list[JSON]:
        """One flat dict per row for tables and figures.

        Keys: ``digest``, ``status``, ``error``, ``seconds``, ``finished_at``, ``until``,
        the config as ``config.<dotted key>`` and the flow results as their own dotted
        keys (``accuracy.quantized``, ``layers`` ...; lists stay lists).
        """
        records = []
        for row in self.rows():
            rec: JSON = {
                "digest": row.digest,
                "status": row.status,
                "error": row.error,
                "seconds": row.seconds,
                "finished_at": row.finished_at,
                "until": row.until,
            }
            rec.update(flatten(row.config, "config"))
            results = {
                k: v for k, v in (row.results or {}).items() if k not in ("config", "digest")
            }
            for key, value in flatten(results).items():
                rec.setdefault(key, value)
            records.append(rec)
        return records
