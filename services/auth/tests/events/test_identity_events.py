"""The identity events reach Kafka through the outbox, keyed by the subject, with no personal
data in clear (no email address in any value or header)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer

from ciam_devtools.testing.plugin import eventually
from ciam_shared.events import decode
from ciam_shared.topics import IDENTITY_EVENTS

from ..conftest import PASSWORD, Auth


async def test_identity_events_reach_kafka_without_personal_data(
    auth: Auth, kafka_bootstrap: str
) -> None:
    subject = await auth.verified_account("private.person@example.com")
    await auth.client.post(
        "/v1/sessions", json={"email": "private.person@example.com", "password": PASSWORD}
    )
    await auth.client.post(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "another fine passphrase"},
    )
    await auth.client.request("DELETE", "/v1/me", json={"password": "another fine passphrase"})

    consumer = AIOKafkaConsumer(
        IDENTITY_EVENTS.name(auth.prefix),
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list = []
    try:

        async def all_five() -> bool:
            batch = await consumer.getmany(timeout_ms=200)
            for partition_records in batch.values():
                records.extend(partition_records)
            return len(records) >= 5

        await eventually(all_five)
    finally:
        await consumer.stop()
    events = [decode({k: v for k, v in r.headers}, r.value) for r in records]
    assert [e.type.split(".identity.")[1] for e in events] == [
        "user.registered.v1",
        "email.verified.v1",
        "user.signed-in.v1",
        "password.changed.v1",
        "user.deleted.v1",
    ]
    assert {e.subject for e in events} == {subject}
    assert all(r.key == subject.encode() for r in records)
    for record in records:
        assert b"private.person" not in record.value and b"@" not in record.value
        assert all(b"@" not in v for _, v in record.headers)
    signed_in = next(e for e in events if e.type.endswith("signed-in.v1"))
    assert signed_in.data.model_dump()["channel"] == "api"
