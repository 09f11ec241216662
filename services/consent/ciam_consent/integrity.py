"""Tamper evidence and proof: the hash chain of a subject's history, and signed receipts.

The entry hash is SHA-256 over a canonical JSON of every field that matters, including the
previous entry's hash, so changing, removing or reordering any entry breaks every later hash.
Receipts are compact JWS (ES256) that anyone can verify against the published JWKS.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey, KeySet

log = logging.getLogger(__name__)


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    ).encode()


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def notice_hash(notice: Mapping[str, str]) -> str:
    return sha256_hex(canonical(dict(notice)))


@dataclass(frozen=True)
class Link:
    version: int
    fields: dict[str, Any]
    previous_hash: str | None
    entry_hash: str


def entry_hash(fields: Mapping[str, Any], previous_hash: str | None) -> str:
    return sha256_hex(canonical({**fields, "previous_hash": previous_hash}))


def first_broken(links: Sequence[Link]) -> int | None:
    """The version of the first entry whose hash or link does not hold, or None."""
    previous: str | None = None
    for link in links:
        if link.previous_hash != previous:
            return link.version
        if entry_hash(link.fields, link.previous_hash) != link.entry_hash:
            return link.version
        previous = link.entry_hash
    return None


class ReceiptSigner:
    """Signs receipts with the operator's key. Only development may go without one (a key per
    start: its receipts stop verifying after a restart)."""

    def __init__(self, pem: str, *, development: bool = False) -> None:
        if pem.strip():
            self.key = ECKey.import_key(pem)
        elif not development:
            raise ValueError(
                "CONSENT_RECEIPT_SIGNING_KEY is not set: receipts need it outside development"
            )
        else:
            log.warning("no CONSENT_RECEIPT_SIGNING_KEY: signing receipts with an ephemeral key")
            self.key = ECKey.generate_key("P-256")
        self.kid = self.key.thumbprint()

    def sign(self, receipt: Mapping[str, Any]) -> str:
        header = {"alg": "ES256", "kid": self.kid, "typ": "consent-receipt+jwt"}
        return jws.serialize_compact(header, canonical(dict(receipt)), self.key)

    def jwks(self) -> dict[str, Any]:
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "ES256"}]}


def receipt_payload(token: str) -> dict[str, Any]:
    """The claims of one of our own stored receipts (verification is for third parties)."""
    import base64

    segment = token.split(".")[1]
    padded = segment + "=" * (-len(segment) % 4)
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return payload


def verify_receipt(token: str, jwks: Mapping[str, Any]) -> dict[str, Any]:
    keys = KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]
    verified = jws.deserialize_compact(token, keys, algorithms=["ES256"])
    payload: dict[str, Any] = json.loads(verified.payload)
    return payload
