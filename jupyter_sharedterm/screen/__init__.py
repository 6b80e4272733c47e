"""Terminal screens: the screen-model interface, the mirror the runtime holds, its emulator."""

from .emulator import TerminalScreen
from .mirror import ScreenMirror
from .model import ScreenModel

__all__ = ["ScreenMirror", "ScreenModel", "TerminalScreen"]
