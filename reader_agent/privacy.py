"""Keeping personal data out of logs: CIDs are masked, names and photos never logged."""

from __future__ import annotations

import logging
import re

_THIRTEEN_DIGITS = re.compile(r"(?<!\d)(\d)(\d{4})(\d{5})(\d{2})(\d)(?!\d)")


def mask_cid(cid: str) -> str:
    """Return the CID in the masked display form, e.g. ``1-1017-xxxxx-03-0``."""
    if len(cid) != 13 or not cid.isdigit():
        return "x-xxxx-xxxxx-xx-x"
    return f"{cid[0]}-{cid[1:5]}-xxxxx-{cid[10:12]}-{cid[12]}"


def mask_cids_in(text: str) -> str:
    """Replace every 13-digit run in ``text`` by its masked form."""
    return _THIRTEEN_DIGITS.sub(lambda m: mask_cid(m.group(0)), text)


class MaskCidFilter(logging.Filter):
    """A safety net on the agent's log handler: masks any CID that slipped into a message.

    The agent's own code logs masked CIDs only; this catches a CID inside, say, an
    exception text from a library or a request path like ``/latest-authen-code/<pid>``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_cids_in(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True
