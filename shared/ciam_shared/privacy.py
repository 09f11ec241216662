"""Packing a service's part of a data export into one Kafka record, and unpacking it.

A part is a JSON document. It is compressed with gzip (JSON compresses five to ten times),
encrypted to the request's public key and base64-encoded, and travels inline in
`DataExportPart.content` when it fits `MAX_INLINE_BYTES`, which keeps the record well under
Kafka's default 1 MiB limit (`message.max.bytes`, the producer's `max_request_size`) together
with its headers. A larger part is answered `too_large`, and auth shows that service's part as
failed.

Encryption (ECIES): a fresh X25519 key per part, its agreement with the request's key through
HKDF-SHA256 (bound to the request id and the service), AES-256-GCM with the request id and the
service as associated data. `content` is `ephemeral public key (32) | nonce (12) | ciphertext`.
A part copied to another request or service does not open; once auth drops the request's
private key, the part in the log is unreadable (crypto-shredding: the log cannot be edited).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ciam_shared.db import utcnow
from ciam_shared.events.privacy import DataExportPart, DataExportRequested, PrivacyService

# Base64 of this many bytes is 800 KiB: under 1 MiB with the record's headers and envelope.
MAX_INLINE_BYTES = 600 * 1024
_KEY_BYTES, _NONCE_BYTES = 32, 12


class PartCorrupt(ValueError):
    """A part whose content does not decrypt, decode or match its checksum."""


def new_request_key() -> tuple[bytes, str]:
    """A request's key pair: the private key (raw, for the requester to keep) and the public
    key as `DataExportRequested.public_key` (raw, base64url without padding)."""
    private = X25519PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    return private.private_bytes_raw(), base64.urlsafe_b64encode(public).decode().rstrip("=")


def _public_key(text: str) -> X25519PublicKey:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return X25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise PartCorrupt("the request's public key does not decode") from exc


def _bound(request_id: object, service: str) -> bytes:
    return f"ciam-export-part:{request_id}:{service}".encode()


def _aead(shared: bytes, bound: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None, info=bound).derive(shared)
    return AESGCM(key)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # UUIDs, enums, decimals


def document_bytes(document: dict[str, Any]) -> bytes:
    """The part's JSON as it goes into the archive (indented: a person reads it too)."""
    return json.dumps(
        document, ensure_ascii=False, indent=2, sort_keys=True, default=_json_default
    ).encode()


def pack_part(
    request: DataExportRequested,
    service: PrivacyService,
    document: dict[str, Any],
    *,
    max_inline_bytes: int = MAX_INLINE_BYTES,
) -> DataExportPart:
    raw = document_bytes(document)
    compressed = gzip.compress(raw, mtime=0)
    common = {
        "subject_id": request.subject_id,
        "request_id": request.request_id,
        "service": service,
        "size": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "produced_at": utcnow(),
    }
    if len(compressed) > max_inline_bytes:
        return DataExportPart(
            **common,
            status="too_large",
            detail=f"{len(compressed)} bytes compressed, over the limit of {max_inline_bytes}",
        )
    ephemeral = X25519PrivateKey.generate()
    shared = ephemeral.exchange(_public_key(request.public_key))
    bound = _bound(request.request_id, service)
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _aead(shared, bound).encrypt(nonce, compressed, bound)
    blob = ephemeral.public_key().public_bytes_raw() + nonce + sealed
    return DataExportPart(**common, content=base64.b64encode(blob).decode("ascii"))


def unpack_part(part: DataExportPart, private_key: bytes) -> bytes:
    """The part's JSON document as bytes, decrypted with the request's private key (raw) and
    checked against its checksum."""
    if part.status != "ready":
        raise PartCorrupt(f"the part is {part.status}")
    try:
        blob = base64.b64decode(part.content, validate=True)
        ephemeral = X25519PublicKey.from_public_bytes(blob[:_KEY_BYTES])
        nonce, sealed = (
            blob[_KEY_BYTES : _KEY_BYTES + _NONCE_BYTES],
            blob[_KEY_BYTES + _NONCE_BYTES :],
        )
        shared = X25519PrivateKey.from_private_bytes(private_key).exchange(ephemeral)
        bound = _bound(part.request_id, part.service)
        raw = gzip.decompress(_aead(shared, bound).decrypt(nonce, sealed, bound))
    except (ValueError, OSError, EOFError, InvalidTag) as exc:
        raise PartCorrupt("the part does not decrypt or decode") from exc
    if hashlib.sha256(raw).hexdigest() != part.sha256 or len(raw) != part.size:
        raise PartCorrupt("the part does not match its checksum")
    return raw
