"""The export archive: one zip of each service's JSON document plus a readable summary page
(`summary.html`, in the customer's language), made only when every service answered."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ciam_auth.i18n import text
from ciam_shared.events import PRIVACY_SERVICES

_TEMPLATES = Environment(
    loader=PackageLoader("ciam_auth", "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)
SUMMARY = "summary.html"
# Nested JSON deeper than this is shown as JSON text on the summary page (it stays whole in
# the service's file).
MAX_DEPTH = 6


@dataclass(frozen=True)
class ArchiveInfo:
    subject_id: str
    requested_at: datetime
    made_at: datetime
    locale: str


def file_name(service: str) -> str:
    return f"{service}.json"


def build(info: ArchiveInfo, documents: Mapping[str, bytes]) -> bytes:
    """The zip: `<service>.json` for each service (as it answered) and `summary.html`."""
    parsed: dict[str, Any] = {s: json.loads(documents[s]) for s in PRIVACY_SERVICES}
    locale = info.locale

    def t(key: str, **kw: object) -> str:
        return text(locale, key, **kw)

    summary = _TEMPLATES.get_template("export_summary.html").render(
        t=t,
        locale=locale,
        info=info,
        services=PRIVACY_SERVICES,
        files={s: (file_name(s), len(documents[s])) for s in PRIVACY_SERVICES},
        parts=parsed,
        max_depth=MAX_DEPTH,
        as_json=lambda value: json.dumps(value, ensure_ascii=False, indent=1),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SUMMARY, summary)
        for service in PRIVACY_SERVICES:
            archive.writestr(file_name(service), documents[service])
    return buffer.getvalue()
