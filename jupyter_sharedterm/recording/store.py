"""The on-disk recording store: one private folder of `.cast` files with JSON metadata sidecars."""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import json
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, NewType, get_args

from ..folders import UnsafeFolderError, ensure_private_folder
from .asciicast import CastFormatError, encode_event, encode_header, read_cast

__all__ = [
    "INTERRUPTED_LABEL",
    "NOT_FOUND_MESSAGE",
    "RecordingId",
    "RecordingKind",
    "RecordingMeta",
    "RecordingNotFound",
    "RecordingState",
    "RecordingStore",
    "RecordingStoreError",
    "is_valid_id",
]

log = logging.getLogger(__name__)

RecordingId = NewType("RecordingId", str)
RecordingKind = Literal["session", "terminal"]
RecordingState = Literal["recording", "paused", "finished", "interrupted"]

ID_BYTES = 24  # 192 random bits; token_urlsafe encodes them as exactly 32 characters
_ID_RE = re.compile(r"[A-Za-z0-9_-]{32}")
META_MAX_BYTES = 1 << 20  # 1 MiB: a sidecar is a few hundred bytes; refuse anything absurd
NOT_FOUND_MESSAGE = "no such recording, or not one you may open"
INTERRUPTED_LABEL = "recording interrupted: the server stopped before the recording was finished"

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = os.O_NOFOLLOW
_CREATE_FLAGS = os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | os.O_WRONLY | _O_CLOEXEC
# O_NONBLOCK: opening a FIFO planted in the store must not hang; regular files ignore it.
_READ_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | os.O_NONBLOCK
_FILE_MODE = 0o600


class RecordingStoreError(Exception):
    """The store cannot be used safely (e.g. its folder is a symlink or someone else's)."""


class RecordingNotFound(RecordingStoreError, LookupError):
    """No such recording, or not one the caller may open: deliberately indistinguishable (404)."""


def is_valid_id(value: object) -> bool:
    """True if `value` has exactly the shape of the ids this store issues; nothing else is used."""
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


@dataclass(frozen=True)
class RecordingMeta:
    """What the store knows about one recording (the JSON sidecar).

    `owners` and `participants` are the user ids allowed to open the recording afterwards.
    """

    id: RecordingId
    kind: RecordingKind
    session_id: str
    owners: tuple[str, ...]
    started: float
    width: int
    height: int
    terminal: str | None = None
    participants: tuple[str, ...] = ()
    ended: float | None = None
    state: RecordingState = "recording"
    title: str | None = None
    input_captured: bool = False
    events_lost: int = 0
    end_reason: str | None = None

    def may_open(self, user: str) -> bool:
        """True if `user` is an owner or a participant of the recorded session."""
        return user in self.owners or user in self.participants

    def to_json(self) -> dict[str, Any]:
        """The sidecar object (tuples become lists)."""
        data = dataclasses.asdict(self)
        data["owners"] = list(self.owners)
        data["participants"] = list(self.participants)
        return data

    @classmethod
    def from_json(cls, data: Any) -> RecordingMeta:
        """Build from a sidecar object, checking every field.

        Raises:
            ValueError: a field is missing or has the wrong type.
        """
        if not isinstance(data, dict):
            raise ValueError("metadata must be a JSON object")
        if not is_valid_id(data.get("id")):
            raise ValueError("metadata has no valid id")
        if data.get("kind") not in get_args(RecordingKind):
            raise ValueError(f"unknown recording kind {data.get('kind')!r}")
        if data.get("state") not in get_args(RecordingState):
            raise ValueError(f"unknown recording state {data.get('state')!r}")

        def strings(key: str) -> tuple[str, ...]:
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{key} must be a list of strings")
            return tuple(value)

        def typed(key: str, kinds: type | tuple[type, ...], optional: bool = False) -> Any:
            value = data.get(key)
            if value is None and optional:
                return None
            if isinstance(value, bool) and bool not in (
                kinds if isinstance(kinds, tuple) else (kinds,)
            ):
                raise ValueError(f"{key} has the wrong type")
            if not isinstance(value, kinds):
                raise ValueError(f"{key} has the wrong type")
            return value

        return cls(
            id=RecordingId(data["id"]),
            kind=data["kind"],
            session_id=typed("session_id", str),
            owners=strings("owners"),
            started=float(typed("started", (int, float))),
            width=typed("width", int),
            height=typed("height", int),
            terminal=typed("terminal", str, optional=True),
            participants=strings("participants"),
            ended=typed("ended", (int, float), optional=True),
            state=data["state"],
            title=typed("title", str, optional=True),
            input_captured=bool(typed("input_captured", bool)),
            events_lost=typed("events_lost", int),
            end_reason=typed("end_reason", str, optional=True),
        )


