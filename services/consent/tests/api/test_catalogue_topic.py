"""The purpose catalogue is published for other services (the profile service maps purposes
to data kinds from it): announced at start, staged with every new purpose or version."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from ciam_devtools.testing.plugin import eventually
from ciam_shared.events import PurposeDefined, decode
from ciam_shared.topics import CONSENT_PURPOSES

DEFINED = "dev.ciam.consent.purpose.defined.v1"


async def purposes_on_topic(bootstrap: str, prefix: str) -> dict[str, PurposeDefined]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(CONSENT_PURPOSES.name(prefix), 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        found: dict[str, PurposeDefined] = {}
        while end and await consumer.position(tp) < end:
            for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                data = decode(dict(record.headers), record.value).data
                assert isinstance(data, PurposeDefined)
                found[data.purpose_id] = data
        return found
    finally:
        await consumer.stop()


async def test_the_catalogue_is_on_the_purposes_topic_and_follows_changes(consent_api) -> None:
    api = consent_api
    kafka, prefix = api.settings.kafka_bootstrap_servers, api.settings.topic_prefix
    announced = await purposes_on_topic(kafka, prefix)
    assert announced["analytics"].data_categories == ["behavioural"]
    assert announced["order-fulfilment"].legal_basis == "dpv:Contract"
    assert DEFINED not in await api.outbox_types()  # the seed is announced, not staged

    spec = {
        "id": "surveys",
        "names": {"en": "Surveys", "pl": "Ankiety"},
        "descriptions": {"en": "Asking your opinion.", "pl": "Pytanie o opinię."},
        "legal_basis": "dpv:Consent",
        "data_categories": ["attitudinal"],
        "channels": ["email"],
        "sale_or_share": False,
        "notice": {"en": "We may ask your opinion.", "pl": "Możemy zapytać o opinię."},
    }
    created = await api.client.post("/v1/purposes", json=spec, headers=api.admin())
    assert created.status_code == 201, created.text
    version = await api.client.post(
        "/v1/purposes/surveys/versions",
        json={"notice": {"en": "v2", "pl": "v2"}, "requires_reconsent": False},
        headers=api.admin(),
    )
    assert version.status_code == 201, version.text
    assert (await api.outbox_types()).count(DEFINED) == 2

    async def published() -> PurposeDefined | None:
        found = (await purposes_on_topic(kafka, prefix)).get("surveys")
        return found if found and found.current_version == 2 else None

    surveys = await eventually(published)
    assert surveys.data_categories == ["attitudinal"]
