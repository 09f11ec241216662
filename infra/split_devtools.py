"""Split the dev and test tooling out of `ciam_shared` into the workspace package
`ciam_devtools` (devtools/), which no service image contains (issue 18, item 4).

Run from the repository root, on a clean tree: `python3 infra/split_devtools.py`. It moves
`ciam_shared/devstack` and `ciam_shared/testing` (and the tests of the dev stack), rewrites
every reference in the tracked text files, updates pyproject.toml (workspace, dev group,
pytest plugin, mypy path, import contracts), shared's pyproject, the Makefile, then runs
`uv lock` and ruff's import sorting. It can be run again (on a branch made before the split):
what is already done is left as it is.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path.cwd()
MOVES = {
    "shared/ciam_shared/devstack": "devtools/ciam_devtools/devstack",
    "shared/ciam_shared/testing": "devtools/ciam_devtools/testing",
}
MOVED_TESTS = ["test_devstack_errors.py", "test_devstack_kept.py", "test_devstack_probes.py"]
MOVED_TESTS += ["test_mailsink.py"]
# Order matters: paths before module names.
REWRITES = [
    ("shared/ciam_shared/devstack", "devtools/ciam_devtools/devstack"),
    ("shared/ciam_shared/testing", "devtools/ciam_devtools/testing"),
    ("ciam_shared/devstack", "ciam_devtools/devstack"),
    ("ciam_shared/testing", "ciam_devtools/testing"),
    ("ciam_shared.devstack", "ciam_devtools.devstack"),
    ("ciam_shared.testing", "ciam_devtools.testing"),
    *((f"shared/tests/{name}", f"devtools/tests/{name}") for name in MOVED_TESTS),
]
DEVTOOLS_PYPROJECT = """\
[project]
name = "ciam-devtools"
version = "0.1.0"
description = "Dev and test tooling: the local stack and the pytest plugin (in no service image)"
requires-python = ">=3.11"
dependencies = [
    "ciam-shared",
    # The runner's mail sink (ciam_devtools.devstack.mailsink).
    "aiosmtpd>=1.4",
    "pytest>=9.0",
    "pytest-asyncio>=1.3",
    "schemathesis>=4.3",
]

