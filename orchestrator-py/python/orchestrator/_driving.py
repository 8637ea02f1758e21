"""Awaiting a native Driver on the running asyncio loop."""
from __future__ import annotations

import asyncio

from . import _native
from ._types import DeliberationResult


async def _drive(driver: _native.Driver) -> DeliberationResult:
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[str] = loop.create_future()
    driver.start(loop, fut)
    try:
        text = await fut
    except BaseException:
        # Cancellation (task cancelled, KeyboardInterrupt) or failure: drop the core future,
        # which cancels every in-flight call.
        driver.cancel()
        raise
    return DeliberationResult._from_json(text)
