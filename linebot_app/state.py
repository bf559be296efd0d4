"""What the bot keeps per process: the registration rules, the clock and the dialogue timeout.

Tests replace the clock (``app.extensions["linebot"].clock``) to show a dialogue expiring
without waiting for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, has_app_context

from authencode.db import utcnow
from authencode.services.conversations import DEFAULT_TTL
from authencode.services.registration import RegistrationPolicy
from authencode.settings import Settings

EXTENSION = "linebot"


@dataclass
class BotState:
    policy: RegistrationPolicy
    clock: Callable[[], dt.datetime] = utcnow
    conversation_ttl: dt.timedelta = DEFAULT_TTL


def make_state(settings: Settings) -> BotState:
    return BotState(policy=RegistrationPolicy.from_codes(settings.eligible_main_rights))


def init_state(app: Flask) -> None:
    """The bot's state, with the registration rules the application built at start-up."""
    app.extensions[EXTENSION] = BotState(policy=app.extensions["authencode"].registration)


def bot_state(settings: Settings) -> BotState:
    """The application's state; outside an application (a script), one made from settings."""
    if has_app_context() and EXTENSION in current_app.extensions:
        return current_app.extensions[EXTENSION]
    return make_state(settings)
