"""Memories: request checks, and the SQLite store on a real file system (search, escaping,
limits, concurrent writers, modes)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_sharedterm.core.errors import DomainError, ErrorCode
from jupyter_sharedterm.memories.model import (
    MemorySource,
    NewMemory,
    parse_new_memory,
    parse_query,
)
from jupyter_sharedterm.memories.sqlite import (
    DB_NAME,
    MAX_QUERY_PHRASES,
    MemoryStoreError,
    SqliteMemoryStore,
    fts_query,
)

RID = "R" * 32


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteMemoryStore]:
    with_store = SqliteMemoryStore(tmp_path / "memories", max_per_author=50)
    yield with_store
    with_store.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def texts(found: list[Any]) -> list[str]:
    return [m.text for m in found]


# --- request checks -------------------------------------------------------------------------


def test_a_valid_request_is_kept_and_cleaned() -> None:
    new = parse_new_memory(
        {
            "text": "  R1's uplink\r\nflaps\u202e when warm\x1b[31m \u200b\t ",
            "target": "R1",
            "source": {"recording": RID, "time": 12},
        },
        max_text_chars=100,
    )
    # Line ends become \n; bidi overrides, zero-width and escape characters are dropped.
    assert new == NewMemory("R1's uplink\nflaps when warm[31m", "R1", MemorySource(RID, 12.0))
    assert parse_new_memory({"text": "x"}, max_text_chars=1) == NewMemory("x")
    assert parse_new_memory({"text": "x", "target": None, "source": None}, max_text_chars=1)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, '"text" must be'),
        ({"text": 3}, '"text" must be'),
        ({"text": " \n\u200b "}, "must not be empty"),
        ({"text": "x" * 11}, "at most 10"),
        ({"text": "\ud800"}, '"text" must be'),
        ({"text": "x", "author": "mallory"}, "Unknown field 'author'"),
        ({"text": "x", "created": 0}, "Unknown field 'created'"),
        ({"text": "x", "target": ""}, '"target" must be a host name'),
        ({"text": "x", "target": "a b"}, '"target" must be a host name'),
        ({"text": "x", "target": "root@r1"}, '"target" must be a host name'),
        ({"text": "x", "target": "../etc"}, '"target" must be a host name'),
        ({"text": "x", "target": "h" * 254}, '"target" must be a host name'),
        ({"text": "x", "target": ["r1"]}, '"target" must be a host name'),
        ({"text": "x", "source": "rec"}, '"source" must be'),
        ({"text": "x", "source": {"recording": RID}}, '"source" must be'),
        ({"text": "x", "source": {"recording": RID, "time": 1, "x": 1}}, '"source" must be'),
        ({"text": "x", "source": {"recording": "../x", "time": 1}}, '"source.recording"'),
        ({"text": "x", "source": {"recording": RID, "time": -1}}, '"source.time"'),
        ({"text": "x", "source": {"recording": RID, "time": True}}, '"source.time"'),
        ({"text": "x", "source": {"recording": RID, "time": float("nan")}}, '"source.time"'),
        ({"text": "x", "source": {"recording": RID, "time": float("inf")}}, '"source.time"'),
        ({"text": "x", "source": {"recording": RID, "time": "3"}}, '"source.time"'),
    ],
)
def test_bad_requests_say_which_field_and_how(body: dict[str, Any], says: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_new_memory(body, max_text_chars=10)
    assert refused.value.code is ErrorCode.INVALID
    assert says in refused.value.message


def test_queries_are_checked() -> None:
    assert parse_query(None, None).text is None
    assert parse_query("  ", "r1").text is None  # blank: no text filter
    assert parse_query(' "NEAR( ', "10.0.0.1").text == '"NEAR('
    for text, target in (("x" * 501, None), ("\udc00", None), (None, "no such host"), (None, "")):
        with pytest.raises(DomainError) as refused:
            parse_query(text, target)
        assert refused.value.code is ErrorCode.INVALID


# --- search ---------------------------------------------------------------------------------


def test_full_text_and_target_search(store: SqliteMemoryStore) -> None:
    async def scenario() -> None:
        warm = await store.add(
            NewMemory("R1's uplink flaps when the optic is warm; replaced 2026-12-01", "R1"),
            author="alice",
        )
        await store.add(
            NewMemory("Core switch at 10.0.0.1: the café VLAN is 42", "10.0.0.1"), author="bob"
        )
        await store.add(NewMemory("Backups of r1 run at 02:00", "r1"), author="bob")
        await store.add(NewMemory("Nothing about any host in particular"), author="carol")

        assert texts(await store.search(text="uplink")) == [warm.text]
        assert texts(await store.search(text="UPL")) == [warm.text]  # a word's beginning
        assert texts(await store.search(text="optic warm")) == [warm.text]  # every word
        assert await store.search(text="optic cold") == []
        assert len(await store.search(text="cafe vlan")) == 1  # diacritics folded
        assert len(await store.search(text="10.0.0.1")) == 1
        # Targets match case-insensitively (host names are); newest first without text.
        assert texts(await store.search(targets=["r1"])) == [
            "Backups of r1 run at 02:00",
            warm.text,
        ]
        assert texts(await store.search(text="backups", targets=["R1", "10.0.0.1"])) == [
            "Backups of r1 run at 02:00"
        ]
        assert len(await store.search()) == 4
        assert len(await store.search(limit=2)) == 2
        assert await store.get(warm.id) == warm

    run(scenario())


# Query input that is FTS5 syntax, or breaks it, and whether it finds MEMO as plain words.
MEMO = "uplink NEAR the optic (warm) AND text: rank"
HOSTILE = [
    ('"', False),
    ('"""', False),
    ("(", False),
    (")", False),
    ("((uplink", True),
    ("uplink)", True),
    ("uplink NEAR(the optic)", True),  # "uplink", then "near the", then "optic"
    ("NEAR(uplink optic)", False),  # "near uplink": MEMO has them the other way round
    ("NEAR(optic warm, 2)", False),  # "near optic" neither
    ("NEAR", True),
    ("uplink AND", True),
    ("OR uplink", False),  # "or" is just a word, and MEMO has none
    ("NOT", False),
    ("uplink NOT optic", False),
    ("text:uplink", False),  # a column filter would find it; the phrase "text uplink" not
    ("text:rank", True),
    ("memories_text:x", False),
    ("{text}: uplink", True),
    ("^uplink", True),
    ("uplink*", True),
    ("*", False),
    ("-uplink", True),
    ("+", False),
    ("'; DROP TABLE memories; --", False),
    ("\x00", False),
    ("\\", False),
    ("_", False),
    ("rank", True),
    ("warm)", True),
]


