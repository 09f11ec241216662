import base64
import json
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ciam_shared.events import (
    CloudEvent,
    DataExportRequested,
    UnknownEventType,
    UserRegistered,
    decode,
    encode,
    event_type_registry,
)
from ciam_shared.events.__main__ import export
from ciam_shared.privacy import PartCorrupt, new_request_key, pack_part, unpack_part


def registered() -> CloudEvent[UserRegistered]:
    data = UserRegistered(subject_id=uuid.uuid4(), registered_at=datetime.now(UTC))
    return CloudEvent.wrap(data, source="/tests")


def test_an_event_travels_as_binary_cloudevent_keyed_by_subject() -> None:
    event = registered()
    key, value, headers = encode(event)
    assert key == str(event.data.subject_id).encode()
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == "dev.ciam.identity.user.registered.v1"
    assert headers["ce_subject"] == str(event.data.subject_id)
    assert json.loads(value)["subject_id"] == str(event.data.subject_id)
    decoded = decode({k: v.encode() for k, v in headers.items()}, value)
    assert decoded == event


def test_an_unknown_event_type_is_refused_by_name() -> None:
    _, value, headers = encode(registered())
    headers["ce_type"] = "dev.ciam.nothing.v1"
    with pytest.raises(UnknownEventType, match=r"dev\.ciam\.nothing\.v1"):
        decode(headers, value)


def test_every_event_type_is_versioned_and_names_its_topic() -> None:
    registry = event_type_registry()
    assert registry, "no event types registered"
    for event_type, model in registry.items():
        assert event_type.rsplit(".", 1)[-1].startswith("v"), event_type
        assert model.topic_base_name.startswith("ciam.")


def test_event_schemas_export_as_json_schema(tmp_path) -> None:
    written = export(tmp_path)
    names = {p.name for p in written}
    assert "dev.ciam.identity.user.registered.v1.json" in names
    schema = json.loads((tmp_path / "dev.ciam.identity.user.registered.v1.json").read_text())
    assert schema["x-kafka-topic"] == "ciam.identity.events"
    assert "subject_id" in schema["required"]


def test_the_committed_json_schemas_match_the_models(tmp_path) -> None:
    committed = Path(__file__).resolve().parents[1] / "schemas"
    export(tmp_path)
    fresh = {p.name: p.read_text() for p in tmp_path.glob("*.json")}
    kept = {p.name: p.read_text() for p in committed.glob("*.json")}
    assert fresh == kept, "run `make schemas` and commit shared/schemas"


def test_an_export_part_round_trips_and_a_too_large_one_says_so() -> None:
    private_key, public_key = new_request_key()
    request = DataExportRequested(
        subject_id=uuid.uuid4(),
        request_id=uuid.uuid4(),
        requested_at=datetime.now(UTC),
        public_key=public_key,
    )
    document = {
        "name": "Zażółć",
        "when": datetime(2026, 1, 1, tzinfo=UTC),
        "id": request.request_id,
    }
    part = pack_part(request, "profile", document)
    assert part.status == "ready" and part.size > 0
    assert "Za" not in base64.b64decode(part.content).decode(errors="replace")  # encrypted
    assert json.loads(unpack_part(part, private_key)) == {
        "name": "Zażółć",
        "when": "2026-01-01T00:00:00+00:00",
        "id": str(request.request_id),
    }
    # Incompressible content over the inline limit is not sent; the part says why.
    big = {"blob": secrets.token_hex(2000)}
    too_large = pack_part(request, "profile", big, max_inline_bytes=1000)
    assert (too_large.status, too_large.content) == ("too_large", "")
    with pytest.raises(PartCorrupt):
        unpack_part(too_large, private_key)
    tampered = part.model_copy(update={"sha256": "0" * 64})
    with pytest.raises(PartCorrupt):
        unpack_part(tampered, private_key)
    # Another key, or the part claimed for another service, does not open it.
    with pytest.raises(PartCorrupt):
        unpack_part(part, new_request_key()[0])
    with pytest.raises(PartCorrupt):
        unpack_part(part.model_copy(update={"service": "consent"}), private_key)
