"""Errors the agent raises; the local HTTP API maps each to a Spring-style error answer."""

from __future__ import annotations


class AgentError(Exception):
    """Base class: ``message`` is safe to show to staff and never contains personal data."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoReaderError(AgentError):
    """No card reader is available (PC/SC service not running, no reader plugged in)."""


class NoCardError(AgentError):
    """The chosen reader has no card in it."""


class CardRemovedError(AgentError):
    """The card was pulled out while it was being read; nothing read is returned."""


class CardReadError(AgentError):
    """The card did not answer like a Thai national ID card, even after retries."""


class CardDataError(AgentError):
    """Bytes read from the card are not valid Thai ID card data (e.g. a bad CID check digit)."""


class CardExpiredError(CardDataError):
    """A kiosk agent refuses a card past its expiry date (a counter checks the card by eye)."""


class UnlockRequiredError(AgentError):
    """A confirm-save was asked for before a staff member unlocked the agent."""


class BadRequestError(AgentError):
    """The local API was called with missing or malformed input."""


class ServerError(AgentError):
    """The Authen Code server answered with an error (``{"error": {...}}``)."""

    def __init__(self, status: int, code: str, message: str, message_th: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message_th = message_th


class ServerUnavailableError(AgentError):
    """The Authen Code server could not be reached or answered something that is not JSON."""
