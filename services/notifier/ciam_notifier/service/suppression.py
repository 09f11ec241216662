"""Suppression lists follow consent changes at once, in the consumer's transaction (its one
statement, `service.changes`)."""

from __future__ import annotations

from ciam_shared.events import ConsentChange

CHANNELS = ("email", "sms")


def channels_of(data: ConsentChange) -> list[str]:
    """The channels a change suppresses or lifts: its own, or both when it names none."""
    return [data.channel] if data.channel in CHANNELS else ([] if data.channel else list(CHANNELS))
