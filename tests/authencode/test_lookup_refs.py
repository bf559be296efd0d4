"""Lookup references: a CID sealed for one staff session and 30 minutes, opaque in a URL."""

from __future__ import annotations

import datetime as dt

import pytest

from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.services import lookup_refs
from tests.support.shared import TEST_DATA_KEY

CID = "1101700207030"
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def protector() -> DataProtector:
    return DataProtector(TEST_DATA_KEY)


def _code(call) -> str:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.code


def test_a_reference_opens_in_its_session_only_and_shows_no_digits_of_the_cid(protector) -> None:
    ref = lookup_refs.make_ref(protector, "1-1017-00207-03-0", "session-a", now=NOW)
    assert lookup_refs.read_ref(protector, ref, "session-a", now=NOW) == CID
    assert CID[1:5] not in ref and len(ref) < 100
    assert ref != lookup_refs.make_ref(protector, CID, "session-a", now=NOW)  # a fresh nonce
    for other in ("session-b", "", "session-a "):
        assert _code(lambda o=other: lookup_refs.read_ref(protector, ref, o, now=NOW)) == (
            "LOOKUP_REF_INVALID"
        )


def test_a_reference_lasts_its_lifetime_and_not_a_second_more(protector) -> None:
    ref = lookup_refs.make_ref(protector, CID, "s", now=NOW)
    last = NOW + lookup_refs.LIFETIME - dt.timedelta(seconds=1)
    assert lookup_refs.read_ref(protector, ref, "s", now=last) == CID
    ended = NOW + lookup_refs.LIFETIME
    assert _code(lambda: lookup_refs.read_ref(protector, ref, "s", now=ended)) == (
        "LOOKUP_REF_EXPIRED"
    )


@pytest.mark.parametrize("bad", ["", "   ", "abc", "!!!!", "A" * 201, "AQ", "%00"])
def test_garbage_is_refused_as_invalid(protector, bad) -> None:
    assert _code(lambda: lookup_refs.read_ref(protector, bad, "s", now=NOW)) == (
        "LOOKUP_REF_INVALID"
    )


def test_an_altered_reference_is_refused(protector) -> None:
    ref = lookup_refs.make_ref(protector, CID, "s", now=NOW)
    for position in (0, len(ref) // 2, len(ref) - 1):
        changed = ref[:position] + ("B" if ref[position] == "A" else "A") + ref[position + 1 :]
        assert _code(lambda c=changed: lookup_refs.read_ref(protector, c, "s", now=NOW)) == (
            "LOOKUP_REF_INVALID"
        )


def test_an_invalid_cid_makes_no_reference(protector) -> None:
    assert _code(lambda: lookup_refs.make_ref(protector, "1101700207031", "s")) == (
        "CID_CHECK_DIGIT"
    )


def test_a_reference_survives_a_key_rotation_while_the_old_key_is_configured() -> None:
    old = DataProtector([("0", TEST_DATA_KEY)])
    ref = lookup_refs.make_ref(old, CID, "s", now=NOW)
    rotated = DataProtector([("k2", bytes(range(32))), ("0", TEST_DATA_KEY)])
    assert lookup_refs.read_ref(rotated, ref, "s", now=NOW) == CID
    assert (
        lookup_refs.read_ref(
            rotated, lookup_refs.make_ref(rotated, CID, "s", now=NOW), "s", now=NOW
        )
        == CID
    )
