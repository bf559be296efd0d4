"""``Content-Disposition`` for a download whose name may be Thai.

HTTP header values travel as latin-1 (gunicorn refuses anything else with a 500), so a name
with Thai letters goes in ``filename*`` (RFC 6266 / RFC 5987, UTF-8 percent-encoded), which
every current browser prefers, with an ASCII ``filename`` beside it for older clients.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """The header value that names ``filename`` for every browser, in latin-1 only."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    stem, dot, ext = ascii_name.rpartition(".")
    fallback = _NOT_ASCII_SAFE.sub("_", stem if dot else ascii_name).strip("_") or "download"
    fallback = f"{fallback}.{_NOT_ASCII_SAFE.sub('', ext)}" if dot else fallback
    value = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value
