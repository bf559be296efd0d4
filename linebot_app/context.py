"""What handling one webhook event works with: its session, settings, clock and limits.

A module of its own so that the chat modules and the command table can name it without
importing the event dispatch (`linebot_app.events`) back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.ratelimit import RateLimiter
from authencode.services.people import LocalRegistryRights, RightsLookup
from authencode.settings import Settings
from authencode.web import limits
from linebot_app.state import BotState, bot_state


@dataclass
class EventContext:
    session: Session
    settings: Settings
    rights: RightsLookup = field(default_factory=LocalRegistryRights)
    rate: RateLimiter | None = None  # the web app's limiter (none: nothing is limited)

    @cached_property
    def protector(self) -> DataProtector:
        return DataProtector(self.settings.key_ring)

    @cached_property
    def bot(self) -> BotState:
        return bot_state(self.settings)

    def now(self) -> dt.datetime:
        return self.bot.clock()

    def count(self, rule: str, key: str) -> None:
        """Count one ``rule`` request of ``key``: RateLimitedError (a DomainError) past it."""
        if self.rate is not None:
            limits.count(self.rate, rule, key)
