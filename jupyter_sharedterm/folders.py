"""Private folders for what the server keeps (recordings, memories): 0700, ours, never a link."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path
from typing import Final

__all__ = ["PRIVATE_FOLDER_MODE", "UnsafeFolderError", "ensure_private_folder"]

log = logging.getLogger(__name__)

PRIVATE_FOLDER_MODE: Final = 0o700


class UnsafeFolderError(Exception):
    """The folder cannot be trusted with what the server stores; the message says why."""


def ensure_private_folder(folder: Path, what: str) -> None:
    """Create `folder` 0700 (its parents as usual), check it is this user's folder, not a symlink.

    Raises:
        UnsafeFolderError: naming `what` (e.g. "recording folder") and the problem.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, PRIVATE_FOLDER_MODE)
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFolderError(f"{what} {folder} is a symlink; refusing to use it")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeFolderError(f"{what} {folder} exists and is not a folder")
    if st.st_uid != os.geteuid():
        raise UnsafeFolderError(
            f"{what} {folder} belongs to uid {st.st_uid}, not this server's user"
        )
    if stat.S_IMODE(st.st_mode) != PRIVATE_FOLDER_MODE:
        if stat.S_IMODE(st.st_mode) & 0o077:
            log.warning("%s %s was open to others; tightening to 0700", what, folder)
        # The umask may have stripped bits from mkdir's mode, or an old folder was too open.
        os.chmod(folder, PRIVATE_FOLDER_MODE, follow_symlinks=False)
