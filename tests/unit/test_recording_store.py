"""The recording store on a real file system: modes, names, traversal, symlinks, crash recovery."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_sharedterm.recording.asciicast import encode_event, encode_header, read_cast, validate
from jupyter_sharedterm.recording.store import (
    INTERRUPTED_LABEL,
    RecordingMeta,
    RecordingNotFound,
    RecordingStore,
    RecordingStoreError,
)


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """The most permissive umask: whatever we create must still be private."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every path under `root` with its content (files) or link target (symlinks)."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                found[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                found[rel] = path.read_bytes()
            else:
                found[rel] = "dir"
    return found


def _new(store: RecordingStore, **kw: object) -> RecordingMeta:
    args: dict[str, object] = {
        "kind": "terminal",
        "session_id": "S1",
        "owners": ["alice"],
        "width": 80,
        "height": 24,
    }
    args.update(kw)
    meta, fd = store.create(**args)  # type: ignore[arg-type]
    os.write(fd, encode_header(width=80, height=24) + encode_event(0.5, "o", "hi\r\n"))
    os.close(fd)
    return meta


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_folder_0700_and_files_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        with RecordingStore(tmp_path / "deep" / "recordings") as store:
            meta = _new(store)
            store.update(meta)
    finally:
        os.umask(old)
    root = tmp_path / "deep" / "recordings"
    assert _mode(root) == 0o700
    assert sorted(p.name for p in root.iterdir()) == [f"{meta.id}.cast", f"{meta.id}.json"]
    for path in root.iterdir():
        assert _mode(path) == 0o600, path.name
        assert path.stat().st_uid == os.geteuid()


def test_existing_open_folder_is_tightened(tmp_path: Path, umask_zero: None) -> None:
    root = tmp_path / "rec"
    root.mkdir(mode=0o777)
    assert _mode(root) == 0o777
    RecordingStore(root).close()
    assert _mode(root) == 0o700


def test_store_folder_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    (tmp_path / "rec").symlink_to(real)
    with pytest.raises(RecordingStoreError, match="symlink"):
        RecordingStore(tmp_path / "rec")
    (tmp_path / "file").write_text("x")
    with pytest.raises(RecordingStoreError, match="not a folder"):
        RecordingStore(tmp_path / "file")


@pytest.fixture
def store(tmp_path: Path, umask_zero: None) -> Iterator[RecordingStore]:
    with RecordingStore(tmp_path / "rec") as s:
        yield s


def test_create_never_overwrites_an_existing_name(
    store: RecordingStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = "F" * 32
    # Force a name collision (ids are random, so it would otherwise never happen).
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: fixed)
    (store.root / f"{fixed}.cast").write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        store.create(kind="terminal", session_id="S", owners=["a"], width=80, height=24)
    assert (store.root / f"{fixed}.cast").read_bytes() == b"precious"
    assert not (store.root / f"{fixed}.json").exists()


def test_create_refuses_a_planted_symlink_and_touches_nothing_outside(
    store: RecordingStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = "L" * 32
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: fixed)
    target = tmp_path / "victim"
    (store.root / f"{fixed}.cast").symlink_to(target)  # dangling: O_CREAT alone would create it
    with pytest.raises(FileExistsError):
        store.create(kind="terminal", session_id="S", owners=["a"], width=80, height=24)
    assert not target.exists()


def test_ids_are_unguessable(store: RecordingStore) -> None:
    ids = [_new(store, session_id="sess", owners=["bob"]).id for _ in range(40)]
    assert len(set(ids)) == len(ids)
    for rid in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", rid)
        assert len(rid) * 6 >= 128  # base64url: 6 bits per character
        assert "sess" not in rid and "bob" not in rid
    # No shared structure: the first characters vary as much as the rest.
    assert len({rid[:4] for rid in ids}) == len(ids)


def test_names_never_come_from_user_input(store: RecordingStore) -> None:
    meta = _new(store, session_id="../../etc/passwd", terminal="../x", owners=["/root"])
    assert sorted(p.name for p in store.root.iterdir()) == [f"{meta.id}.cast", f"{meta.id}.json"]
    assert store.get(meta.id).session_id == "../../etc/passwd"


BAD_IDS = [
    "../x",
    "%2e%2e%2f",
    "%2e%2e%2fpasswd",
    "a\x00b",
    "/etc/passwd",
    "..",
    ".",
    "",
    "A" * 31,
    "A" * 33,
    "A" * 31 + "/",
    "A" * 31 + ".",
    "x" * 10_000,
    "../" * 10 + "etc/passwd",
    "\uff21" * 32,  # fullwidth A: only ASCII ids exist
    "A" * 32 + "\n",
]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_traversal_and_malformed_ids_are_refused(
    store: RecordingStore, tmp_path: Path, bad: str
) -> None:
    real = _new(store)
    # Well-formed decoys (claiming the bad id) where a naive `root / f"{id}.json"` would land.
    decoy = dict(RecordingMeta.to_json(store.get(real.id)), id=bad)
    for ext, content in (("json", json.dumps(decoy).encode()), ("cast", b"outside")):
        naive = os.path.normpath(store.root / f"{bad}.{ext}")
        if "\x00" in naive or not naive.startswith(str(tmp_path)) or len(Path(naive).name) > 255:
            continue
        with contextlib.suppress(OSError):  # e.g. its folder does not exist
            Path(naive).write_bytes(content)
    before = _tree(tmp_path)
    with pytest.raises(RecordingNotFound) as by_get:
        store.get(bad)
    with pytest.raises(RecordingNotFound) as by_open:
        store.open_cast(bad)
    with pytest.raises(RecordingNotFound) as unknown:
        store.get("Z" * 32)
    # Indistinguishable from "does not exist".
    assert str(by_get.value) == str(by_open.value) == str(unknown.value)
    assert bad not in str(by_get.value) or bad == ""
    assert _tree(tmp_path) == before


def test_symlinks_planted_in_the_store_are_refused(store: RecordingStore, tmp_path: Path) -> None:
    real = _new(store)
    outside = tmp_path / "outside"
    outside.mkdir()
    # A sidecar that is a symlink to a well-formed sidecar outside.
    forged_id = "S" * 32
    forged = dict(RecordingMeta.to_json(real), id=forged_id)
    (outside / "meta.json").write_text(json.dumps(forged))
    (store.root / f"{forged_id}.json").symlink_to(outside / "meta.json")
    (store.root / f"{forged_id}.cast").symlink_to(outside / "secret.cast")
    (outside / "secret.cast").write_bytes(b"secret")
    with pytest.raises(RecordingNotFound):
        store.get(forged_id)
    assert forged_id not in [m.id for m in store.list()]
    # A real sidecar whose cast file was swapped for a symlink.
    os.unlink(store.root / f"{real.id}.cast")
    (store.root / f"{real.id}.cast").symlink_to(outside / "secret.cast")
    with pytest.raises(RecordingNotFound):
        store.open_cast(real.id)


def test_hard_links_and_fifos_in_the_store_are_refused(
    store: RecordingStore, tmp_path: Path
) -> None:
    a = _new(store)
    b = _new(store)
    secret = tmp_path / "secret"
    secret.write_bytes(b"secret")
    os.unlink(store.root / f"{a.id}.cast")
    os.link(secret, store.root / f"{a.id}.cast")
    with pytest.raises(RecordingNotFound):
        store.open_cast(a.id)
    os.unlink(store.root / f"{b.id}.cast")
    os.mkfifo(store.root / f"{b.id}.cast")
    with pytest.raises(RecordingNotFound):  # refused at once, not a hang on the FIFO
        store.open_cast(b.id)


def test_only_owners_and_participants_see_a_recording(store: RecordingStore) -> None:
    mine = _new(store, owners=["alice"], participants=["bob"])
    theirs = _new(store, session_id="S2", owners=["carol"])
    with store.open_cast(mine.id, user="bob") as f:
        assert read_cast(f.read()).events[0].data == "hi\r\n"
    with pytest.raises(RecordingNotFound) as denied:
        store.open_cast(theirs.id, user="alice")
    with pytest.raises(RecordingNotFound) as missing:
        store.get("Q" * 32, user="alice")
    assert str(denied.value) == str(missing.value)
    assert [m.id for m in store.list(user="alice")] == [mine.id]
    assert {m.id for m in store.list()} == {mine.id, theirs.id}
    store.add_participant(theirs.id, "alice")
    assert store.get(theirs.id, user="alice").participants == ("alice",)


def test_sidecar_is_replaced_atomically_and_checked_on_read(store: RecordingStore) -> None:
    meta = _new(store)
    for n in range(5):
        store.update(RecordingMeta(**{**meta.__dict__, "participants": (f"p{n}",)}))
    assert sorted(p.name for p in store.root.iterdir()) == [f"{meta.id}.cast", f"{meta.id}.json"]
    assert store.get(meta.id).participants == ("p4",)
    assert _mode(store.root / f"{meta.id}.json") == 0o600
    # A corrupt sidecar is skipped by list() and unknown to get(), never a crash.
    other = _new(store)
    (store.root / f"{other.id}.json").write_text('{"id": "nope"')
    assert [m.id for m in store.list()] == [meta.id]
    with pytest.raises(RecordingNotFound):
        store.get(other.id)


def _read(store: RecordingStore, rid: str) -> bytes:
    with store.open_cast(rid) as f:
        return f.read()


def _live(store: RecordingStore, state: str, tail: bytes) -> tuple[RecordingMeta, bytes]:
    meta, fd = store.create(kind="terminal", session_id="S", owners=["a"], width=100, height=30)
    data = encode_header(width=100, height=30) + encode_event(1.25, "o", "ls\r\n") + tail
    os.write(fd, data)
    os.close(fd)
    if state != "recording":
        store.update(RecordingMeta(**{**meta.__dict__, "state": state}))
    return store.get(meta.id), data


def test_mark_interrupted_closes_out_live_recordings(store: RecordingStore) -> None:
    cut, _ = _live(store, "recording", b'[1.5, "o", "half a li')  # SIGKILL mid-line
    paused, _ = _live(store, "paused", encode_event(2.0, "m", "recording paused by a"))
    whole, _ = _live(store, "recording", b'[3.0, "o", "no newline"]')
    done, done_bytes = _live(store, "finished", b"")
    empty, fd = store.create(kind="session", session_id="S", owners=["a"], width=90, height=20)
    os.close(fd)  # killed before the header reached the disk

    marked = store.mark_interrupted()
    assert set(marked) == {cut.id, paused.id, whole.id, empty.id}
    for rid in marked:
        meta = store.get(rid)
        assert meta.state == "interrupted"
        assert meta.ended is not None
        data = _read(store, rid)
        assert validate(data) == [], rid
        cast = read_cast(data)
        assert not cast.truncated
        assert cast.events[-1].code == "m"
        assert cast.events[-1].data == INTERRUPTED_LABEL
    times = {rid: read_cast(_read(store, rid)).events for rid in marked}
    assert [e.data for e in times[cut.id]] == ["ls\r\n", INTERRUPTED_LABEL]
    assert times[cut.id][-1].time == 1.25  # at its last complete event
    assert [e.data for e in times[whole.id]][-2:] == ["no newline", INTERRUPTED_LABEL]
    assert read_cast(_read(store, empty.id)).width == 90
    assert store.get(done.id).state == "finished"
    assert (store.root / f"{done.id}.cast").read_bytes() == done_bytes
    assert store.mark_interrupted() == []  # never resumed, never marked twice
