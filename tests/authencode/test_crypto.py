from __future__ import annotations

import os

import pytest

from authencode.crypto import DataProtector, DecryptionError


def test_encryption_round_trips_and_is_randomised() -> None:
    p = DataProtector(os.urandom(32))
    a, b = p.encrypt("1101700207030"), p.encrypt("1101700207030")
    assert a != b
    assert b"1101700207030" not in a
    assert p.decrypt(a) == p.decrypt(b) == "1101700207030"


def test_lookup_hash_is_keyed_and_stable() -> None:
    key = os.urandom(32)
    assert DataProtector(key).lookup_hash("1101700207030") == DataProtector(key).lookup_hash(
        "1101700207030"
    )
    assert DataProtector(os.urandom(32)).lookup_hash("1101700207030") != DataProtector(
        key
    ).lookup_hash("1101700207030")
    assert DataProtector(key).lookup_hash("1", "cid") != DataProtector(key).lookup_hash("1", "pin")


def test_tampered_or_foreign_ciphertext_is_refused() -> None:
    p = DataProtector(os.urandom(32))
    blob = bytearray(p.encrypt("1101700207030"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        p.decrypt(bytes(blob))
    with pytest.raises(DecryptionError):
        DataProtector(os.urandom(32)).decrypt(p.encrypt("x"))
    with pytest.raises(DecryptionError):
        p.decrypt(p.encrypt("x", context="cid"), context="phone")
