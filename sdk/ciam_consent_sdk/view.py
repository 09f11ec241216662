"""ConsentView: a brand app's always-current, in-memory view of every subject's consents."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from opentelemetry.trace import SpanKind, TracerProvider

from ciam_consent_sdk.acks import AckPublisher
from ciam_consent_sdk.feed import ConsentViewError, StateFeed
from ciam_consent_sdk.models import ConsentState, ConsentUpdate, Lag, ViewStats
from ciam_consent_sdk.rules import is_allowed
from ciam_consent_sdk.store import ConsentStore
from ciam_consent_sdk.tracing import extract, view_tracer
from ciam_consent_sdk.wire import (
    APPLIED_TOPIC,
    STATE_TOPIC,
    KafkaRecord,
    MalformedRecord,
    StateRecord,
    decode_record,
)

log = logging.getLogger(__name__)

ChangeCallback = Callable[[ConsentUpdate], Awaitable[None]]


class ConsentView:
    """Register callbacks before `start`; a view starts once.

    `kafka_options` go to every Kafka client of the view (consumer, acknowledgement producer,
    metadata admin client), so they are the connection options all of them accept:
    security_protocol, ssl_context, sasl_*, request_timeout_ms, metadata_max_age_ms. The options
    the view relies on (no consumer group, acks=all, idempotence) cannot be overridden.

    `tracer_provider`: where the spans of handled records go (OpenTelemetry's global provider
    by default, a no-op unless the app configured one); see `ciam_consent_sdk.tracing`.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic_prefix: str = "",
        subscriber: str | None = None,
        acknowledge: bool = True,
        ack_bootstrap: bool = False,
        notify_bootstrap: bool = False,
        client_id: str = "ciam-consent-sdk",
        stop_timeout: float = 10.0,
        lag_refresh_seconds: float = 5.0,
        kafka_options: Mapping[str, Any] | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        if subscriber is not None and not 1 <= len(subscriber) <= 200:
            raise ValueError("subscriber must be 1 to 200 characters")
        self.state_topic = f"{topic_prefix}{STATE_TOPIC}"
        self.applied_topic = f"{topic_prefix}{APPLIED_TOPIC}"
        self.subscriber = subscriber
        self._notify_bootstrap = notify_bootstrap
        self._ack_bootstrap = ack_bootstrap
        options = dict(kafka_options or {})
        self._feed = StateFeed(
            topic=self.state_topic,
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            handler=self._handle,
            kafka_options=options,
            stop_timeout=stop_timeout,
            lag_refresh_seconds=lag_refresh_seconds,
        )
        self._acks: AckPublisher | None = None
        if subscriber is not None and acknowledge:
            self._acks = AckPublisher(
                bootstrap_servers=bootstrap_servers,
                topic=self.applied_topic,
                subscriber=subscriber,
                client_id=f"{client_id}-acks",
                kafka_options=options,
            )
        self._store = ConsentStore()
        self._callbacks: list[ChangeCallback] = []
        self._stats = ViewStats()
        self._started = False
        self._stopped = False
        self._tracer = view_tracer(tracer_provider)

    # -- reading --------------------------------------------------------------------------

    def allowed(
        self,
        subject_id: uuid.UUID | str,
        purpose: str,
        channel: str | None = None,
        brand: str | None = None,
        *,
        at: datetime | None = None,
    ) -> bool:
        """Whether the subject's consents allow `purpose` now (or `at`); unknown means no."""
        subject = _subject(subject_id)
        if subject is None:
            return False
        return is_allowed(
            self._store.get(subject),
            purpose,
            at=at or datetime.now(UTC),
            brand=brand,
            channel=channel,
        )

    def consents(self, subject_id: uuid.UUID | str) -> ConsentState | None:
        subject = _subject(subject_id)
        return None if subject is None else self._store.get(subject)

    def __len__(self) -> int:
        """The number of subjects with consents (erased ones excluded)."""
        return len(self._store)

    @property
    def stats(self) -> ViewStats:
        """A snapshot of the counters."""
        snapshot = replace(self._stats)
        if self._acks is not None:
            snapshot.acks_sent, snapshot.ack_failures = self._acks.sent, self._acks.failed
        return snapshot

    @property
    def bootstrapped(self) -> bool:
        return self._feed.bootstrapped

    def lag(self) -> Lag:
        per_partition = self._feed.lag()
        return Lag(
            records_behind=sum(per_partition.values()),
            per_partition=per_partition,
            last_record_at=self._feed.last_record_at,
            bootstrapped=self._feed.bootstrapped,
        )

    async def caught_up(self) -> bool:
        """True when the view has handled every record the broker holds right now: what a
        fail-closed sender checks before acting on `allowed`. False while not running."""
        try:
            behind = await self._feed.records_behind_now()
        except Exception:
            return False
        return behind == 0

    def on_change(self, callback: ChangeCallback) -> ChangeCallback:
        """Call `callback` with every applied change (usable as a decorator)."""
        self._callbacks.append(callback)
        return callback

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Return once every record present at start is applied; then follow live."""
        if self._started:
            raise ConsentViewError("a ConsentView starts once; create a new one")
        self._started = True
        try:
            if self._acks is not None:
                await self._acks.start()
            await self._feed.start()
        except BaseException:
            self._stopped = True  # a view that failed to start is not running
            if self._acks is not None:
                await self._acks.stop()
            raise
        log.info(
            "consent view bootstrapped",
            extra={"topic": self.state_topic, "subjects": len(self._store)},
        )

    @property
    def stopped(self) -> bool:
        """True once `stop()` was called: the view no longer follows the topic."""
        return self._stopped

    @property
    def running(self) -> bool:
        """Started (bootstrapping or following) and not stopped."""
        return self._started and not self._stopped

    async def stop(self) -> None:
        """Finish the record in hand, stop reading and flush the acknowledgements."""
        self._stopped = True
        try:
            await self._feed.stop()
        finally:
            if self._acks is not None:
                await self._acks.stop()

    async def __aenter__(self) -> ConsentView:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- records --------------------------------------------------------------------------

    async def _handle(self, record: KafkaRecord, during_bootstrap: bool = False) -> None:
        if during_bootstrap:  # replaying history: no span per record of a bootstrap
            await self._handle_record(record, during_bootstrap)
            return
        with self._tracer.start_as_current_span(
            f"process {self.state_topic}",
            context=extract(record.headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": self.state_topic,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.offset": record.offset,
                "ciam.subscriber": self.subscriber or "",
            },
        ):
            await self._handle_record(record, during_bootstrap)

    async def _handle_record(self, record: KafkaRecord, during_bootstrap: bool) -> None:
        try:
            decoded = decode_record(record.key, record.value, record.headers)
        except MalformedRecord as error:
            self._stats.malformed += 1
            log.warning(
                "skipped a malformed consent record",
                extra={
                    "partition": record.partition,
                    "offset": record.offset,
                    "reason": str(error),
                },
            )
            return
        change = self._apply(decoded, during_bootstrap=during_bootstrap)
        if change is None:
            return
        delivered = True
        if not during_bootstrap or self._notify_bootstrap:
            delivered = await self._notify(change)
        if (
            delivered
            and self._acks is not None
            and change.event_id is not None  # erasures are not acknowledged
            and (not during_bootstrap or self._ack_bootstrap)
        ):
            await self._acks.publish(change.subject_id, change.version, change.event_id)

    def _apply(
        self, record: StateRecord, *, during_bootstrap: bool = False
    ) -> ConsentUpdate | None:
        """Apply a decoded record to memory: the change it made, or None if it was dropped."""
        change = self._store.apply(record, during_bootstrap=during_bootstrap)
        if change is None:
            self._stats.stale_dropped += 1
        elif change.erased:
            self._stats.erased += 1
        else:
            self._stats.applied += 1
        return change

    async def _notify(self, change: ConsentUpdate) -> bool:
        """Await every callback in turn; False if any failed (the change is then not acked)."""
        delivered = True
        for callback in list(self._callbacks):
            try:
                await callback(change)
            except Exception:
                delivered = False
                self._stats.callback_errors += 1
                log.exception(
                    "a consent change callback failed",
                    extra={"subject_id": str(change.subject_id), "version": change.version},
                )
        return delivered


def _subject(subject_id: uuid.UUID | str) -> uuid.UUID | None:
    if isinstance(subject_id, uuid.UUID):
        return subject_id
    try:
        return uuid.UUID(subject_id)
    except ValueError:
        return None
