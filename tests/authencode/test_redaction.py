"""Log redaction: every CID spelling parse_cid accepts, in every way a log line writes it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authencode import redaction
from authencode.cid import check_digit, parse_cid, separator_characters
from authencode.redaction import KEEP_WHOLE, redact

# Where CIDs and tokens reach a log line: gunicorn's raw request line and path, a message.
CONTEXTS = (
    "GET /authencodestatus/api/check-authen-status?personalId={}&serviceDate=2026-11-22 HTTP/1.1",
    "/agent/api/latest-authen-code/{}",
    "card read refused for {} (format)",
)


@st.composite
def cids(draw: st.DrawFn) -> str:
    first12 = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=12, max_size=12)))
    return first12 + str(check_digit(first12))


def _written(char: str, draw: st.DrawFn) -> str:
    """One character as a log line may carry it (the grammar redaction must know)."""
    if char.isdigit():
        return draw(st.sampled_from([char, f"%{ord(char):02X}"]))
    ways = ["literal", "bytes", "repr", "json"] + (["plus"] if char == " " else [])
    way = draw(st.sampled_from(ways))
    if way == "literal":
        return char
    if way == "repr":
        return repr(char)[1:-1]
    if way == "json":
        return json.dumps(char)[1:-1]
    if way == "plus":
        return "+"
    # Percent-encoded UTF-8 (either case) or a WSGI string's bytes read as Latin-1 (maybe
    # repr'd), mixed.
    return "".join(
        draw(st.sampled_from([f"%{b:02X}", f"%{b:02x}", chr(b), repr(chr(b))[1:-1]]))
        for b in char.encode()
    )


@st.composite
def spellings(draw: st.DrawFn) -> tuple[str, str, str]:
    """(cid, written spelling, the spelling with its middle eight digits masked)."""
    cid = draw(cids())
    separators = st.lists(st.sampled_from(separator_characters()), max_size=2)
    chars: list[str] = draw(separators)
    for digit in cid:
        chars.append(digit)
        chars.extend(draw(separators))
    assert parse_cid("".join(chars)) == cid  # a spelling parse_cid accepts
    written, masked, index = [], [], 0
    for char in chars:
        unit = _written(char, draw)
        written.append(unit)
        if char.isdigit():
            masked.append("x" if 1 <= index <= 8 else unit)
            index += 1
        else:
            masked.append(unit)
    return cid, "".join(written), "".join(masked)


@settings(max_examples=400, deadline=None)
@given(spellings(), st.sampled_from(CONTEXTS))
def test_every_accepted_cid_spelling_is_masked(
    spelling: tuple[str, str, str], context: str
) -> None:
    _cid, written, masked = spelling
    assert redact(context.format(written)) == context.format(masked)


def test_the_spellings_of_the_review() -> None:
    assert redact("personalId=1-1017-00207-03-0") == "personalId=1-xxxx-xxxx7-03-0"
    assert redact("personalId=110170020703%30") == "personalId=1xxxxxxxx703%30"
    assert redact("?personalId=%201101700207030") == "?personalId=%201xxxxxxxx7030"
    assert redact("two: 1101700207030 3100600123456") == "two: 1xxxxxxxxxxxx xxxxxxxxx3456"


def test_lookalike_separators_parse_cid_refuses_are_masked_too() -> None:
    assert (
        redact("1\u20131017\u201300207\u201303\u20130") == "1\u2013xxxx\u2013xxxx7\u201303\u20130"
    )
    assert redact("1\u200b101700207030") == "1\u200bxxxxxxxx7030"
    assert redact("1%E2%88%92101700207030") == "1%E2%88%92xxxxxxxx7030"  # minus sign


def test_other_numbers_stay_readable() -> None:
    for text in (
        "/codes?page=12345678901234",
        "PP1000000123",
        "serviceDate=2026-11-22 10:00:00",
        "0812345678",
        "%25311101700207030",
    ):
        assert redact(text) == text


RESET_TOKEN = "Yp3rTq9Zk2LwX8vBn5Mc7Hd1Fg4Js6Ka0Qe_Rt-Uy2Io"  # secrets.token_urlsafe(32)
API_TOKEN = "ac_" + RESET_TOKEN[::-1]


@pytest.mark.parametrize(
    "text",
    [
        f"GET /clinic/reset/{RESET_TOKEN} HTTP/1.1",
        f"/clinic/reset/{RESET_TOKEN[:10]}%{ord(RESET_TOKEN[10]):02X}{RESET_TOKEN[11:]}",
        f"/authencodestatus/api/check-authen-status?access_token={API_TOKEN}",
        f"/x?token={API_TOKEN}&personalId=1",
        f"/x?api_key={API_TOKEN[:12]}",  # short, but named as a secret
        f"Authorization: Bearer {API_TOKEN[:12]}",
        f"/x?auth=Bearer%20{API_TOKEN}",
        "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJVMTIzIiwiYXVkIjoiMTIzNDU2Nzg5MCJ9.sig",
    ],
)
def test_secrets_are_cut(text: str) -> None:
    out = redact(text)
    assert "***" in out
    for secret in (RESET_TOKEN, API_TOKEN, API_TOKEN[:12], RESET_TOKEN[11:]):
        assert secret not in out


def test_qr_tokens_and_names_stay_readable() -> None:
    for text in (
        "/q/1.10675.PG0060001.0.abcd.Yp3rTq9Zk2LwX8vBn5Mc7H",
        "linebot_app.webhook handled_event_with_a_rather_long_name_here",
    ):
        assert redact(text) == text


@pytest.fixture
def redacted_logs() -> Iterator[None]:
    redaction.install()
    yield
    redaction.install()


def test_log_records_are_masked_whoever_handles_them(
    redacted_logs: None, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("tests.redaction")
    with caplog.at_level(logging.INFO):
        log.info("lookup %s by %s", "1-1017-00207-03-0", f"Bearer {API_TOKEN}")
        try:
            raise ValueError(f"bad reset {RESET_TOKEN} for 1101700207030")
        except ValueError:
            log.exception("failed")
        log.info("mail body %s", RESET_TOKEN, extra={KEEP_WHOLE: True})
    text = caplog.text
    assert "1-xxxx-xxxx7-03-0" in text and "1xxxxxxxx7030" in text
    assert "1101700207030" not in text and API_TOKEN not in text and RESET_TOKEN not in text


def test_development_mail_log_keeps_its_links(
    redacted_logs: None, caplog: pytest.LogCaptureFixture
) -> None:
    redaction.install(keep_whole_allowed=True)
    with caplog.at_level(logging.INFO):
        logging.getLogger("tests.redaction").info("link %s", RESET_TOKEN, extra={KEEP_WHOLE: True})
        logging.getLogger("tests.redaction").info("other %s", RESET_TOKEN)
    assert caplog.messages == [f"link {RESET_TOKEN}", "other Yp3r***"]
