"""Keyed lookup hashes and authenticated encryption at rest, both derived from DATA_KEY.

Two independent sub-keys are derived with HKDF so that the lookup hash (HMAC-SHA256) and the
encryption (AES-256-GCM) never share key material.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
_NONCE_BYTES = 12


class DecryptionError(Exception):
    """Stored ciphertext could not be authenticated with the configured DATA_KEY."""


def _derive(key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(key)


class DataProtector:
    """Hashes values for lookup and encrypts them at rest."""

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != 32:
            raise ValueError("DATA_KEY must be 32 bytes")
        self._hash_key = _derive(data_key, b"authencode lookup hash v1")
        self._aead = AESGCM(_derive(data_key, b"authencode encryption v1"))

    def lookup_hash(self, value: str, purpose: str = "cid") -> str:
        """Hex HMAC-SHA256 of the value, separated by purpose (a CID hash is not a PIN hash)."""
        message = purpose.encode() + b"\x00" + value.encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()

    def encrypt(self, value: str, context: str = "cid") -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, value.encode(), context.encode())

    def decrypt(self, blob: bytes, context: str = "cid") -> str:
        if not blob or blob[:1] != _VERSION:
            raise DecryptionError("unknown ciphertext version")
        nonce, ciphertext = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, context.encode()).decode()
        except InvalidTag:
            raise DecryptionError("ciphertext does not authenticate with DATA_KEY") from None
