"""The demo brand of `make run`: two brand apps of the brand `demo`, a shop and a newsletter,
registered at the auth service and started as two processes of examples/brand_app.py.

Seeded on first start: the runner registers the apps with auth's admin API (a token of the
development client, which holds `auth:admin`) and keeps their credentials in
var/demo-apps.json (mode 0600). A later start reuses an app auth still knows and registers
again one it does not (a database made afresh); it never changes a registration, so purposes
changed through the admin API stay as they were set. Each example reads its name, brand and
purposes back from the apps topic, so the registration is the one place they are declared.
`CIAM_DEMO=0` leaves the demo out.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from ciam_devtools.devstack.errors import DevStackError
from ciam_devtools.devstack.process import ManagedProcess, repo_root, require_free

BRAND = "demo"
CLIENTS_FILE = "demo-apps.json"
READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class DemoApp:
    key: str
    name: str
    purposes: tuple[str, ...]
    port_offset: int  # from the base port (the auth service's)

    @property
    def subscriber(self) -> str:
        """Its name in the consent acknowledgements (the propagation proof)."""
        return f"{BRAND}-{self.key}"


# Both use email marketing, so one withdrawal of it changes both pages.
APPS = (
    DemoApp("shop", "Demo shop", ("personalisation", "analytics", "email-marketing"), 10),
    DemoApp("newsletter", "Demo newsletter", ("email-marketing", "sms-marketing"), 11),
)


def enabled() -> bool:
    return os.environ.get("CIAM_DEMO", "1") != "0"


def default_ports(base_port: int) -> dict[str, int]:
    return {app.key: base_port + app.port_offset for app in APPS}


def seed(var: Path, auth_url: str, admin: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Register each demo app at auth unless var/ names one auth still knows: key -> its
    client_id and client_secret."""
    path = var / CLIENTS_FILE
    known: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    with httpx.Client(base_url=auth_url, timeout=10) as http:
        headers = {"authorization": f"Bearer {_admin_token(http, admin)}"}
        for app in APPS:
            if app.key in known:
                found = http.get(
                    f"/v1/admin/clients/{known[app.key]['client_id']}", headers=headers
                )
                if found.status_code == 200:
                    continue
                if found.status_code != 404:
                    raise _refused(f"looking up the demo {app.key}", found)
            created = http.post("/v1/admin/clients", json=_registration(app), headers=headers)
            if created.status_code != 201:
                raise _refused(f"registering the demo {app.key}", created)
            body = created.json()
            known[app.key] = {
                "client_id": body["client_id"],
                "client_secret": body["client_secret"],
            }
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)  # created private: the secrets are never readable by others
        path.write_text(json.dumps(known, indent=2))
        path.chmod(0o600)
    return known


def start_apps(
    stack: ExitStack,
    *,
    var: Path,
    kafka: str,
    topic_prefix: str,
    clients: Mapping[str, Mapping[str, str]],
    ports: Mapping[str, int],
    timeout: float = READY_TIMEOUT,
) -> dict[str, str]:
    """Start each example as a process (stopped when `stack` closes) and wait until its page
    answers: key -> its URL. The processes get their client id, never their secret."""
    script = repo_root() / "examples" / "brand_app.py"
    procs: dict[str, ManagedProcess] = {}
    for app in APPS:
        port = ports[app.key]
        require_free(port, f"the demo {app.key}", "CIAM_BASE_PORT")
        argv = [
            sys.executable, str(script), "--client-id", clients[app.key]["client_id"],
            "--subscriber", app.subscriber, "--port", str(port),
            "--kafka", kafka, "--topic-prefix", topic_prefix,
        ]  # fmt: skip
        log_path = var / "logs" / f"{app.subscriber}.log"
        proc = ManagedProcess(app.subscriber, argv, log_path=log_path, env=os.environ, cwd=var)
        stack.callback(proc.start().stop)
        procs[app.key] = proc
    urls: dict[str, str] = {}
    for app in APPS:
        url = f"http://127.0.0.1:{ports[app.key]}"
        procs[app.key].wait_until(lambda u=url: _answers(u), timeout=timeout, what="its page")  # type: ignore[misc]
        urls[app.key] = f"{url}/"
    return urls


def start(
    stack: ExitStack,
    *,
    var: Path,
    kafka: str,
    topic_prefix: str,
    auth_url: str,
    admin: Mapping[str, str],
    ports: Mapping[str, int],
) -> dict[str, str]:
    """What the runner calls once auth is ready and the development client exists: seed the
    demo brand, start its two apps and print one line each. Key -> page URL ({} if off)."""
    if not enabled():
        return {}
    clients = seed(var, auth_url, admin)
    urls = start_apps(
        stack, var=var, kafka=kafka, topic_prefix=topic_prefix, clients=clients, ports=ports
    )
    for app in APPS:
        print(f"demo {app.key:<10} {urls[app.key]}  ({', '.join(app.purposes)})", flush=True)
    return urls


def _registration(app: DemoApp) -> dict[str, object]:
    return {
        "name": app.name,
        "brand": BRAND,
        "scopes": ["consent:read"],
        "purposes": list(app.purposes),
        "grant_types": ["client_credentials"],
        "first_party": True,
    }


def _admin_token(http: httpx.Client, admin: Mapping[str, str]) -> str:
    response = http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "auth:admin"},
        auth=(admin["client_id"], admin["client_secret"]),
    )
    if response.status_code != 200:
        raise _refused("an admin token for the demo brand", response)
    return str(response.json()["access_token"])


def _refused(what: str, response: httpx.Response) -> DevStackError:
    # The problem's title only: a body could echo what was sent, secrets included.
    try:
        body = response.json()
    except ValueError:
        body = None
    title = (body.get("title") or body.get("error") or "") if isinstance(body, dict) else ""
    return DevStackError(f"{what}: the auth service answered {response.status_code} {title}")


def _answers(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/api/consents", timeout=2) as response:  # noqa: S310 - loopback
        return bool(response.status == 200)
