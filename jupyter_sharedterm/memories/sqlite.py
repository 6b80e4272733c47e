"""The embedded memory store: one SQLite database with full-text search, private to the server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Final, TypeVar

from ..core.errors import DomainError, ErrorCode
from ..core.ids import new_id
from ..folders import UnsafeFolderError, ensure_private_folder
from .model import Memory, MemoryId, MemorySource, NewMemory, is_valid_memory_id
from .store import MAX_RESULTS, MemoryStore

__all__ = ["DB_NAME", "MAX_QUERY_PHRASES", "MemoryStoreError", "SqliteMemoryStore", "fts_query"]

log = logging.getLogger(__name__)

DB_NAME: Final = "memories.sqlite3"
SCHEMA_VERSION: Final = 1
MAX_QUERY_PHRASES: Final = 16
# How long one write waits for another process's write to finish before giving up (seconds).
# Writes take milliseconds; this only matters when several servers share one database.
BUSY_TIMEOUT_SECONDS: Final = 30.0
_FILE_MODE: Final = 0o600
# O_NONBLOCK: a FIFO planted in the folder fails to open instead of hanging the server.
_CREATE_FLAGS: Final = os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_WORD: Final = re.compile(r"[^\W_]+")  # letters and digits: what the unicode61 tokenizer keeps
_NOT_FOUND: Final = "No such memory."
_COLUMNS: Final = "m.id, m.text, m.target, m.recording, m.time, m.author, m.created"

_SCHEMA: Final = f"""
CREATE TABLE memories (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    target TEXT COLLATE NOCASE,
    recording TEXT,
    time REAL,
    author TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX memories_by_target ON memories(target);
CREATE INDEX memories_by_author ON memories(author);
CREATE VIRTUAL TABLE memories_text USING fts5(
    text, content='memories', content_rowid='seq', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER memories_indexed AFTER INSERT ON memories BEGIN
    INSERT INTO memories_text(rowid, text) VALUES (new.seq, new.text);
END;
CREATE TRIGGER memories_unindexed AFTER DELETE ON memories BEGIN
    INSERT INTO memories_text(memories_text, rowid, text) VALUES ('delete', old.seq, old.text);
END;
PRAGMA user_version = {SCHEMA_VERSION};
"""

T = TypeVar("T")


class MemoryStoreError(Exception):
    """The database cannot be used safely or at all; the message says what to change."""


def fts_query(text: str) -> str | None:
    """An FTS5 query that finds `text` as plain words, whatever it contains.

    Each whitespace-separated piece becomes a quoted phrase of its letters and digits, the
    last of them a prefix ("10.0.0.1" -> `"10 0 0 1"*`), so quotes, AND/OR/NOT/NEAR, column
    filters, `^`, `*` and brackets never reach FTS5 as syntax. None if nothing is left to find.
    """
    phrases = []
    for piece in text.split():
        words = _WORD.findall(piece)
        if words:
            phrases.append('"' + " ".join(words) + '"*')
    return " ".join(phrases[:MAX_QUERY_PHRASES]) or None


class SqliteMemoryStore(MemoryStore):
    """Memories in `folder`/memories.sqlite3: folder 0700, database files 0600.

    Safe for several writers, threads or processes (two servers sharing a data directory):
    writes are `BEGIN IMMEDIATE` transactions, so the per-author count and the insert it
    allows are one step, and a writer waits for another instead of failing. Calls run in a
    worker thread; the event loop never waits on the disk or on another writer.

    Args:
        folder: created if needed; refused if it is a symlink or belongs to another user.
        max_per_author: how many memories one person may keep.
        busy_timeout: how long a write waits for another writer (seconds).

    Raises:
        MemoryStoreError: the folder or database is unsafe, unreadable, or from a newer version.
    """

    def __init__(
        self,
        folder: Path,
        *,
        max_per_author: int,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self.folder = _private_folder(Path(folder))
        self.path = self.folder / DB_NAME
        self.max_per_author = max_per_author
        _create_private_file(self.path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        try:
            self._db = sqlite3.connect(
                self.path,
                timeout=busy_timeout,
                isolation_level=None,  # transactions are explicit
                check_same_thread=False,  # used from worker threads, one at a time (the lock)
            )
            self._db.execute("PRAGMA journal_mode = WAL")  # readers never wait for a writer
            self._db.execute("PRAGMA synchronous = FULL")  # a saved memory survives power loss
            self._migrate(self._db)
        except sqlite3.Error as e:
            self.close()
            raise MemoryStoreError(f"cannot use the memory database {self.path}: {e}") from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- MemoryStore ---------------------------------------------------------------------------

    async def add(self, memory: NewMemory, *, author: str) -> Memory:
        return await self._run(lambda db: self._add(db, memory, author))

    async def search(
        self, *, text: str | None = None, targets: Sequence[str] = (), limit: int = MAX_RESULTS
    ) -> list[Memory]:
        match = None
        if text is not None:
            match = fts_query(text)
            if match is None:
                return []  # only punctuation: no word to find
        targets = tuple(targets)
        return await self._run(lambda db: self._search(db, match, targets, limit))

    async def get(self, mid: str) -> Memory:
        if not is_valid_memory_id(mid):
            raise DomainError(ErrorCode.NOT_FOUND, _NOT_FOUND)
        found = await self._run(lambda db: self._get(db, mid))
        if found is None:
            raise DomainError(ErrorCode.NOT_FOUND, _NOT_FOUND)
        return found

    async def delete(self, mid: str, *, author: str) -> None:
        if not is_valid_memory_id(mid):
            raise DomainError(ErrorCode.NOT_FOUND, _NOT_FOUND)
        await self._run(lambda db: self._delete(db, mid, author))

    # -- in the worker thread ------------------------------------------------------------------

    async def _run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                if self._db is None:
                    raise DomainError(ErrorCode.UNAVAILABLE, "The memory store is closed.")
                try:
                    return call(self._db)
                except sqlite3.Error as e:  # locked too long, disk full, damaged file
                    log.warning("sharedterm: memory store %s failed", self.path, exc_info=True)
                    raise DomainError(
                        ErrorCode.UNAVAILABLE,
                        f"Memories cannot be used right now ({e}); try again later.",
                    ) from None

        return await asyncio.to_thread(locked)

    def _add(self, db: sqlite3.Connection, memory: NewMemory, author: str) -> Memory:
        saved = Memory(
            id=MemoryId(new_id()),
            text=memory.text,
            target=memory.target,
            source=memory.source,
            author=author,
            created=time.time(),
        )
        with _immediate(db):
            (count,) = db.execute(
                "SELECT count(*) FROM memories WHERE author = ?", (author,)
            ).fetchone()
            if count >= self.max_per_author:
                raise DomainError(
                    ErrorCode.TOO_MANY,
                    f"You have {count} memories, the most one person may keep here: "
                    "delete some you no longer need first.",
                )
            source = saved.source
            db.execute(
                "INSERT INTO memories (id, text, target, recording, time, author, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    saved.id,
                    saved.text,
                    saved.target,
                    None if source is None else source.recording,
                    None if source is None else source.time,
                    saved.author,
                    saved.created,
                ),
            )
        return saved

    def _search(
        self,
        db: sqlite3.Connection,
        match: str | None,
        targets: tuple[str, ...],
        limit: int,
    ) -> list[Memory]:
        where, params, order = [], [], "m.seq DESC"
        source = "memories m"
        if match is not None:
            source = "memories_text JOIN memories m ON m.seq = memories_text.rowid"
            where.append("memories_text MATCH ?")
            params.append(match)
            order = "memories_text.rank, m.seq DESC"
        if targets:
            # The column's NOCASE collation applies: host names are case-insensitive.
            where.append(f"m.target IN ({', '.join('?' * len(targets))})")
            params.extend(targets)
        sql = f"SELECT {_COLUMNS} FROM {source}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {order} LIMIT ?"
        return [_memory(row) for row in db.execute(sql, (*params, limit))]

    def _get(self, db: sqlite3.Connection, mid: str) -> Memory | None:
        row = db.execute(f"SELECT {_COLUMNS} FROM memories m WHERE m.id = ?", (mid,)).fetchone()
        return None if row is None else _memory(row)

    def _delete(self, db: sqlite3.Connection, mid: str, author: str) -> None:
        with _immediate(db):
            row = db.execute("SELECT author FROM memories WHERE id = ?", (mid,)).fetchone()
            if row is None:
                raise DomainError(ErrorCode.NOT_FOUND, _NOT_FOUND)
            if row[0] != author:
                raise DomainError(
                    ErrorCode.FORBIDDEN, "Only the person who saved a memory may delete it."
                )
            db.execute("DELETE FROM memories WHERE id = ?", (mid,))

    def _migrate(self, db: sqlite3.Connection) -> None:
        with _immediate(db):
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version == 0:
                for statement in _statements(_SCHEMA):
                    db.execute(statement)
            elif version != SCHEMA_VERSION:
                raise MemoryStoreError(
                    f"{self.path} has memories in format {version}, which this version of "
                    f"jupyter_sharedterm does not know (it uses {SCHEMA_VERSION}): upgrade it, "
                    "or point SharedTermApp.memories_dir elsewhere."
                )
        # Journal files get the database's mode from SQLite; tighten any an old umask left.
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{self.path}{suffix}", _FILE_MODE, follow_symlinks=False)


@contextlib.contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """A write transaction taken at once (other writers wait), rolled back on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # a failed COMMIT leaves it open: never carry it into the next
            db.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    # executescript() would commit our transaction first; split on statement ends instead.
    statements, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current)
            current = ""
    return statements


def _memory(row: tuple[object, ...]) -> Memory:
    mid, text, target, recording, at, author, created = row
    source = (
        MemorySource(str(recording), float(at))  # type: ignore[arg-type]
        if recording is not None and at is not None
        else None
    )
    return Memory(
        id=MemoryId(str(mid)),
        text=str(text),
        target=None if target is None else str(target),
        source=source,
        author=str(author),
        created=float(created),  # type: ignore[arg-type]
    )


def _private_folder(folder: Path) -> Path:
    try:
        ensure_private_folder(folder, "memory folder")
    except UnsafeFolderError as e:
        raise MemoryStoreError(f"{e} (SharedTermApp.memories_dir chooses another)") from None
    return folder


def _create_private_file(path: Path) -> None:
    """Create the database file 0600 whatever the umask (SQLite would make it 0644)."""
    try:
        fd = os.open(path, _CREATE_FLAGS, _FILE_MODE)
    except OSError as e:  # ELOOP for a symlink, ENXIO for a FIFO, EACCES...
        raise MemoryStoreError(f"cannot open the memory database {path}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            raise MemoryStoreError(f"{path} is not a plain file owned by this server; refusing it")
        os.fchmod(fd, _FILE_MODE)
    finally:
        os.close(fd)
