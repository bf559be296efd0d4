"""``python -m tests.support.crashing_worker``: the real worker (linebot_app.worker), except
that applying a LINE text message reading ``POISON`` kills the process (SIGKILL), every time:
an event that crashes its worker, without a hook in the application's code."""

from __future__ import annotations

import os
import signal
from typing import Any

from linebot_app import inbox, worker

POISON = "ข้อความที่ทำให้ตัวประมวลผลล่ม"

_real = inbox.handle_event


def _handle(ctx: Any, event: Any) -> None:
    if getattr(getattr(event, "message", None), "text", None) == POISON:
        os.kill(os.getpid(), signal.SIGKILL)
    _real(ctx, event)


inbox.handle_event = _handle

if __name__ == "__main__":
    raise SystemExit(worker.main())
