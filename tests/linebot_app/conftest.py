"""Fixtures for the LINE bot (defined in tests/support/line_bot.py, shared with other suites)."""

from __future__ import annotations

from tests.support.line_bot import chat, chat_clock, clock, db, sender, settings, world

__all__ = ["chat", "chat_clock", "clock", "db", "sender", "settings", "world"]
