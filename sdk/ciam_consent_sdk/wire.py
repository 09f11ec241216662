"""The Kafka side of the contract: topic names, CloudEvents headers, decoding a state record.

Records are CloudEvents in Kafka binary mode: the value is the event data as JSON, the context
travels in `ce_*` headers and the key is the subject id. A record with no value is a tombstone:
the subject was erased, and its `ciam-version` header (when present) is its version then.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError

from ciam_consent_sdk.models import ConsentState, parse_state

STATE_TOPIC = "ciam.consent.state"
APPLIED_TOPIC = "ciam.consent.applied"
STATE_EVENT_TYPE = "dev.ciam.consent.state.v1"
APPLIED_EVENT_TYPE = "dev.ciam.consent.applied.v1"
VERSION_HEADER = "ciam-version"
SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


class KafkaRecord(Protocol):
    """The parts of aiokafka's ConsumerRecord the view reads."""

    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


class MalformedRecord(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class StateRecord:
    """A decoded record of the state topic: a subject's new state, or its erasure."""

    subject_id: uuid.UUID
    state: ConsentState | None  # None: a tombstone
    version: int | None  # None only for a tombstone without a version header
    event_id: uuid.UUID | None

    @property
    def is_tombstone(self) -> bool:
        return self.state is None


def decode_record(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]
) -> StateRecord:
    """Raises MalformedRecord for anything that is not a v1 state or a tombstone."""
    context = _headers(headers)
    key_subject = _subject_of_key(key)
    if value is None:
        if key_subject is None:
            raise MalformedRecord("a tombstone without a subject id key")
        return StateRecord(key_subject, None, _tombstone_version(context), None)
    event_type = context.get("ce_type")
    if event_type != STATE_EVENT_TYPE:
        raise MalformedRecord(f"unknown event type {event_type!r}")
    try:
        event_id = uuid.UUID(context["ce_id"])
    except (KeyError, ValueError) as error:
        raise MalformedRecord("missing or invalid ce_id") from error
    try:
        state = parse_state(value)
    except ValidationError as error:
        raise MalformedRecord(f"invalid consent state: {error.error_count()} errors") from error
    # Compaction keeps one record per key: a key naming another subject would erase the wrong one.
    if key_subject is not None and key_subject != state.subject_id:
        raise MalformedRecord("the record key is not the state's subject id")
    return StateRecord(state.subject_id, state, state.version, event_id)


def _headers(headers: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    try:
        return {name: raw.decode() for name, raw in headers}
    except (UnicodeDecodeError, AttributeError, ValueError) as error:
        raise MalformedRecord("undecodable headers") from error


def _subject_of_key(key: bytes | None) -> uuid.UUID | None:
    if key is None:
        return None
    try:
        return uuid.UUID(key.decode())
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedRecord("the record key is not a subject id") from error


def _tombstone_version(context: dict[str, str]) -> int | None:
    raw = context.get(VERSION_HEADER)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError as error:
        raise MalformedRecord(f"invalid {VERSION_HEADER} header {raw!r}") from error
