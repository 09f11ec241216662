"""The export's archive and its progress, without servers: the zip holds each service's JSON
as it was sent and a summary page in the customer's language; a service shows as waiting
until the deadline and as failed after it."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

from ciam_auth.datarights.models import DataExport, DataExportPart
from ciam_auth.datarights.service import exports
from ciam_auth.datarights.service.archive import ArchiveInfo, build

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_the_archive_keeps_each_part_as_sent_with_a_summary_in_polish() -> None:
    documents = {
        s: json.dumps({"service": s, "verified": True, "items": [f"{s}-1"]}).encode()
        for s in ("auth", "consent", "profile", "notifier")
    }
    archive = zipfile.ZipFile(
        io.BytesIO(build(ArchiveInfo("subject-1", NOW, NOW, "pl"), documents))
    )
    for service, document in documents.items():
        assert archive.read(f"{service}.json") == document
    summary = archive.read("summary.html").decode()
    assert '<html lang="pl">' in summary and "<h1>Twoje dane</h1>" in summary
    assert "Konto i logowanie" in summary and "consent-1" in summary
    assert "<dd>tak</dd>" in summary and "True" not in summary


def test_a_service_is_waiting_until_the_deadline_and_failed_after_it() -> None:
    export = DataExport(
        id=uuid.uuid4(),
        subject_id=uuid.uuid4(),
        locale="en",
        status="collecting",
        requested_at=NOW,
        deadline_at=NOW + timedelta(minutes=10),
    )
    parts = [
        DataExportPart(export_id=export.id, service="auth", status="ready"),
        DataExportPart(export_id=export.id, service="profile", status="too_large"),
    ]
    before = exports._view(export, parts, NOW + timedelta(minutes=1))
    assert before.status == "collecting"
    assert [(s.service, s.state, s.detail) for s in before.steps] == [
        ("auth", "answered", ""),
        ("consent", "pending", ""),
        ("profile", "failed", "too_large"),
        ("notifier", "pending", ""),
    ]
    after = exports._view(export, parts, NOW + timedelta(minutes=10))
    assert after.status == "failed" and not after.downloadable
    assert [s.state for s in after.steps] == ["answered", "failed", "failed", "failed"]
    assert after.steps[1].detail == "no-answer"
