"""Terminal reports: the replies an emulator types by itself when a program queries it.

Every connected browser runs an emulator that answers queries such as "where is the cursor"
(`CSI 6 n`). Only the participant in control may answer, or a program would get one answer
per browser, interleaved with real keystrokes.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["strip_reports"]

_REPORT: Final = re.compile(
    r"\x1b\[\d+;\d+R"  # cursor position report (CPR)
    r"|\x1b\[[?>=][\d;]*c"  # device attributes (DA1/DA2/DA3)
    r"|\x1b\[\d*n"  # device status (DSR "ok")
    r"|\x1b\[\??[\d;]*\$y"  # mode report (DECRPM)
    r"|\x1b\[\d+(?:;\d+){1,2}t"  # window size / position reports
    r"|\x1b\[[IO]"  # focus in / out
    r"|\x1b\][\d;]*[^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC replies (colour queries)
    r"|\x1bP[^\x1b]*\x1b\\"  # DCS replies (DECRQSS, XTVERSION)
)


def strip_reports(text: str) -> str:
    """`text` without the automatic replies of a terminal emulator; keystrokes are kept."""
    if "\x1b" not in text:
        return text
    return _REPORT.sub("", text)
