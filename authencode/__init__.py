"""Authen Code: visit authentication for a universal health-coverage scheme (domain core)."""

from __future__ import annotations

import sys
from typing import Any

__version__ = "0.1.0"


def create_app(config: Any = None) -> Any:
    """The WSGI application (the composition root lives in authencode.app)."""
    from authencode.app import FrontEndMissing
    from authencode.app import create_app as _create_app
    from authencode.settings import SettingsError

    try:
        return _create_app(config)
    except SettingsError as exc:
        # One clear line naming the setting, instead of a traceback in the server's log.
        print(f"authencode: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except FrontEndMissing as exc:
        print(f"authencode: installation error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
