"""Log lines without citizen IDs or secrets, whoever writes them.

A CID is masked in every spelling :func:`authencode.cid.parse_cid` accepts (digits with any
dashes or Unicode white space between them) and in every way a log line can carry those
characters: as they are, percent-encoded (``%31``, ``%2D``, ``%E3%80%80``), ``+`` for a
space in a query, a WSGI string's UTF-8 bytes read as Latin-1, and ``repr``/JSON escapes
(``\\xa0``, ``\\u3000``). Gunicorn's request line and query are raw, its path is decoded, and
Python messages hold decoded text, so one pattern covers them all. A run of digits and
separators holding exactly 13 digits is masked, and so is a longer one with separators in it
(two CIDs side by side); a plain run of another length is a different number. Unicode dashes
and invisible characters count as separators too: parse_cid refuses them, but a reader of the
log would not.

Secrets: the value of ``Authorization: Bearer …``/``Basic …``, query or form parameters named
like a secret (``token``, ``access_token``, ``password``, ``api_key`` …), and any run of 40 or
more URL-safe base64 characters that mixes letter cases or digits: password-reset links
(``/clinic/reset/<token>``), API tokens (``ac_…``), session and agent secrets and LIFF ID
tokens (JWTs) all are such runs. Clinic QR tokens (``1.<hcode>.<service>.…``) are dotted and
short: they are printed on posters, not secrets, and stay readable.

:func:`install` makes every log record of the process masked when it is formatted (the
record factory, so no handler is missed); gunicorn's logger class installs it too.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
import unicodedata
from collections.abc import Callable
from typing import Any

from authencode.cid import separator_characters

# A record logged with extra={KEEP_WHOLE: True} is left whole where install() allows it:
# the development mail log (no SMTP_URL), which is the developer's mailbox.
KEEP_WHOLE = "keep_whole"

_DIGIT = r"(?:[0-9]|%3[0-9])"
_URLSAFE_CHAR = r"(?:[A-Za-z0-9_\-]|%(?:2[dD]|3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa]|5[Ff]))"
_MIN_TOKEN = 40
_NAMED_SECRET = re.compile(
    r"(?i)((?:^|[?&;\s\"'{,])(?:[\w.\-]*token|password|passwd|secret|api_?key|pin"
    r"|authorization|sid)(?:=|%3D))[^&\s\"';,]+"
)
_SCHEME_SECRET = re.compile(
    r"(?i)\b(bearer(?:\s|%20|\+)+)[^\s\"'&,;]+|\b(basic(?:\s|%20|\+)+)[A-Za-z0-9+/=]{8,}"
)
_TOKEN_RUN = re.compile(f"(?<![A-Za-z0-9_\\-]){_URLSAFE_CHAR}{{{_MIN_TOKEN},}}")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def _plain_forms(char: str) -> set[str]:
    """How a log line may show one character, apart from its UTF-8 bytes (_byte_forms)."""
    forms = {
        char,
        repr(char)[1:-1],
        json.dumps(char)[1:-1],
        f"\\u{ord(char):04x}",
        f"\\u{ord(char):04X}",
    }
    if char == " ":
        forms.add("+")  # a query's space
    return forms


def _byte_forms(byte: int) -> set[str]:
    """One UTF-8 byte percent-encoded, or read as Latin-1 (a WSGI string), and that repr'd
    (as gunicorn's "Invalid request line" warning shows it); %-hex in any case."""
    return {f"%{byte:02x}", f"%{byte:02X}", chr(byte), repr(chr(byte))[1:-1]}


def _pattern(char: str) -> str:
    pieces = {re.escape(form) for form in _plain_forms(char)}
    pieces.add(
        "".join(
            f"(?:%(?i:{byte:02x})|"
            + "|".join(re.escape(form) for form in _byte_forms(byte) if not form.startswith("%"))
            + ")"
            for byte in char.encode()
        )
    )  # each byte written its own way, in any mix
    return "|".join(sorted(pieces, key=len, reverse=True))


@functools.cache
def _separators() -> tuple[str, ...]:
    """parse_cid's separators, and what a reader would also take for one though parse_cid
    refuses it: Unicode dashes (‐ – −) and invisible characters (soft hyphen, zero-width
    space and joiners, BOM)."""
    lookalikes = [
        chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Pd"
    ]
    lookalikes.append("\u2212")  # the minus sign (a math symbol, not a dash)
    invisible = ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
    return tuple(dict.fromkeys([*separator_characters(), *lookalikes, *invisible]))


@functools.cache
def _separator() -> str:
    return "(?:" + "|".join(_pattern(c) for c in _separators()) + ")"


@functools.cache
def _cid_run() -> re.Pattern[str]:
    # Leading separators belong to the run, so it never starts inside one: in
    # "%201101700207030" or "\\x851101700207030" the 13 digits follow a separator.
    separator = _separator()
    return re.compile(f"(?<!%)(?<!%[0-9A-Fa-f]){separator}*{_DIGIT}(?:{separator}*{_DIGIT})*")


@functools.cache
def _cid_region() -> re.Pattern[str]:
    """Stretches of 13 or more characters that any written CID spelling is made of: the full
    pattern, slow with its many separator forms, runs only where one has 13 digits."""
    alphabet = set("0123456789abcdefABCDEF%")
    for char in _separators():
        alphabet.update(*_plain_forms(char))
        for byte in char.encode():
            alphabet.update(*_byte_forms(byte))
    return re.compile("[" + "".join(re.escape(c) for c in sorted(alphabet)) + "]{13,}")


def _mask_cids(region: re.Match[str]) -> str:
    text = region.group()
    if sum(c.isdigit() and c.isascii() for c in text) < 13:  # each digit unit has a digit
        return text
    return _cid_run().sub(_mask_cid_run, text)


@functools.cache
def _cid_unit() -> re.Pattern[str]:
    return re.compile(f"(?P<digit>{_DIGIT})|{_separator()}")


def _mask_cid_run(match: re.Match[str]) -> str:
    units = [
        (unit.group(), unit.lastgroup == "digit") for unit in _cid_unit().finditer(match.group())
    ]
    digits = [index for index, (_, is_digit) in enumerate(units) if is_digit]
    plain = len(digits) == len(units)
    if len(digits) < 13 or (len(digits) != 13 and plain):
        return match.group()
    # The first digit and the last four stay, as before (1xxxxxxxx3451).
    hidden = set(digits[1:-4])
    return "".join("x" if index in hidden else text for index, (text, _) in enumerate(units))


def _mask_token_run(match: re.Match[str]) -> str:
    run = match.group()
    text = _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), run)
    kinds = sum(any(test(c) for c in text) for test in (str.islower, str.isupper, str.isdigit))
    return run if kinds < 2 else text[:4] + "***"


