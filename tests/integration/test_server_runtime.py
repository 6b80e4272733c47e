"""How the extension sets up the server process it runs in."""

from __future__ import annotations

import asyncio
import gc
from typing import Any


async def test_the_startup_heap_is_frozen_once_the_server_is_up(jp_serverapp: Any) -> None:
    # Full collections would otherwise walk every module, class and parsed schema of the server
    # (~100 ms on 2 cores) while people wait for their keystrokes to echo: see performance.md.
    for _ in range(100):
        if gc.get_freeze_count():
            break
        await asyncio.sleep(0.01)
    assert gc.get_freeze_count() > 50_000
