"""The layering of ciam_auth (docs/architecture.md, "One layout for every service"), read from
the source: adapters and settings are leaves, routes never query, use cases never commit."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import ciam_auth

PACKAGE = Path(ciam_auth.__file__).parent
CAPABILITIES = ("accounts", "sessions", "oidc", "social")
# A wrong email code is counted in a transaction of its own, so that the count survives the
# request's rollback (docs/services/auth.md, "Layout").
OWN_TRANSACTION = {"accounts/service/email_tokens.py"}


def _modules(*parts: str) -> list[Path]:
    root = PACKAGE.joinpath(*parts)
    return sorted(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_the_adapters_import_nothing_of_the_service() -> None:
    offending = {
        str(path.relative_to(PACKAGE)): sorted(
            i for i in _imports(path) if i.startswith("ciam_auth") and ".adapters" not in i
        )
        for path in _modules("adapters")
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_the_settings_load_without_the_database_or_the_domain() -> None:
    probe = (
        "import sys, ciam_auth.settings as s; s.AuthSettings(environment='development');"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', "
        "'ciam_auth.models', 'ciam_shared.db')) or m.endswith(('.repository', '.service')))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


def test_routes_reach_the_database_only_through_their_use_cases() -> None:
    offending = {
        str(path.relative_to(PACKAGE)): sorted(i for i in _imports(path) if "repository" in i)
        for capability in CAPABILITIES
        for path in _modules(capability, "api")
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_use_cases_never_commit() -> None:
    services = [p for c in CAPABILITIES for p in _modules(c, "service")]
    assert len(services) > 10
    committing = []
    for path in services:
        name = str(path.relative_to(PACKAGE))
        source = path.read_text(encoding="utf-8")
        if name in OWN_TRANSACTION:
            continue
        if any(word in source for word in (".commit(", "unit_of_work", ".begin(")):
            committing.append(name)
    assert committing == []