@pytest.mark.parametrize(("query", "finds"), HOSTILE)
def test_query_syntax_is_plain_text(store: SqliteMemoryStore, query: str, finds: bool) -> None:
    async def scenario() -> list[str]:
        await store.add(NewMemory(MEMO), author="a")
        return texts(await store.search(text=query))

    assert run(scenario()) == ([MEMO] if finds else [])


def test_queries_become_quoted_phrases_of_words() -> None:
    assert fts_query('10.0.0.1 "x" NEAR( ) ge-0/0/1') == '"10 0 0 1"* "x"* "NEAR"* "ge 0 0 1"*'
    assert fts_query(" ".join(["w"] * 40)) == " ".join(['"w"*'] * MAX_QUERY_PHRASES)
    assert fts_query("( ) * ^ :") is None


def test_text_that_looks_like_sql_is_stored_and_found_verbatim(store: SqliteMemoryStore) -> None:
    text = '\'); DROP TABLE memories; -- "quoted" NEAR(x)'

    async def scenario() -> None:
        saved = await store.add(NewMemory(text, "r1"), author="o'brien")
        assert texts(await store.search(text="DROP TABLE")) == [text]
        assert (await store.get(saved.id)).author == "o'brien"

    run(scenario())
    assert run(store.search()) != []  # the table is still there


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=80))
def test_no_query_text_makes_the_search_fail(store: SqliteMemoryStore, query: str) -> None:
    run(store.search(text=query))  # raises nothing, whatever the text


