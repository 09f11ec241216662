"""The SDK mirrors the platform's consent contracts without importing them: keep them in step."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

from ciam_consent_sdk import APPLIED_TOPIC, STATE_TOPIC, ConsentStatus
from ciam_consent_sdk import ConsentApplied as SdkApplied
from ciam_consent_sdk.acks import encode_applied
from ciam_consent_sdk.models import dump_state
from ciam_consent_sdk.wire import (
    APPLIED_EVENT_TYPE,
    STATE_EVENT_TYPE,
    VERSION_HEADER,
    decode_record,
)
from ciam_shared.events import (
    CloudEvent,
    ConsentApplied,
    ConsentState,
    ConsentStateItem,
    decode,
    encode,
)
from ciam_shared.events import ConsentStatus as PlatformStatus
from ciam_shared.outbox import VERSION_HEADER as PLATFORM_VERSION_HEADER
from ciam_shared.topics import CONSENT_APPLIED, CONSENT_STATE


def platform_state() -> ConsentState:
    now = datetime.now(UTC)
    return ConsentState(
        subject_id=uuid.uuid4(),
        version=3,
        updated_at=now,
        consents=[
            ConsentStateItem(
                purpose="marketing",
                purpose_version=2,
                status=PlatformStatus.GRANTED,
                version=3,
                updated_at=now,
                expires_at=now + timedelta(days=365),
            ),
            ConsentStateItem(
                purpose="marketing",
                purpose_version=2,
                brand="brand-a",
                channel="sms",
                status=PlatformStatus.WITHDRAWN,
                version=2,
                updated_at=now,
            ),
        ],
    )


def test_topic_names_event_types_and_headers_are_the_platforms() -> None:
    sdk = (STATE_TOPIC, APPLIED_TOPIC, STATE_EVENT_TYPE, APPLIED_EVENT_TYPE, VERSION_HEADER)
    assert sdk == (
        CONSENT_STATE.base_name,
        CONSENT_APPLIED.base_name,
        ConsentState.event_type,
        ConsentApplied.event_type,
        PLATFORM_VERSION_HEADER,
    )


def test_the_sdk_knows_every_status_of_the_platform() -> None:
    assert {s.value for s in ConsentStatus} == {s.value for s in PlatformStatus}


def test_the_sdk_parses_exactly_what_the_platform_state_model_emits() -> None:
    event = CloudEvent.wrap(platform_state(), source="/consent")
    key, value, headers = encode(event)
    record = decode_record(key, value, [(k, v.encode()) for k, v in headers.items()])
    assert record.state is not None
    assert dump_state(record.state) == event.data.model_dump(mode="json")
    assert (record.subject_id, record.version, record.event_id) == (
        event.data.subject_id,
        3,
        event.id,
    )
    global_item = record.state.consents[0]
    assert (global_item.brand, global_item.channel) == (None, None)
    assert global_item.status is ConsentStatus.GRANTED
    assert record.state.consents[1].expires_at is None


def test_a_field_added_to_the_state_later_does_not_break_the_sdk() -> None:
    event = CloudEvent.wrap(platform_state(), source="/consent")
    key, value, headers = encode(event)
    widened = value.replace(b'{"subject_id"', b'{"region":"eu","subject_id"', 1)
    record = decode_record(key, widened, [(k, v.encode()) for k, v in headers.items()])
    assert record.state is not None and record.state.subject_id == event.data.subject_id


def test_the_platform_parses_the_sdk_acknowledgement() -> None:
    ack = SdkApplied(
        subscriber="brand-a-crm",
        subject_id=uuid.uuid4(),
        version=3,
        event_id=uuid.uuid4(),
        applied_at=datetime.now(UTC),
    )
    key, value, headers = encode_applied(ack)
    event = decode(dict(headers), value)
    assert isinstance(event.data, ConsentApplied)
    assert event.data.model_dump(mode="json") == ack.model_dump(mode="json")
    assert key == str(ack.subject_id).encode()
    assert (event.type, event.source, event.subject, event.specversion) == (
        ConsentApplied.event_type,
        "/sdk/brand-a-crm",
        str(ack.subject_id),
        "1.0",
    )
    assert dict(headers)["content-type"] == b"application/json"


def test_the_sdk_imports_nothing_of_the_platform() -> None:
    code = (
        "import sys, ciam_consent_sdk; "
        "print(sorted(m for m in sys.modules if m.startswith('ciam_') and "
        "not m.startswith('ciam_consent_sdk')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