[tool.uv.sources]
ciam-shared = { workspace = true }

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["ciam_devtools"]
"""
DEVTOOLS_INIT = '''"""Dev and test tooling, kept out of the runtime package `ciam_shared` and
out of every service image: `devstack` (the local processes behind `make run` and the tests)
and `testing` (the pytest plugin and its helpers)."""
'''
OLD_CONTRACT = """\
[[tool.importlinter.contracts]]
name = "No runtime module imports the dev or test tooling (devstack, testing)"
type = "protected"
protected_modules = ["ciam_shared.devstack", "ciam_shared.testing"]
allowed_importers = ["ciam_shared.devstack", "ciam_shared.testing"]
"""
NEW_CONTRACT = """\
[[tool.importlinter.contracts]]
name = "No runtime module imports the dev or test tooling (ciam_devtools)"
type = "forbidden"
source_modules = [
    "ciam_shared", "ciam_consent_sdk", "ciam_auth", "ciam_profile", "ciam_consent", "ciam_notifier",
]
forbidden_modules = ["ciam_devtools"]
"""
ROOT_MAILSINK_DEPENDENCY = """\
    "ciam-consent-sdk",
    # The runner's mail sink (ciam_shared.devstack.mailsink): `make run` needs it, not only the
    # tests, and no service image does (they install their own package alone).
    "aiosmtpd>=1.4",
]
"""


def run(*command: str) -> None:
    print("+", " ".join(command))
    subprocess.run(command, check=True, cwd=ROOT)


def edit(path: str, change: Callable[[str], str]) -> None:
    file = ROOT / path
    text = file.read_text(encoding="utf-8")
    new = change(text)
    if new != text:
        file.write_text(new, encoding="utf-8")


def replace_once(old: str, new: str, *, done_when: str) -> Callable[[str], str]:
    def change(text: str) -> str:
        if done_when in text:
            return text
        if old not in text:
            sys.exit(f"split_devtools: expected text not found: {old!r}")
        return text.replace(old, new, 1)

    return change


def move() -> None:
    for source, target in MOVES.items():
        if (ROOT / source).exists():
            (ROOT / target).parent.mkdir(parents=True, exist_ok=True)
            run("git", "mv", source, target)
    (ROOT / "devtools/tests").mkdir(parents=True, exist_ok=True)
    for name in MOVED_TESTS:
        if (ROOT / "shared/tests" / name).exists():
            run("git", "mv", f"shared/tests/{name}", f"devtools/tests/{name}")
    for path, text in [
        ("devtools/pyproject.toml", DEVTOOLS_PYPROJECT),
        ("devtools/ciam_devtools/__init__.py", DEVTOOLS_INIT),
        ("devtools/ciam_devtools/py.typed", ""),
    ]:
        if not (ROOT / path).exists():
            (ROOT / path).write_text(text, encoding="utf-8")
    run("git", "add", "devtools")


def rewrite_references() -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], check=True, cwd=ROOT, capture_output=True
    ).stdout.split(b"\0")
    for name in files:
        path = ROOT / name.decode()
        if not name or path.name == "uv.lock" or "node_modules" in path.parts:
            continue
        if path.name == "split_devtools.py" or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        new = text
        for old, replacement in REWRITES:
            new = new.replace(old, replacement)
        if new != text:
            path.write_text(new, encoding="utf-8")


def rewritten(text: str) -> str:
    for old, replacement in REWRITES:
        text = text.replace(old, replacement)
    return text


def root_pyproject() -> None:
    # rewrite_references has run: the old texts carry the new module names by now.
    for old, new, done_when in [
        (rewritten(ROOT_MAILSINK_DEPENDENCY), '    "ciam-consent-sdk",\n]\n', '"ciam-devtools"'),
        ("dev = [\n", 'dev = [\n    "ciam-devtools",\n', '    "ciam-devtools",\n'),
        (
            'members = ["shared", "services/*", "sdk"]',
            'members = ["shared", "services/*", "sdk", "devtools"]',
            '"sdk", "devtools"]',
        ),
        (
            "ciam-consent-sdk = { workspace = true }\n",
            "ciam-consent-sdk = { workspace = true }\nciam-devtools = { workspace = true }\n",
            "ciam-devtools = { workspace = true }",
        ),
        (
            'testpaths = ["shared/tests", ',
            'testpaths = ["shared/tests", "devtools/tests", ',
            '"devtools/tests"',
        ),
        (
            'mypy_path = ["sdk", "shared", ',
            'mypy_path = ["sdk", "shared", "devtools", ',
            '"shared", "devtools"',
        ),
        (
            'known-first-party = ["ciam_consent_sdk", "ciam_shared", ',
            'known-first-party = ["ciam_consent_sdk", "ciam_shared", "ciam_devtools", ',
            '"ciam_shared", "ciam_devtools"',
        ),
        (
            'root_packages = [\n    "ciam_shared",\n',
            'root_packages = [\n    "ciam_shared",\n    "ciam_devtools",\n',
            '    "ciam_devtools",\n',
        ),
        (rewritten(OLD_CONTRACT), NEW_CONTRACT, NEW_CONTRACT),
    ]:
        edit("pyproject.toml", replace_once(old, new, done_when=done_when))


def shared_pyproject() -> None:
    def change(text: str) -> str:
        text = re.sub(r"\[project\.optional-dependencies\]\ntesting = \[[^\]]*\]\n\n", "", text)
        return text.replace(", outbox, HTTP, test fixtures", ", outbox, HTTP")

    edit("shared/pyproject.toml", change)


def makefile() -> None:
    edit(
        "Makefile",
        replace_once(
            "compileall -q shared/ciam_shared services/",
            "compileall -q shared/ciam_shared devtools/ciam_devtools services/",
            done_when="compileall -q shared/ciam_shared devtools/ciam_devtools",
        ),
    )
    edit(
        "Makefile",
        replace_once(
            "mypy sdk/ciam_consent_sdk shared/ciam_shared services/",
            "mypy sdk/ciam_consent_sdk shared/ciam_shared devtools/ciam_devtools services/",
            done_when="shared/ciam_shared devtools/ciam_devtools services/auth",
        ),
    )


def main() -> None:
    if not (ROOT / "shared/ciam_shared").is_dir():
        sys.exit("split_devtools: run me from the repository root")
    move()
    rewrite_references()
    root_pyproject()
    shared_pyproject()
    makefile()
    uv = (
        ["uv"]
        if subprocess.run(["uv", "--version"], capture_output=True).returncode == 0
        else [sys.executable, "-m", "uv"]
    )
    run(*uv, "lock")
    run(*uv, "sync", "--quiet")
    run("git", "add", "-A")
    python_files = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "--diff-filter=d", "HEAD", "--", "*.py"],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    if python_files:
        ruff = [".venv/bin/python", "-m", "ruff"]
        run(*ruff, "check", "--select", "I", "--fix", "--quiet", *python_files)
        run(*ruff, "format", "--quiet", *python_files)
    run("git", "add", "-A")


if __name__ == "__main__":
    main()
