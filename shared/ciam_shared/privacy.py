"""Packing a service's part of a data export into one Kafka record, and unpacking it.

A part is a JSON document; compressed with gzip (JSON compresses five to ten times) and
base64-encoded it travels inline in `DataExportPart.content` when it fits
`MAX_INLINE_BYTES`, which keeps the record well under Kafka's default 1 MiB limit
(`message.max.bytes`, the producer's `max_request_size`) together with its headers. A larger
part is answered `too_large`, and auth shows that service's part as failed.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from datetime import datetime
from typing import Any

from ciam_shared.db import utcnow
from ciam_shared.events.privacy import DataExportPart, DataExportRequested, PrivacyService

# Base64 of this many bytes is 800 KiB: under 1 MiB with the record's headers and envelope.
MAX_INLINE_BYTES = 600 * 1024


class PartCorrupt(ValueError):
    """A part whose content does not decode or does not match its checksum."""


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
    return DataExportPart(**common, content=base64.b64encode(compressed).decode("ascii"))


def failed_part(
    request: DataExportRequested, service: PrivacyService, detail: str
) -> DataExportPart:
    return DataExportPart(
        subject_id=request.subject_id,
        request_id=request.request_id,
        service=service,
        status="failed",
        size=0,
        detail=detail,
        produced_at=utcnow(),
    )


def unpack_part(part: DataExportPart) -> bytes:
    """The part's JSON document as bytes, checked against its checksum."""
    if part.status != "ready":
        raise PartCorrupt(f"the part is {part.status}")
    try:
        raw = gzip.decompress(base64.b64decode(part.content, validate=True))
    except (ValueError, OSError, EOFError) as exc:
        raise PartCorrupt("the part does not decode") from exc
    if hashlib.sha256(raw).hexdigest() != part.sha256 or len(raw) != part.size:
        raise PartCorrupt("the part does not match its checksum")
    return raw
