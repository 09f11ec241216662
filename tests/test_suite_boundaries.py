"""A service's own test suite never writes another service's tables: it imports none of that
service's ORM models or repositories, and goes through its API or its events instead (a
cross-service proof lives here, in tests/, against the real services)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SERVICES = ("auth", "profile", "consent", "notifier")
DATA_LAYERS = {"models", "repository"}


def data_imports_of_other_services(service: str, source: str) -> list[str]:
    """The modules of other services' data layers that `source` imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            package, *rest = name.split(".")
            others = {f"ciam_{other}" for other in SERVICES if other != service}
            if package in others and DATA_LAYERS & set(rest):
                found.append(name)
    return sorted(set(found))


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_suite_imports_no_other_services_models(service: str) -> None:
    suite = ROOT / "services" / service / "tests"
    reaching = {
        str(path.relative_to(ROOT)): imports
        for path in sorted(suite.rglob("*.py"))
        if (imports := data_imports_of_other_services(service, path.read_text()))
    }
    assert reaching == {}


def test_the_check_sees_an_import_of_another_services_models() -> None:
    source = "from ciam_auth.models import Account\nimport ciam_auth.social.models\n"
    assert data_imports_of_other_services("profile", source) == [
        "ciam_auth.models",
        "ciam_auth.models.Account",
        "ciam_auth.social.models",
    ]
    assert data_imports_of_other_services("auth", source) == []
