"""The one registry of Kafka topics: name, partitions, cleanup policy, retention.

No other module spells a topic name. Services create the topics they touch at start-up,
idempotently (`ensure_topics`); nothing is created by hand and the broker's auto-creation is off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

DAY_MS = 24 * 60 * 60 * 1000


class Cleanup(StrEnum):
    DELETE = "delete"
    COMPACT = "compact"


@dataclass(frozen=True, slots=True)
class Topic:
    base_name: str
    partitions: int
    cleanup: Cleanup
    retention_ms: int  # -1: keep forever
    description: str

    def name(self, prefix: str = "") -> str:
        """The topic's name on the broker; a prefix isolates test runs on a shared broker."""
        return f"{prefix}{self.base_name}"

    def configs(self) -> dict[str, str]:
        configs = {"cleanup.policy": self.cleanup.value, "retention.ms": str(self.retention_ms)}
        if self.cleanup is Cleanup.COMPACT:
            # Keep tombstones a day so a late consumer still sees an erasure.
            configs |= {"delete.retention.ms": str(DAY_MS), "min.compaction.lag.ms": "0"}
        return configs


IDENTITY_EVENTS = Topic(
    "ciam.identity.events",
    6,
    Cleanup.DELETE,
    30 * DAY_MS,
    "Identity events of the auth service (registered, verified, signed-in, linked, deleted).",
)
CONSENT_CHANGES = Topic(
    "ciam.consent.changes",
    6,
    Cleanup.DELETE,
    -1,
    "Every consent change, kept for audit and replay.",
)
CONSENT_STATE = Topic(
    "ciam.consent.state",
    6,
    Cleanup.COMPACT,
    -1,
    "The latest consents of each subject (compacted; an erased subject gets a tombstone).",
)
CONSENT_PURPOSES = Topic(
    "ciam.consent.purposes",
    1,
    Cleanup.COMPACT,
    -1,
    "The purpose catalogue, one record per purpose keyed by its id (compacted): data "
    "categories and legal basis, read by services that map purposes to data kinds.",
)
CONSENT_APPLIED = Topic(
    "ciam.consent.applied",
    6,
    Cleanup.DELETE,
    365 * DAY_MS,
    "Proof that a subscriber applied a consent change (subscriber, event id, applied at).",
)
PROFILE_EVENTS = Topic(
    "ciam.profile.events",
    6,
    Cleanup.DELETE,
    30 * DAY_MS,
    "Profile events (created, updated, merged, merge undone, erased).",
)
BRAND_APPS = Topic(
    "ciam.auth.apps",
    3,
    Cleanup.COMPACT,
    -1,
    "Brand apps (OIDC clients) keyed by client id: the latest registration of each; a deleted "
    "app gets a tombstone.",
)
NOTIFIER_DELIVERIES = Topic(
    "ciam.notifier.deliveries",
    6,
    Cleanup.DELETE,
    30 * DAY_MS,
    "Outcomes of webhook and channel deliveries.",
)
NOTIFIER_DEAD_LETTERS = Topic(
    "ciam.notifier.dead-letters",
    6,
    Cleanup.DELETE,
    30 * DAY_MS,
    "Deliveries that exhausted their retries.",
)
PRIVACY_REQUESTS = Topic(
    "ciam.privacy.requests",
    6,
    Cleanup.DELETE,
    7 * DAY_MS,
    "Requests of the privacy centre to every service: export what you hold about a subject.",
)
PRIVACY_REPLIES = Topic(
    "ciam.privacy.replies",
    6,
    Cleanup.DELETE,
    # A part of an export is personal data: kept no longer than the answer deadline needs
    # (auth keeps what it collected in its own database).
    2 * DAY_MS,
    "Answers to the privacy centre: each service's part of an export, and its confirmation "
    "that it erased a deleted subject.",
)

ALL_TOPICS: tuple[Topic, ...] = (
    IDENTITY_EVENTS,
    CONSENT_CHANGES,
    CONSENT_STATE,
    CONSENT_PURPOSES,
    CONSENT_APPLIED,
    PROFILE_EVENTS,
    BRAND_APPS,
    NOTIFIER_DELIVERIES,
    NOTIFIER_DEAD_LETTERS,
    PRIVACY_REQUESTS,
    PRIVACY_REPLIES,
)


def replication_for(brokers: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) on a cluster of `brokers`: three copies, two
    of them needed for a write, from three brokers on; one copy on one broker."""
    replicas = max(1, min(3, brokers))
    return replicas, max(1, replicas - 1)


def replicated_configs(replication_factor: int) -> dict[str, str]:
    """`min.insync.replicas` for a topic of that many replicas: all but one must have a write
    before acks=all confirms it (1 for one or two replicas, 2 for three)."""
    return {"min.insync.replicas": str(max(1, replication_factor - 1))}


# How long ensure_topics waits for new topics to have their partition leaders.
TOPIC_READY_TIMEOUT_S = 30.0


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[Topic] = ALL_TOPICS,
    *,
    prefix: str = "",
    replication_factor: int | None = None,
) -> list[str]:
    """Create the missing topics; existing ones are left as they are. Returns those created.

    Replication follows the cluster's size unless `replication_factor` is given
    (`replication_for`): on three or more brokers a topic has three replicas and
    `min.insync.replicas=2`, so a write the producers' acks=all confirmed is on two brokers."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="ciam-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in topics if t.name(prefix) not in existing]
        created: list[str] = []
        if wanted and replication_factor is None:
            brokers = (await admin.describe_cluster()).get("brokers") or ()
            replication_factor = replication_for(len(brokers))[0]
        for topic in wanted:
            new = NewTopic(
                name=topic.name(prefix),
                num_partitions=topic.partitions,
                replication_factor=replication_factor or 1,
                topic_configs=topic.configs() | replicated_configs(replication_factor or 1),
            )
            try:
                await admin.create_topics([new])
                created.append(new.name)
            except TopicAlreadyExistsError:  # another service won the race
                pass
        if created:
            log.info("created topics", extra={"topics": created})
        # Created (here or by a service that won the race) is not yet usable: the broker
        # elects the partitions' leaders a moment later. Return only once they are, so a
        # reader started next (a compacted-topic view) finds every partition.
        await _wait_usable(admin, [t.name(prefix) for t in wanted])
        return created
    finally:
        await admin.close()


async def _wait_usable(
    admin: AIOKafkaAdminClient, names: list[str], timeout: float = TOPIC_READY_TIMEOUT_S
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    pending = set(names)
    while pending:
        described = await admin.describe_topics(sorted(pending))
        for topic in described:
            partitions = topic.get("partitions") or []
            if (
                topic.get("error_code") == 0
                and partitions
                and all(p.get("leader", -1) >= 0 for p in partitions)
            ):
                pending.discard(topic["topic"])
        if pending and asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"topics not usable after {timeout} s: {sorted(pending)}")
        if pending:
            await asyncio.sleep(0.1)
