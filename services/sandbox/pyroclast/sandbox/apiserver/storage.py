"""SQLite persistence (WAL): objects, the global resourceVersion and a bounded event log.

All writes go through one writer thread that commits in batches (group commit), so the event
loop never blocks on disk and many concurrent writes share one fsync.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger("pyroclast.sandbox.apiserver.storage")

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    resource TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    rv INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (resource, namespace, name)
);
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    resource TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class WriteOp:
    """One change: ADDED/MODIFIED upsert the object, DELETED removes it; each is also logged."""

    rv: int
    type: str
    resource: str
    namespace: str
    name: str
    body: bytes


@dataclass(frozen=True)
class LoadedState:
    objects: list[tuple[str, str, str, bytes]]
    events: list[WriteOp]
    rv: int
    compacted_rv: int


_STOP = object()


class Storage:
    """The SQLite file plus its single writer thread."""

    def __init__(self, path: Path, event_log_size: int = 20000, batch_size: int = 2000) -> None:
        self.path = path
        self.event_log_size = event_log_size
        self.batch_size = batch_size
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.compacted_rv = 0

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        return conn

    async def open(self) -> LoadedState:
        """Load everything and start the writer thread."""
        self._loop = asyncio.get_running_loop()
        state = await asyncio.to_thread(self._load)
        self.compacted_rv = state.compacted_rv
        self._thread = threading.Thread(target=self._run, name="apiserver-sqlite-writer", daemon=True)
        self._thread.start()
        return state

    def _load(self) -> LoadedState:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            objects = [
                (r, ns, n, bytes(b))
                for r, ns, n, b in conn.execute("SELECT resource, namespace, name, body FROM objects")
            ]
            events = [
                WriteOp(rv, t, r, ns, n, bytes(b))
                for rv, t, r, ns, n, b in conn.execute(
                    "SELECT rv, type, resource, namespace, name, body FROM events ORDER BY rv"
                )
            ]
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            max_obj = conn.execute("SELECT COALESCE(MAX(rv), 0) FROM objects").fetchone()[0]
            rv = max(int(meta.get("rv", 0)), int(max_obj), events[-1].rv if events else 0)
            return LoadedState(objects, events, rv, int(meta.get("compacted_rv", 0)))
        finally:
            conn.close()

    async def write(self, op: WriteOp) -> None:
        """Queue one change and wait until it is committed."""
        assert self._loop is not None, "storage not open"
        fut: asyncio.Future[None] = self._loop.create_future()
        self._queue.put((op, fut))
        await fut

    def _run(self) -> None:
        conn = self._connect()
        commits = 0
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                batch = [first]
                stop = False
                while len(batch) < self.batch_size:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    batch.append(item)
                error: Exception | None = None
                try:
                    self._commit(conn, [item[0] for item in batch])  # type: ignore[index]
                    commits += 1
                    if commits % 50 == 0:
                        self._compact(conn)
                except Exception as exc:  # disk full, corruption: report to every waiter
                    log.error("sqlite commit failed", error=str(exc))
                    error = exc
                futures = [item[1] for item in batch]  # type: ignore[index]
                if self._loop is not None and not self._loop.is_closed():
                    self._loop.call_soon_threadsafe(_resolve, futures, error)
                if stop:
                    return
        finally:
            try:
                self._compact(conn)
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            conn.close()

    def _commit(self, conn: sqlite3.Connection, ops: list[WriteOp]) -> None:
        upserts = [(o.resource, o.namespace, o.name, o.rv, o.body) for o in ops if o.type != "DELETED"]
        deletes = [(o.resource, o.namespace, o.name) for o in ops if o.type == "DELETED"]
        conn.execute("BEGIN")
        try:
            # Apply in order: an object created then deleted in one batch must end up deleted.
            if deletes and upserts:
                for o in ops:
                    if o.type == "DELETED":
                        conn.execute(
                            "DELETE FROM objects WHERE resource=? AND namespace=? AND name=?",
                            (o.resource, o.namespace, o.name),
                        )
                    else:
                        conn.execute(
                            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)",
                            (o.resource, o.namespace, o.name, o.rv, o.body),
                        )
            elif upserts:
                conn.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)", upserts)
            elif deletes:
                conn.executemany("DELETE FROM objects WHERE resource=? AND namespace=? AND name=?", deletes)
            conn.executemany(
                "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?)",
                [(o.rv, o.type, o.resource, o.namespace, o.name, o.body) for o in ops],
            )
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (max(o.rv for o in ops),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _compact(self, conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT MAX(rv) FROM events").fetchone()
        if not row or row[0] is None:
            return
        cutoff = int(row[0]) - self.event_log_size
        if cutoff <= self.compacted_rv:
            return
        conn.execute("BEGIN")
        conn.execute("DELETE FROM events WHERE rv <= ?", (cutoff,))
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('compacted_rv', ?)", (cutoff,))
        conn.execute("COMMIT")
        self.compacted_rv = cutoff

    async def close(self) -> None:
        """Flush every queued write and stop the writer thread."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join, 30)
        self._thread = None


def _resolve(futures: list[asyncio.Future[None]], error: Exception | None) -> None:
    for fut in futures:
        if fut.done():
            continue
        if error is None:
            fut.set_result(None)
        else:
            fut.set_exception(error)