def test_deleted_memories_leave_the_index(store: SqliteMemoryStore) -> None:
    async def scenario() -> None:
        saved = await store.add(NewMemory("transient finding"), author="alice")
        await store.delete(saved.id, author="alice")
        assert await store.search(text="transient") == []
        with pytest.raises(DomainError) as gone:
            await store.get(saved.id)
        assert gone.value.code is ErrorCode.NOT_FOUND

    run(scenario())


# --- who deletes, limits --------------------------------------------------------------------


def test_only_the_author_deletes(store: SqliteMemoryStore) -> None:
    async def scenario() -> None:
        saved = await store.add(NewMemory("alice's finding"), author="alice")
        with pytest.raises(DomainError) as refused:
            await store.delete(saved.id, author="bob")
        assert refused.value.code is ErrorCode.FORBIDDEN
        assert await store.get(saved.id) == saved
        for mid in ("A" * 22, "../../x", "", "x" * 64):
            with pytest.raises(DomainError) as unknown:
                await store.delete(mid, author="alice")
            assert unknown.value.code is ErrorCode.NOT_FOUND
        await store.delete(saved.id, author="alice")
        with pytest.raises(DomainError) as twice:
            await store.delete(saved.id, author="alice")
        assert twice.value.code is ErrorCode.NOT_FOUND

    run(scenario())


def test_each_author_keeps_at_most_the_limit(tmp_path: Path) -> None:
    store = SqliteMemoryStore(tmp_path / "m", max_per_author=2)

    async def scenario() -> None:
        first = await store.add(NewMemory("one"), author="alice")
        await store.add(NewMemory("two"), author="alice")
        with pytest.raises(DomainError) as refused:
            await store.add(NewMemory("three"), author="alice")
        assert refused.value.code is ErrorCode.TOO_MANY
        assert "delete some" in refused.value.message
        await store.add(NewMemory("bob's own"), author="bob")  # a per-person limit
        await store.delete(first.id, author="alice")
        await store.add(NewMemory("three"), author="alice")  # room again

    try:
        run(scenario())
    finally:
        store.close()


# --- several writers ------------------------------------------------------------------------


def _add_many(folder: str, limit: int, count: int) -> tuple[int, int]:
    """In a process of its own: add `count` memories as alice; (saved, refused as too many)."""
    store = SqliteMemoryStore(Path(folder), max_per_author=limit)
    saved = refused = 0

    async def one(i: int) -> None:
        nonlocal saved, refused
        try:
            await store.add(NewMemory(f"finding {i} from {os.getpid()}"), author="alice")
            saved += 1
        except DomainError as e:
            assert e.code is ErrorCode.TOO_MANY
            refused += 1

    async def all_of_them() -> None:
        await asyncio.gather(*(one(i) for i in range(count)))

    try:
        asyncio.run(all_of_them())
    finally:
        store.close()
    return saved, refused


def test_concurrent_writers_in_threads_never_exceed_the_limit(tmp_path: Path) -> None:
    folder, results = tmp_path / "m", []
    SqliteMemoryStore(folder, max_per_author=1).close()  # create it once

    def worker() -> None:
        results.append(_add_many(str(folder), 30, 20))

    threads = [threading.Thread(target=worker) for _ in range(4)]  # 4 connections, 80 adds
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(s for s, _ in results) == 30
    assert sum(r for _, r in results) == 50
    with sqlite3.connect(folder / DB_NAME) as db:
        assert db.execute("SELECT count(*) FROM memories").fetchone() == (30,)
        assert db.execute("SELECT count(*) FROM memories_text").fetchone() == (30,)


