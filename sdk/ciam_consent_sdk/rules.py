"""Whether a subject's consent state allows a purpose, for a brand and a channel.

A record applies when its purpose matches and its brand and channel are either unset (it
covers all) or equal to the asked ones. Among applicable records the latest change decides,
whether it is global or narrow: a newer global withdrawal overrides an older brand grant, and a
newer brand denial overrides an older global grant for that brand only. On a tie the more
specific record decides, and between equally specific ones a refusal wins (fail closed).
"""

from __future__ import annotations

from datetime import datetime

from ciam_consent_sdk.models import ConsentState, ConsentStateItem, ConsentStatus


def applies(
    item: ConsentStateItem, purpose: str, *, brand: str | None, channel: str | None
) -> bool:
    return (
        item.purpose == purpose
        and (item.brand is None or item.brand == brand)
        and (item.channel is None or item.channel == channel)
    )


def deciding_record(
    state: ConsentState, purpose: str, *, brand: str | None = None, channel: str | None = None
) -> ConsentStateItem | None:
    applicable = [c for c in state.consents if applies(c, purpose, brand=brand, channel=channel)]
    if not applicable:
        return None
    return max(applicable, key=_precedence)


def is_allowed(
    state: ConsentState | None,
    purpose: str,
    *,
    at: datetime,
    brand: str | None = None,
    channel: str | None = None,
) -> bool:
    if state is None:
        return False
    record = deciding_record(state, purpose, brand=brand, channel=channel)
    if record is None or record.status != ConsentStatus.GRANTED:
        return False
    # The server's "expired" change may not have arrived yet: an expired grant is no grant.
    return record.expires_at is None or record.expires_at > at


def _precedence(item: ConsentStateItem) -> tuple[int, int, bool]:
    specificity = (item.brand is not None) + (item.channel is not None)
    return item.version, specificity, item.status != ConsentStatus.GRANTED
