"""Secrets the service keeps at rest (signing keys, TOTP secrets) are sealed with AES-256-GCM
under a key derived from the operator's `AUTH_KEY_ENCRYPTION_SECRET`, which never enters the
database: a copy of the database alone yields neither. Each use binds its own associated data,
so a sealed value cannot be moved to another purpose or another account's row.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

DEVELOPMENT_KEK = "development-only key encryption secret"


class KeyEncryption:
    """AES-256-GCM with a key derived from the operator's secret. Only development may leave
    the secret empty (a fixed, public key: nothing sealed with it is protected)."""

    def __init__(self, secret: str, *, development: bool = False) -> None:
        if not secret:
            if not development:
                raise ValueError(
                    "AUTH_KEY_ENCRYPTION_SECRET is not set: sealing needs it outside development"
                )
            log.warning("AUTH_KEY_ENCRYPTION_SECRET is empty: using the development key")
            secret = DEVELOPMENT_KEK
        self._aead = AESGCM(hashlib.sha256(secret.encode()).digest())

    def seal(self, plaintext: bytes, context: bytes = b"jwk") -> str:
        nonce = os.urandom(12)
        return base64.b64encode(nonce + self._aead.encrypt(nonce, plaintext, context)).decode()

    def open(self, sealed: str, context: bytes = b"jwk") -> bytes:
        raw = base64.b64decode(sealed)
        return self._aead.decrypt(raw[:12], raw[12:], context)


SEALED = "sealed:"


def totp_context(account_id: object) -> bytes:
    return f"totp:{account_id}".encode()


def seal_text(box: KeyEncryption, text: str, context: bytes) -> str:
    return SEALED + box.seal(text.encode(), context)


def open_text(box: KeyEncryption, stored: str, context: bytes) -> str:
    # A value written before sealing existed is in clear: it still works, and the caller seals
    # it on its next write (`is_sealed`).
    if not is_sealed(stored):
        return stored
    return box.open(stored[len(SEALED) :], context).decode()


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED)
