"""Consent decisions of the profile service, answered from memory: the SDK's ConsentView
(fed by the compacted consent state topic) and the purpose catalogue (fed by the purposes
topic). Unknown means no.

A merged profile is a cluster of subjects (the survivor and those merged into it). For it the
most restrictive consent wins: a purpose is allowed when the survivor's consents allow it and
no other member's consents refuse it (a member the consent service never heard of, such as
an anonymous device that never answered a banner, has nothing to refuse with).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ciam_consent_sdk import ConsentView
from ciam_profile.catalogue import PurposeCatalogue
from ciam_profile.fields import DataKind


class Refusal(StrEnum):
    NO_CONSENT = "no_consent"
    GPC = "gpc"
    UNKNOWN_SUBJECT = "unknown_subject"


@dataclass(frozen=True, slots=True)
class Cluster:
    root: uuid.UUID
    members: tuple[uuid.UUID, ...]  # the root first
    known: bool  # the root is a registered customer
    gpc: bool  # some anonymous member sent Global Privacy Control


class ConsentGate:
    def __init__(
        self, view: ConsentView, catalogue: PurposeCatalogue, *, tracking_purpose: str
    ) -> None:
        self.view = view
        self.catalogue = catalogue
        self.tracking_purpose = tracking_purpose

    def purpose_allowed(
        self,
        members: Sequence[uuid.UUID],
        purpose: str,
        *,
        brand: str | None,
        channel: str | None = None,
    ) -> bool:
        info = self.catalogue.get(purpose)
        if info is None:
            return False
        if not info.requires_consent:
            return True
        root, others = members[0], members[1:]
        if not self.view.allowed(root, purpose, channel=channel, brand=brand):
            return False
        return all(
            self.view.consents(m) is None
            or self.view.allowed(m, purpose, channel=channel, brand=brand)
            for m in others
        )

    def allowed_kinds(
        self, members: Sequence[uuid.UUID], purposes: Iterable[str], *, brand: str | None
    ) -> frozenset[DataKind]:
        kinds: set[DataKind] = set()
        for purpose in purposes:
            info = self.catalogue.get(purpose)
            if info is not None and self.purpose_allowed(members, purpose, brand=brand):
                kinds |= info.kinds
        return frozenset(kinds)

    def tracking_refusal(
        self, cluster: Cluster, *, brand: str | None, channel: str, gpc: bool
    ) -> Refusal | None:
        """Why an event may not be stored, or None. An anonymous visitor with GPC is never
        tracked, whatever a banner said."""
        if not cluster.known and (gpc or cluster.gpc):
            return Refusal.GPC
        allowed = self.purpose_allowed(
            cluster.members, self.tracking_purpose, brand=brand, channel=channel
        )
        return None if allowed else Refusal.NO_CONSENT