def test_concurrent_writers_in_processes_never_exceed_the_limit(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    SqliteMemoryStore(folder, max_per_author=1).close()
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        results = pool.starmap(_add_many, [(str(folder), 25, 15)] * 3)
    assert sum(s for s, _ in results) == 25
    assert sum(r for _, r in results) == 20
    store = SqliteMemoryStore(folder, max_per_author=25)
    try:
        assert len(run(store.search(limit=100))) == 25
        assert len(run(store.search(text="finding", limit=100))) == 25
    finally:
        store.close()


def test_a_writer_that_waits_too_long_gets_a_clear_503_and_the_store_goes_on(
    tmp_path: Path,
) -> None:
    store = SqliteMemoryStore(tmp_path / "m", max_per_author=5, busy_timeout=0.05)
    other = sqlite3.connect(tmp_path / "m" / DB_NAME, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another server holds the write lock
        with pytest.raises(DomainError) as busy:
            run(store.add(NewMemory("waits"), author="alice"))
        assert busy.value.code is ErrorCode.UNAVAILABLE
        assert busy.value.message == (
            "Memories cannot be used right now (database is locked); try again later."
        )
        assert run(store.search()) == []  # readers do not wait for a writer (WAL)
        other.execute("ROLLBACK")
        assert texts([run(store.add(NewMemory("saved"), author="alice"))]) == ["saved"]
    finally:
        other.close()
        store.close()


# --- on disk --------------------------------------------------------------------------------


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """The most permissive umask: whatever the store creates must still be private."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_files_are_private_and_memories_persist(tmp_path: Path, umask_zero: None) -> None:
    folder = tmp_path / "data" / "memories"
    store = SqliteMemoryStore(folder, max_per_author=5)
    saved = run(store.add(NewMemory("kept", "r1", MemorySource(RID, 1.5)), author="alice"))
    assert _mode(folder) == 0o700
    files = sorted(os.listdir(folder))
    assert DB_NAME in files
    assert {f: _mode(folder / f) for f in files} == dict.fromkeys(files, 0o600)
    store.close()
    store.close()  # idempotent
    with pytest.raises(DomainError) as closed:
        run(store.search())
    assert closed.value.code is ErrorCode.UNAVAILABLE

    again = SqliteMemoryStore(folder, max_per_author=5)
    try:
        assert run(again.get(saved.id)) == saved
        assert texts(run(again.search(text="kept", targets=["R1"]))) == ["kept"]
    finally:
        again.close()


def test_an_open_folder_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    SqliteMemoryStore(folder, max_per_author=1).close()
    assert _mode(folder) == 0o700


def test_symlinks_are_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "m").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(MemoryStoreError, match="symlink"):
        SqliteMemoryStore(tmp_path / "m", max_per_author=1)
    folder = tmp_path / "real"
    folder.mkdir(mode=0o700)
    (folder / DB_NAME).symlink_to(tmp_path / "elsewhere" / "db")
    with pytest.raises(MemoryStoreError, match="cannot open"):
        SqliteMemoryStore(folder, max_per_author=1)
    assert not (tmp_path / "elsewhere" / "db").exists()


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    SqliteMemoryStore(tmp_path / "m", max_per_author=1).close()
    with sqlite3.connect(tmp_path / "m" / DB_NAME) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(MemoryStoreError, match="format 99"):
        SqliteMemoryStore(tmp_path / "m", max_per_author=1)


def test_a_file_that_is_not_a_database_is_refused_clearly(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir(mode=0o700)
    (folder / DB_NAME).write_bytes(b"not a database" * 100)
    with pytest.raises(MemoryStoreError, match="cannot use the memory database"):
        SqliteMemoryStore(folder, max_per_author=1)