class RecordingStore:
    """A folder of recordings that only this server's user can read.

    The folder is 0700 and every file 0600 whatever the umask. Names are chosen here
    (random ids), never from user input; an id is looked up only if it matches the exact shape
    of ours, so traversal (`../`, encoded or not), NUL or absolute paths never reach the file
    system. All access goes through a directory descriptor with O_NOFOLLOW, so a symlink planted
    in the store (or the store path swapped later) is refused rather than followed.

    Not thread-safe: use it from one thread (the server's event loop).
    """

    def __init__(self, root: Path) -> None:
        """Open (creating if needed) the store folder.

        Raises:
            RecordingStoreError: the folder is a symlink, not a folder, or owned by another user.
        """
        self.root = Path(root)
        try:
            ensure_private_folder(self.root, "recording folder")
        except UnsafeFolderError as e:
            raise RecordingStoreError(f"{e}; choose another folder") from None
        self._dir_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)

    def close(self) -> None:
        """Release the folder descriptor; idempotent."""
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1

    def __enter__(self) -> RecordingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- creating and updating -------------------------------------------------------------

    def create(
        self,
        *,
        kind: RecordingKind,
        session_id: str,
        owners: Iterable[str],
        width: int,
        height: int,
        terminal: str | None = None,
        participants: Iterable[str] = (),
        title: str | None = None,
        input_captured: bool = False,
        started: float | None = None,
    ) -> tuple[RecordingMeta, int]:
        """Create an empty recording and its sidecar (state "recording").

        Returns:
            The metadata, and a write-only descriptor on the new, empty `.cast` file that the
            caller owns (and must close).

        Raises:
            OSError: the files could not be created (disk full, permissions).
        """
        if kind not in get_args(RecordingKind):
            raise ValueError(f"unknown recording kind {kind!r}")
        meta = RecordingMeta(
            id=RecordingId(secrets.token_urlsafe(ID_BYTES)),
            kind=kind,
            session_id=session_id,
            owners=tuple(dict.fromkeys(owners)),
            participants=tuple(dict.fromkeys(participants)),
            started=time.time() if started is None else started,
            width=width,
            height=height,
            terminal=terminal,
            title=title,
            input_captured=input_captured,
        )
        fd = self._create_file(f"{meta.id}.cast")
        try:
            self.update(meta)
        except BaseException:
            os.close(fd)
            os.unlink(f"{meta.id}.cast", dir_fd=self._dir_fd)
            raise
        return meta, fd

    def update(self, meta: RecordingMeta) -> None:
        """Replace a recording's sidecar atomically (temporary file, fsync, rename).

        Raises:
            RecordingNotFound: `meta.id` is not a valid id.
            OSError: the write failed; the previous sidecar is intact.
        """
        rid = self._checked_id(meta.id)
        payload = (
            json.dumps(meta.to_json(), ensure_ascii=False, indent=1).encode("utf-8", "replace")
            + b"\n"
        )
        tmp = f".{rid}.{secrets.token_hex(8)}.tmp"
        fd = self._create_file(tmp)
        try:
            try:
                _write_all(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, f"{rid}.json", src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=self._dir_fd)
            raise
        os.fsync(self._dir_fd)  # make the rename itself durable

    def add_participant(self, rid: str, user: str) -> RecordingMeta:
        """Allow `user` to open the recording; returns the updated metadata.

        Raises:
            RecordingNotFound: unknown id.
        """
        meta = self.get(rid)
        if meta.may_open(user):
            return meta
        meta = dataclasses.replace(meta, participants=(*meta.participants, user))
        self.update(meta)
        return meta

    # -- reading ---------------------------------------------------------------------------

    def get(self, rid: str, *, user: str | None = None) -> RecordingMeta:
        """One recording's metadata.

        Args:
            rid: the id, validated strictly.
            user: if given, the recording must be one `user` may open.

        Raises:
            RecordingNotFound: malformed id, unknown id, unreadable sidecar, or not `user`'s:
                the same error for all, so a guessed id learns nothing.
        """
        rid = self._checked_id(rid)
        try:
            raw = self._read_file(f"{rid}.json", limit=META_MAX_BYTES)
            meta = RecordingMeta.from_json(json.loads(raw))
        except (OSError, ValueError) as exc:
            if not isinstance(exc, FileNotFoundError):
                log.warning("recording %s: unreadable metadata (%s)", rid, type(exc).__name__)
            raise RecordingNotFound(NOT_FOUND_MESSAGE) from None
        if meta.id != rid or (user is not None and not meta.may_open(user)):
            raise RecordingNotFound(NOT_FOUND_MESSAGE)
        return meta

    def list(self, *, user: str | None = None) -> builtins.list[RecordingMeta]:
        """Every readable recording (those `user` may open, if given), oldest first."""
        found: builtins.list[RecordingMeta] = []
        for name in os.listdir(self._dir_fd):
            stem, _dot, ext = name.partition(".")
            if ext != "json" or not is_valid_id(stem):
                continue
            try:
                found.append(self.get(stem, user=user))
            except RecordingNotFound:
                continue
        found.sort(key=lambda m: (m.started, m.id))
        return found

    def open_cast(self, rid: str, *, user: str | None = None) -> BinaryIO:
        """Open a recording's `.cast` file for reading (the caller closes it).

        Raises:
            RecordingNotFound: as for `get`, or the cast file is missing or not a plain file.
        """
        meta = self.get(rid, user=user)
        try:
            fd = self._open_regular(f"{meta.id}.cast", _READ_FLAGS)
        except (OSError, RecordingStoreError):
            raise RecordingNotFound(NOT_FOUND_MESSAGE) from None
        return os.fdopen(fd, "rb")

    # -- start-up --------------------------------------------------------------------------

    def mark_interrupted(self, now: float | None = None) -> builtins.list[RecordingId]:
        """Close out recordings left "recording" or "paused" by a server that stopped.

        Each gets an `m` marker (at its last event's time) saying it was interrupted, and state
        "interrupted"; none is ever resumed. A line cut off by the crash is removed first, so the
        file stays valid. Call once at start-up, before any new recording starts.

        Returns:
            The ids that were marked.
        """
        marked: builtins.list[RecordingId] = []
        for meta in self.list():
            if meta.state not in ("recording", "paused"):
                continue
            ended = now
            try:
                ended = self._append_interrupted_marker(meta)
            except (OSError, CastFormatError, RecordingStoreError) as exc:
                # Mark it anyway: never leave it looking live. Only the error type is logged.
                log.warning(
                    "recording %s: could not append the interrupted marker (%s)",
                    meta.id,
                    type(exc).__name__,
                )
            self.update(
                dataclasses.replace(
                    meta,
                    state="interrupted",
                    ended=ended if ended is not None else time.time(),
                    end_reason="server stopped",
                )
            )
            marked.append(meta.id)
        return marked

    def _append_interrupted_marker(self, meta: RecordingMeta) -> float:
        """Append the marker; returns the cast file's modification time (when writing stopped)."""
        name = f"{meta.id}.cast"
        fd = self._open_regular(name, os.O_RDWR | _O_NOFOLLOW | _O_CLOEXEC | os.O_NONBLOCK)
        try:
            mtime = os.fstat(fd).st_mtime
            data = _read_all(fd)
            try:
                cast = read_cast(data)
                cut, last = cast.end, (cast.events[-1].time if cast.events else 0.0)
                prefix = b"" if data[:cut].endswith(b"\n") else b"\n"
            except CastFormatError as exc:
                if exc.offset != 0:
                    raise  # garbage mid-file: appending would not make it valid
                # Cut off inside (or before) the header: write the header the recording began with.
                cut, last = 0, 0.0
                prefix = encode_header(
                    width=meta.width, height=meta.height, timestamp=int(meta.started)
                )
            os.ftruncate(fd, cut)
            _write_all(fd, prefix + encode_event(last, "m", INTERRUPTED_LABEL), offset=cut)
            os.fsync(fd)
        finally:
            os.close(fd)
        return mtime

    # -- low level -------------------------------------------------------------------------

    def _checked_id(self, rid: str) -> RecordingId:
        if not is_valid_id(rid):
            raise RecordingNotFound(NOT_FOUND_MESSAGE)
        if self._dir_fd < 0:
            raise RecordingStoreError("the recording store is closed")
        return RecordingId(rid)

    def _create_file(self, name: str) -> int:
        fd = os.open(name, _CREATE_FLAGS, _FILE_MODE, dir_fd=self._dir_fd)
        try:
            os.fchmod(fd, _FILE_MODE)  # exactly 0600 whatever the umask stripped
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _open_regular(self, name: str, flags: int) -> int:
        """Open a file in the store, refusing symlinks, non-files, hard links and foreign owners."""
        fd = os.open(name, flags, dir_fd=self._dir_fd)
        try:
            st = os.fstat(fd)
            # A hard link (nlink > 1) may be a file from outside; O_NOFOLLOW cannot see it.
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid != os.geteuid():
                raise RecordingStoreError(
                    f"{name} is not a plain file owned by this server; refusing"
                )
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _read_file(self, name: str, *, limit: int) -> bytes:
        try:
            fd = self._open_regular(name, _READ_FLAGS)
        except RecordingStoreError as exc:
            raise OSError(str(exc)) from exc
        try:
            data = os.read(fd, limit + 1)
        finally:
            os.close(fd)
        if len(data) > limit:
            raise ValueError(f"{name} is larger than {limit} bytes")
        return data


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes, *, offset: int | None = None) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view) if offset is None else os.pwrite(fd, view, offset)
        if offset is not None:
            offset += n
        view = view[n:]
