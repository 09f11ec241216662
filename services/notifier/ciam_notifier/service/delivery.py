"""Webhook delivery: signed (Standard Webhooks), in order per subject and endpoint, retried
with exponential backoff and jitter for `retry_period_seconds`, then dead-lettered.

A delivery is claimed under a lease (`next_attempt_at` moved ahead) in a short transaction,
POSTed outside any transaction, and its outcome recorded in another short one: no row lock or
transaction spans an outbound call, and each attempt runs on its own, so one hanging endpoint
holds one attempt slot until its timeout and never the other subjects' deliveries.

A 2xx is the endpoint's proof that it applied the change: it is published on consent.applied
(subscriber `webhook:<app>:<subscription id>`), like the SDK's acknowledgements.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_notifier import repository, signing
from ciam_notifier.errors import UnsafeWebhookUrl
from ciam_notifier.models import Delivery, Subscription
from ciam_notifier.service.fanout import FAST_LEASE, Immediate
from ciam_notifier.ssrf import WebhookGuard
from ciam_notifier.webhook_http import WebhookClient, WebhookFailed
from ciam_shared.backoff import Backoff
from ciam_shared.db import unit_of_work, utcnow
from ciam_shared.events import CloudEvent, ConsentApplied, WebhookDeadLettered
from ciam_shared.observability import tracing
from ciam_shared.outbox import stage_many
from ciam_shared.worker import WorkerLoop

log = logging.getLogger(__name__)
SOURCE = "/ciam/notifier"
OUTCOMES = Counter("ciam_webhook_attempts_total", "Webhook delivery attempts", ["outcome"])
for _outcome in ("delivered", "retry", "dead"):
    OUTCOMES.labels(_outcome)  # every series from the start: alerts see 0, not "no data"


# A claimed delivery is the claimant's until then: longer than a POST's timeout plus recording
# it. Afterwards a round may claim it again (the process that held it has stopped).
LEASE = FAST_LEASE


@dataclass(frozen=True)
class Policy:
    retry_period: timedelta
    backoff_base: float
    backoff_max: float
    concurrency: int
    poll_seconds: float
    guard: WebhookGuard
    topic_prefix: str


def subscriber_name(subscription: Subscription) -> str:
    return f"webhook:{subscription.app}:{subscription.id}"


def backoff(policy: Policy, attempts: int) -> float:
    """Exponential, capped, with full jitter over its upper half (no thundering herd)."""
    return Backoff(policy.backoff_base, policy.backoff_max).delay(attempts)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None


class DeliveryWorker:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], http: WebhookClient, policy: Policy
    ) -> None:
        self.sessions = sessions
        self.http = http
        self.policy = policy
        self._loop = WorkerLoop("deliveries", self._more, self.policy.poll_seconds)
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        # Attempts that have finished and wait to be recorded, and the task recording them.
        self._finished: list[tuple[Immediate, Outcome]] = []
        self._recorder: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._loop.wake()

    def has_capacity(self) -> bool:
        """Room for the fast path: at most `concurrency` immediate deliveries in flight."""
        return self._in_flight < self.policy.concurrency

    def deliver_now(self, immediate: list[Immediate]) -> None:
        """After a fan-out commits: POST its fast-path deliveries at once, and wake the round
        for the others."""
        if immediate:
            self._start(immediate)
        else:
            self.wake()

    def _start(self, claimed: list[Immediate]) -> None:
        """Each leased delivery is its own attempt: a hanging endpoint holds its own slot and
        nothing else (not the others of its batch, not another subject's change)."""
        self._in_flight += len(claimed)
        for one in claimed:
            task = asyncio.create_task(self._attempt(one))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _attempt(self, claim: Immediate) -> None:
        try:
            outcome = await self._send(
                claim.event_id, claim.payload, claim.subscription, claim.traceparent
            )
        except Exception:
            # The lease runs out and a round attempts it again: at least once, never lost.
            log.exception("webhook attempt failed; a later round will retry it")
            self._in_flight -= 1
            self.wake()
            return
        self._finished.append((claim, outcome))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_finished())

    async def _record_finished(self) -> None:
        """Record the outcomes of finished attempts, as many as have finished by then in one
        short transaction (under load they batch; alone, each is recorded at once). A row is
        recorded only while its lease holds: a delivery replayed or taken over meanwhile
        belongs to someone else."""
        while self._finished:
            batch, self._finished = self._finished, []
            try:
                outcomes = {claim.delivery_id: (claim, outcome) for claim, outcome in batch}
                async with unit_of_work(self.sessions) as session:
                    locked = await repository.pending_deliveries(session, list(outcomes))
                    leased = [
                        d for d in locked if d.next_attempt_at == outcomes[d.id][0].lease_until
                    ]
                    found = await repository.subscriptions_by_id(
                        session, {d.subscription_id for d in leased}
                    )
                    staged = [
                        self._record(d, found.get(d.subscription_id), outcomes[d.id][1])
                        for d in leased
                    ]
                    await stage_many(
                        session,
                        [e for e in staged if e is not None],
                        topic_prefix=self.policy.topic_prefix,
                    )
            except Exception:
                # Not recorded: the leases run out and a round attempts them again.
                log.exception("recording webhook outcomes failed; a later round will retry")
            finally:
                self._in_flight -= len(batch)
            self.wake()  # a subject's next change may be waiting for these

    async def run_forever(self) -> None:
        """Rounds while there is work, then woken or polled (`ciam_shared.worker`)."""
        await self._loop.run()

    async def _more(self) -> bool:
        return await self.run_once() > 0

    async def run_once(self) -> int:
        """Claim due deliveries, up to the free attempt slots, under a lease, in a short
        transaction; then attempt each on its own (`_start`). No transaction or row lock is
        held across a POST. Returns how many were claimed."""
        free = self.policy.concurrency - self._in_flight
        if free <= 0:
            return 0  # woken again when an attempt is recorded
        now = utcnow()
        lease_until = now + LEASE
        async with unit_of_work(self.sessions) as session:
            due = await repository.due_deliveries(session, now, free)
            if not due:
                return 0
            found = await repository.subscriptions_by_id(session, {d.subscription_id for d in due})
            claimed: list[Immediate] = []
            staged: list[CloudEvent[Any] | None] = []
            for delivery in due:
                subscription = found.get(delivery.subscription_id)
                if subscription is None or subscription.status != "active":
                    # Paused (held without spending an attempt) or deleted (dead-lettered):
                    # decided here, nothing to POST.
                    why = "subscription deleted" if subscription is None else "subscription paused"
                    staged.append(self._record(delivery, subscription, Outcome(False, error=why)))
                    continue
                delivery.next_attempt_at = lease_until
                claimed.append(
                    Immediate(
                        delivery.id,
                        delivery.event_id,
                        delivery.payload,
                        subscription,
                        lease_until,
                        delivery.traceparent,
                    )
                )
            await stage_many(
                session, [e for e in staged if e is not None], topic_prefix=self.policy.topic_prefix
            )
        self._start(claimed)
        return len(due)

    async def _send(
        self,
        event_id: uuid.UUID,
        payload: dict[str, Any],
        subscription: Subscription | None,
        traceparent: str | None = None,
    ) -> Outcome:
        """One attempt, as a span of the change's trace: the fan-out's, stored with the
        delivery (`traceparent`), or the current one on the fast path."""
        parent = tracing.extract({tracing.TRACEPARENT: traceparent}) if traceparent else None
        with tracing.tracer().start_as_current_span(
            "webhook POST",
            context=parent,
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": "POST",
                "ciam.webhook.subscription": str(subscription.id) if subscription else "",
                "ciam.webhook.event_id": str(event_id),
            },
        ) as span:
            outcome = await self._post(event_id, payload, subscription)
            if outcome.status_code is not None:
                span.set_attribute("http.response.status_code", outcome.status_code)
            if not outcome.ok:
                span.set_status(Status(StatusCode.ERROR, (outcome.error or "")[:200]))
            return outcome

    async def _post(
        self, event_id: uuid.UUID, payload: dict[str, Any], subscription: Subscription | None
    ) -> Outcome:
        if subscription is None or subscription.status != "active":
            return Outcome(False, error="subscription paused or deleted")
        try:
            # Checked again (DNS may have changed since the subscription), and the POST goes
            # to exactly the addresses checked now: no second lookup, no rebinding window.
            target = await self.policy.guard.check(subscription.url)
        except UnsafeWebhookUrl as exc:
            return Outcome(False, error=exc.detail)
        body = json.dumps(payload, separators=(",", ":")).encode()
        keys = [
            subscription.secret,
            *([subscription.previous_secret] if subscription.previous_secret else []),
        ]
        headers = signing.headers(keys, str(event_id), int(time.time()), body)
        # The receiver may continue the trace (the signature covers id, time and body only).
        headers |= tracing.current_headers()
        try:
            status = await self.http.post(target, content=body, headers=headers)
        except WebhookFailed as exc:
            return Outcome(False, error=str(exc)[:500])
        if 200 <= status < 300:
            return Outcome(True, status)
        return Outcome(False, status, f"HTTP {status}")

    def _record(
        self, delivery: Delivery, subscription: Subscription | None, outcome: Outcome
    ) -> CloudEvent[Any] | None:
        """Update the delivery with its outcome; returns the event to publish, if any."""
        now = utcnow()
        if subscription is not None and subscription.status != "active":
            # Paused: hold the delivery without spending an attempt.
            delivery.next_attempt_at = now + timedelta(seconds=self.policy.poll_seconds * 5)
            return None
        delivery.attempts += 1
        delivery.first_attempt_at = delivery.first_attempt_at or now
        delivery.last_attempt_at = now
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        if outcome.ok and subscription is not None:
            OUTCOMES.labels("delivered").inc()
            delivery.status = repository.DELIVERED
            delivery.delivered_at = now
            proof = ConsentApplied(
                subscriber=subscriber_name(subscription),
                subject_id=delivery.subject_id,
                version=delivery.version,
                event_id=delivery.event_id,
                applied_at=now,
            )
            return CloudEvent.wrap(proof, source=SOURCE)
        if subscription is None or now - delivery.first_attempt_at >= self.policy.retry_period:
            OUTCOMES.labels("dead").inc()
            delivery.status = repository.DEAD
            dead = WebhookDeadLettered(
                subject_id=delivery.subject_id,
                subscription_id=delivery.subscription_id,
                delivery_id=delivery.id,
                event_id=delivery.event_id,
                event_type_delivered=delivery.event_type,
                attempts=delivery.attempts,
                first_attempt_at=delivery.first_attempt_at,
                last_error=delivery.last_error,
            )
            return CloudEvent.wrap(dead, source=SOURCE)
        OUTCOMES.labels("retry").inc()
        delivery.next_attempt_at = now + timedelta(seconds=backoff(self.policy, delivery.attempts))
        return None
