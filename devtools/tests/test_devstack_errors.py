"""The local runner and fixtures fail with the fix in the message, not a stack trace."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ciam_devtools.devstack import DevStackError, free_port
from ciam_devtools.devstack.kafka import java_binary


def fake_java(tmp_path: Path, version_line: str) -> None:
    script = tmp_path / "java"
    script.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    script.chmod(0o755)


def test_an_old_java_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_java(tmp_path, 'openjdk version "11.0.21" 2023-10-17')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(DevStackError, match=r"needs Java 17\+, found Java 11.*apt-get install"):
        java_binary()


def test_a_java_8_version_string_is_read_as_8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_java(tmp_path, 'java version "1.8.0_392"')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(DevStackError, match="found Java 8"):
        java_binary()


def test_missing_java_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DevStackError, match="Java not found"):
        java_binary()


def test_the_runner_refuses_a_port_in_use_and_says_how_to_fix_it(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = os.environ | {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "REDIS_URL": redis_url}
        env.pop("DATABASE_URL", None)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ciam_devtools.devstack.run",
                "--base-port",
                str(port),
                "--var",
                str(tmp_path),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"port {port} for the auth service is already in use" in result.stderr
    assert "--base-port" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_redis_server_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ciam_devtools.devstack import redis

    monkeypatch.setattr(redis, "CANDIDATES", [str(tmp_path / "redis-server")])
    with pytest.raises(DevStackError, match="apt-get install redis-server"):
        redis.start_redis(tmp_path / "redis")


def test_a_missing_postgres_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ciam_devtools.devstack import postgres

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(postgres, "SEARCH_GLOB", str(tmp_path / "none" / "{name}"))
    with pytest.raises(DevStackError, match="apt-get install postgresql"):
        postgres.start_postgres(tmp_path / "pg")


def test_a_failed_maven_fetch_says_what_to_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ciam_devtools.devstack.kafka import kafka_jars

    root = tmp_path / "repo"
    (root / "infra" / "kafka").mkdir(parents=True)
    (root / "infra" / "kafka" / "pom.xml").write_text("<project>not a pom</project>")
    with pytest.raises(DevStackError, match="fetching the Kafka jars with Maven failed"):
        kafka_jars(root)
    assert not (root / "infra" / "kafka" / "lib" / ".complete").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
def test_a_state_directory_the_postgres_user_cannot_reach_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    env |= {"CIAM_BASE_PORT": str(free_port()), "CIAM_POSTGRES_PORT": str(free_port())}
    env |= {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "REDIS_URL": "redis://127.0.0.1:9/0"}
    result = subprocess.run(
        [sys.executable, "-m", "ciam_devtools.devstack.run", "--var", str(closed / "var")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the `postgres` user cannot reach" in result.stderr
    assert "Traceback" not in result.stderr
