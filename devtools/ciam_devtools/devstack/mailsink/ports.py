"""The sink's ports, until the runner chooses every port in one place: CIAM_MAIL_PORT (SMTP)
and CIAM_MAIL_WEB_PORT (the page), else next to the base port (8025 and 8026 with the default
base 8001; "25" echoes SMTP's own port)."""

from __future__ import annotations

import os

SMTP_OFFSET = 24
WEB_OFFSET = 25
DEFAULT_BASE_PORT = 8001


def mail_ports(base_port: int = DEFAULT_BASE_PORT) -> tuple[int, int]:
    """(SMTP port, page port)."""
    smtp = os.environ.get("CIAM_MAIL_PORT") or base_port + SMTP_OFFSET
    web = os.environ.get("CIAM_MAIL_WEB_PORT") or base_port + WEB_OFFSET
    return int(smtp), int(web)


def mail_env(service: str, smtp_port: int, host: str = "127.0.0.1") -> dict[str, str]:
    """What points `service` (auth, notifier) at the sink; nothing where the environment names
    its own mail server (<SERVICE>_SMTP_HOST or _PORT), or for a service that sends no mail."""
    if service not in ("auth", "notifier"):
        return {}
    prefix = service.upper()
    if {f"{prefix}_SMTP_HOST", f"{prefix}_SMTP_PORT"} & set(os.environ):
        return {}
    return {f"{prefix}_SMTP_HOST": host, f"{prefix}_SMTP_PORT": str(smtp_port)}