def redact(text: str) -> str:
    """The text with CIDs masked (1xxxxxxxx3451) and secrets cut (abcd***)."""
    text = _SCHEME_SECRET.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)
    text = _NAMED_SECRET.sub(lambda m: m.group(1) + "***", text)
    text = _TOKEN_RUN.sub(_mask_token_run, text)
    return _cid_region().sub(_mask_cids, text)


class RedactedLogRecord(logging.LogRecord):
    """A record whose message, exception and stack text come out redacted."""

    keep_whole_allowed = False

    def getMessage(self) -> str:
        message = super().getMessage()
        if self.keep_whole_allowed and getattr(self, KEEP_WHOLE, False):
            return message
        return redact(message)


def _redacted_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = RedactedLogRecord(*args, **kwargs)
    if record.exc_info and not record.exc_text:
        # Formatters use exc_text when it is set: the traceback's messages masked too.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def install(*, keep_whole_allowed: bool = False) -> None:
    """Mask every log record this process makes; ``keep_whole_allowed`` lets records marked
    KEEP_WHOLE through unmasked (development only)."""
    RedactedLogRecord.keep_whole_allowed = keep_whole_allowed
    _cid_run(), _cid_region()  # built now (in gunicorn's master), not at a worker's first line
    factory: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if factory is not _redacted_record:
        logging.setLogRecordFactory(_redacted_record)
