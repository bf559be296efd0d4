"""Gunicorn's logs without personal data or secrets.

Hospital systems put the citizen ID in the query (`check-authen-status?personalId=`), reader
agents in the path (`latest-authen-code/<pid>`), and reset links carry their token in the
path, so gunicorn's access and error logs go through :mod:`authencode.redaction` like every
other log record of the process. Used from the Procfile:
``gunicorn --logger-class authencode.app.accesslog.RedactingLogger``.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from authencode import redaction


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        # In the master, before the workers fork: they inherit the record factory.
        redaction.install()
        super().setup(cfg)
