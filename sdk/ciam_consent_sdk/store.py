"""The in-memory consent states, one per subject, kept at each subject's latest version.

Versions increase by one with every change of a subject, so a record whose version is not
above the known one is stale or a duplicate (a replay, a re-publish) and is dropped. An erased
subject keeps its version at erasure, so an older state replayed after the tombstone stays out,
while a newer state brings the subject back.
"""

from __future__ import annotations

import uuid

from ciam_consent_sdk.models import ConsentState, ConsentUpdate
from ciam_consent_sdk.wire import StateRecord


class ConsentStore:
    def __init__(self) -> None:
        self._states: dict[uuid.UUID, ConsentState] = {}
        self._versions: dict[uuid.UUID, int] = {}  # live and erased subjects

    def __len__(self) -> int:
        return len(self._states)

    def get(self, subject_id: uuid.UUID) -> ConsentState | None:
        return self._states.get(subject_id)

    def version_of(self, subject_id: uuid.UUID) -> int | None:
        return self._versions.get(subject_id)

    def apply(self, record: StateRecord, *, during_bootstrap: bool = False) -> ConsentUpdate | None:
        """The change `record` makes, or None when it is stale or a duplicate."""
        if record.state is None:
            return self._erase(record, during_bootstrap=during_bootstrap)
        subject, state = record.subject_id, record.state
        known = self._versions.get(subject)
        if known is not None and state.version <= known:
            return None
        previous = self._states.get(subject)
        self._states[subject] = state
        self._versions[subject] = state.version
        return ConsentUpdate(
            subject_id=subject,
            version=state.version,
            previous=previous,
            current=state,
            event_id=record.event_id,
            erased=False,
            during_bootstrap=during_bootstrap,
        )

    def _erase(self, record: StateRecord, *, during_bootstrap: bool) -> ConsentUpdate | None:
        subject = record.subject_id
        previous = self._states.get(subject)
        known = self._versions.get(subject)
        if previous is None and known is not None and (record.version or 0) <= known:
            return None  # already erased at this version or later
        if (
            previous is not None
            and record.version is not None
            and record.version < previous.version
        ):
            return None  # the subject came back after this erasure
        # A tombstone may keep the version of the subject's last state (the erasure itself need
        # not be a new version), so an equal version erases. Without its header, the erasure
        # happened at the latest version this view knows.
        version = max(record.version or 0, known or 0)
        self._states.pop(subject, None)
        self._versions[subject] = version
        return ConsentUpdate(
            subject_id=subject,
            version=version,
            previous=previous,
            current=None,
            event_id=None,
            erased=True,
            during_bootstrap=during_bootstrap,
        )
