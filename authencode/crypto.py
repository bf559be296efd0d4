"""Keyed lookup hashes and authenticated encryption at rest, under a ring of data keys.

Each key gives two independent sub-keys (HKDF), so that the lookup hash (HMAC-SHA256) and the
encryption (AES-256-GCM) never share key material. Every ciphertext and every lookup hash
names the key that made it, so keys can be rotated while the service runs
(``authencode keys rotate``, authencode/services/data_keys.py):

- key ``0`` is the legacy ``DATA_KEY``. Its values keep the format written before keys had
  ids: a ciphertext starts with version byte 1, a hash is 64 hex digits. Data written by
  earlier versions is therefore data of key 0, and an install with DATA_KEY alone writes
  exactly what it wrote before.
- any other key (``DATA_KEYS``): a ciphertext is version byte 2, the key id's length (one
  byte) and the id, then nonce and AES-GCM output; a hash is ``<id>:<base64url HMAC>``
  (at most 12 + 1 + 43 characters, so it fits the 64-character hash columns).

The first key of the ring is the current one: it encrypts and hashes everything new. Lookups
hash the value under every key of the ring (``lookup_hashes``), current first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LEGACY_KEY_ID = "0"
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,12}")
_LEGACY_VERSION = b"\x01"
_KEYED_VERSION = b"\x02"
_NONCE_BYTES = 12


class DecryptionError(Exception):
    """Stored ciphertext could not be authenticated with the configured data keys."""


def _derive(key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(key)


@dataclass(frozen=True)
class _Key:
    key_id: str
    hash_key: bytes
    aead: AESGCM


def ciphertext_prefix(key_id: str) -> bytes:
    """The bytes every ciphertext of this key starts with."""
    if key_id == LEGACY_KEY_ID:
        return _LEGACY_VERSION
    raw = key_id.encode()
    return _KEYED_VERSION + bytes([len(raw)]) + raw


def hash_prefix(key_id: str) -> str:
    """What every lookup hash of this key starts with ("" for the legacy key: bare hex)."""
    return "" if key_id == LEGACY_KEY_ID else key_id + ":"


def key_of_ciphertext(blob: bytes) -> str | None:
    """The id of the key a ciphertext was made with, or None when it is not one of ours."""
    if blob[:1] == _LEGACY_VERSION:
        return LEGACY_KEY_ID
    if blob[:1] == _KEYED_VERSION and len(blob) > 2:
        return blob[2 : 2 + blob[1]].decode("ascii", "replace")
    return None


def key_of_hash(value: str) -> str:
    """The id of the key a lookup hash was made with (no id: the legacy key)."""
    key_id, sep, _ = value.partition(":")
    return key_id if sep else LEGACY_KEY_ID


class DataProtector:
    """Hashes values for lookup and encrypts them at rest, under the current key of a ring.

    ``DataProtector(key)`` is the legacy single key (id ``0``); ``DataProtector([(id, key),
    ...])`` a ring whose first key is current and whose others still decrypt and match.
    """

    def __init__(self, keys: bytes | Sequence[tuple[str, bytes]]) -> None:
        ring = [(LEGACY_KEY_ID, keys)] if isinstance(keys, bytes) else list(keys)
        if not ring:
            raise ValueError("at least one data key is needed")
        self._keys: dict[str, _Key] = {}
        for key_id, key in ring:
            if not KEY_ID_PATTERN.fullmatch(key_id):
                raise ValueError(f"data key id {key_id!r}: use 1-12 letters, digits, - or _")
            if len(key) != 32:
                raise ValueError(f"data key {key_id!r} must be 32 bytes")
            if key_id in self._keys:
                raise ValueError(f"data key id {key_id!r} is given twice")
            self._keys[key_id] = _Key(
                key_id,
                _derive(key, b"authencode lookup hash v1"),
                AESGCM(_derive(key, b"authencode encryption v1")),
            )
        self._current = self._keys[ring[0][0]]

    @property
    def current_key_id(self) -> str:
        return self._current.key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key of the ring, the current one first."""
        return tuple(self._keys)

    def _hash_with(self, key: _Key, value: str, purpose: str) -> str:
        message = purpose.encode() + b"\x00" + value.encode()
        digest = hmac.new(key.hash_key, message, hashlib.sha256).digest()
        if key.key_id == LEGACY_KEY_ID:
            return digest.hex()
        return key.key_id + ":" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def lookup_hash(self, value: str, purpose: str = "cid") -> str:
        """HMAC-SHA256 of the value under the current key, separated by purpose (a CID hash
        is not a PIN hash); this is what new rows store."""
        return self._hash_with(self._current, value, purpose)

    def lookup_hashes(self, value: str, purpose: str = "cid") -> list[str]:
        """The value's hash under every key of the ring, current first: what a lookup matches
        (``column.in_(...)``) while rows written under older keys remain."""
        return [self._hash_with(key, value, purpose) for key in self._keys.values()]

    def matches(self, stored_hash: str, value: str, purpose: str = "cid") -> bool:
        """Whether a stored hash (under whichever key of the ring made it) is of this value."""
        key = self._keys.get(key_of_hash(stored_hash))
        if key is None:
            return False
        return hmac.compare_digest(self._hash_with(key, value, purpose), stored_hash)

    def encrypt(self, value: str, context: str = "cid") -> bytes:
        """AES-GCM under the current key, bound to the context (a CID's ciphertext does not
        decrypt as a photo's)."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._current.aead.encrypt(nonce, value.encode(), context.encode())
        return ciphertext_prefix(self._current.key_id) + nonce + sealed

    def decrypt(self, blob: bytes, context: str = "cid") -> str:
        """The plaintext, under whichever key of the ring made it; raises DecryptionError."""
        key_id = key_of_ciphertext(blob or b"")
        if key_id is None:
            raise DecryptionError("unknown ciphertext version")
        key = self._keys.get(key_id)
        if key is None:
            raise DecryptionError(f"ciphertext of data key {key_id!r}, which is not configured")
        start = len(ciphertext_prefix(key_id))
        nonce, ciphertext = blob[start : start + _NONCE_BYTES], blob[start + _NONCE_BYTES :]
        try:
            return key.aead.decrypt(nonce, ciphertext, context.encode()).decode()
        except InvalidTag:
            raise DecryptionError(
                f"ciphertext does not authenticate with data key {key_id!r}"
            ) from None
