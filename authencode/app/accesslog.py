"""Gunicorn's access log without personal data.

Hospital systems put the citizen ID in the query (`check-authen-status?personalId=`) and
reader agents in the path (`latest-authen-code/<pid>`), so every 13-digit run in the request
line, path, query and referer is masked before the line is written. Used from the Procfile:
``gunicorn --logger-class authencode.app.accesslog.RedactingLogger``.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

_CID_RUN = re.compile(r"(?<!\d)(\d)\d{8}(\d{3})(\d)(?!\d)")
_FIELDS = ("r", "U", "q", "f")  # request line, path, query string, referer


def redact(text: str) -> str:
    """Mask 13-digit runs the way screens do: first digit and last four kept."""
    return _CID_RUN.sub(r"\1xxxxxxxx\2\3", text)


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in _FIELDS:
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
