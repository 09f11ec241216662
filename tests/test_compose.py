"""docker-compose.yml, the Dockerfile and the Postgres init script agree with each other.

Plain parsing checks, plus `docker compose config` where a compose tool is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
INIT_SQL = ROOT / "infra" / "postgres" / "init-databases.sql"
INFRASTRUCTURE = ("kafka", "postgres", "redis")
APP_PORTS = {"auth": 8001, "profile": 8002, "consent": 8003, "notifier": 8004}
APPS = tuple(APP_PORTS)
PASSWORD_REFERENCE = re.compile(r"\$\{POSTGRES_PASSWORD:\?[^}]*\S[^}]*\}")
ANY_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<modifier>[^}]*)\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY", re.IGNORECASE)
# The services that call auth's internal API with a client auth declares (AUTH_SERVICE_CLIENTS).
SERVICE_CLIENT_APPS = ("profile", "notifier")


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


def _services() -> dict[str, Any]:
    services = _compose().get("services")
    assert isinstance(services, dict), "docker-compose.yml has no services mapping"
    return services


def _service(name: str) -> dict[str, Any]:
    service = _services().get(name)
    assert isinstance(service, dict), f"service {name!r} missing from docker-compose.yml"
    return service


def _environment(name: str) -> dict[str, str]:
    env = _service(name).get("environment", {})
    if isinstance(env, list):
        pairs = (str(item).partition("=") for item in env)
        return {key: value for key, _, value in pairs}
    assert isinstance(env, dict), f"{name}: environment must be a list or a mapping"
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def _database_url(app: str) -> SplitResult:
    """The app's DATABASE_URL, with the password reference swapped for a marker so it parses."""
    url = _environment(app).get(f"{app.upper()}_DATABASE_URL")
    assert url, f"{app}: {app.upper()}_DATABASE_URL is not set"
    assert PASSWORD_REFERENCE.search(url), (
        f"{app}: database URL must take its password from ${{POSTGRES_PASSWORD:?...}}: {url}"
    )
    return urlsplit(PASSWORD_REFERENCE.sub("PASSWORD-REFERENCE", url))


def _strings(node: Any) -> list[str]:
    """Every key and scalar value in a parsed YAML document, as strings."""
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in (*_strings(key), *_strings(value))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [] if node is None else [str(node)]


def _healthcheck_command(name: str) -> str:
    healthcheck = _service(name).get("healthcheck")
    assert isinstance(healthcheck, dict), f"{name} has no healthcheck"
    assert not healthcheck.get("disable", False), f"{name}: healthcheck is disabled"
    test = healthcheck.get("test")
    assert test, f"{name}: healthcheck has no test"
    if isinstance(test, str):
        return test
    assert isinstance(test, list), f"{name}: healthcheck test must be a string or a list"
    assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck test must start CMD/CMD-SHELL"
    assert len(test) > 1, f"{name}: healthcheck test has no command"
    return " ".join(str(part) for part in test[1:])


def _build_args(app: str) -> dict[str, str]:
    build = _service(app).get("build")
    assert isinstance(build, dict), f"{app}: build must name a context and build arguments"
    args = build.get("args", {})
    assert isinstance(args, dict), f"{app}: build args must be a mapping"
    return {str(key): str(value) for key, value in args.items()}


def _dockerfile(app: str) -> str:
    """The one Dockerfile as compose builds it for `app`: its build arguments, and the run-time
    variables the Dockerfile sets from them, put in place of their references."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    values = dict(_build_args(app))
    for variable, argument in (("CIAM_SERVICE", "SERVICE"), ("CIAM_PORT", "PORT")):
        assert f"{variable}=${{{argument}}}" in text, f"Dockerfile does not set {variable}"
        values[variable] = values.get(argument, "")
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m[1], m[0]), text)


def _dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in joined.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, arguments = stripped.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def test_compose_file_defines_the_infrastructure_and_every_app_service() -> None:
    services = _services()
    missing = [name for name in (*INFRASTRUCTURE, *APPS) if name not in services]
    assert not missing, f"docker-compose.yml is missing services: {missing}"


@pytest.mark.parametrize("name", [*INFRASTRUCTURE, *APPS])
def test_every_service_has_an_enabled_healthcheck(name: str) -> None:
    command = _healthcheck_command(name)
    assert command.strip(), f"{name}: empty healthcheck command"


@pytest.mark.parametrize("app", APPS)
def test_every_app_service_waits_for_healthy_infrastructure(app: str) -> None:
    depends_on = _service(app).get("depends_on")
    assert isinstance(depends_on, dict), (
        f"{app}: depends_on must be the long form with conditions, got {depends_on!r}"
    )
    for dependency in INFRASTRUCTURE:
        entry = depends_on.get(dependency)
        assert isinstance(entry, dict), f"{app} does not depend on {dependency} with a condition"
        assert entry.get("condition") == "service_healthy", (
            f"{app} must wait for {dependency} to be healthy, got {entry.get('condition')!r}"
        )


@pytest.mark.parametrize("app", APPS)
def test_every_app_service_probes_readiness_on_its_own_published_port(app: str) -> None:
    port = APP_PORTS[app]
    command = _healthcheck_command(app)
    assert f"127.0.0.1:{port}/readyz" in command or f"localhost:{port}/readyz" in command, (
        f"{app}: healthcheck must call /readyz on port {port}: {command}"
    )
    ports = [str(entry) for entry in _service(app).get("ports", [])]
    assert any(entry.endswith(f":{port}") for entry in ports), (
        f"{app}: container port {port} is not published: {ports}"
    )
    assert _environment(app).get(f"{app.upper()}_PORT") == str(port)


def _resolved(name: str, variables: dict[str, str]) -> dict[str, str]:
    """The service's environment as compose would interpolate it with `variables` (a
    `${NAME:-default}` takes its default when NAME is not among them)."""

    def value(match: re.Match[str]) -> str:
        if match["name"] in variables:
            return variables[match["name"]]
        modifier = match["modifier"]
        return modifier[2:] if modifier.startswith(":-") else match[0]

    return {key: ANY_REFERENCE.sub(value, text) for key, text in _environment(name).items()}


CLUSTER_ENV = ROOT / "infra" / "compose" / "cluster.env"
KAFKA_NODES = ("kafka", "kafka-2", "kafka-3")


def _cluster_variables() -> dict[str, str]:
    lines = CLUSTER_ENV.read_text(encoding="utf-8").splitlines()
    pairs = (line.partition("=") for line in lines if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, _, value in pairs}


def test_kafka_is_a_single_kraft_node_without_topic_auto_creation() -> None:
    kafka = _service("kafka")
    image = str(kafka.get("image", ""))
    assert image.startswith("apache/kafka:"), f"kafka must use the apache/kafka image: {image!r}"
    assert "profiles" not in kafka, "the single broker must start without a profile"
    env = _resolved("kafka", {})
    roles = {role.strip() for role in env.get("KAFKA_PROCESS_ROLES", "").split(",")}
    assert roles == {"broker", "controller"}, f"kafka must be combined broker+controller: {roles}"
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env, "KRaft mode takes no ZooKeeper"
    node_id = env.get("KAFKA_NODE_ID")
    assert node_id, "KAFKA_NODE_ID must be set"
    assert env.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "").startswith(f"{node_id}@"), (
        "the only controller-quorum voter must be this node"
    )
    controller_names = env.get("KAFKA_CONTROLLER_LISTENER_NAMES", "")
    assert controller_names, "KAFKA_CONTROLLER_LISTENER_NAMES must be set"
    assert f"{controller_names}:" in env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "")
    assert env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "").lower() == "false", (
        "services create their own topics; the broker must not auto-create them"
    )
    assert env.get("KAFKA_CONTROLLER_QUORUM_VOTERS") == f"{node_id}@kafka:9093"
    assert env.get("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR") == "1"
    assert env.get("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR") == "1"
    assert env.get("KAFKA_MIN_INSYNC_REPLICAS") == "1"
    assert "/opt/kafka/bin/" in _healthcheck_command("kafka")


def test_the_cluster_profile_is_three_kraft_nodes_with_three_replicas_two_in_sync() -> None:
    variables = _cluster_variables()
    assert variables.get("COMPOSE_PROFILES") == "cluster"
    nodes = {name: _resolved(name, variables) for name in KAFKA_NODES}
    for name in KAFKA_NODES[1:]:
        assert _service(name).get("profiles") == ["cluster"], f"{name}: only in the profile"
    voters = {f"{env['KAFKA_NODE_ID']}@{name}:9093" for name, env in nodes.items()}
    assert len(voters) == 3, "every node needs its own KAFKA_NODE_ID"
    for name, env in nodes.items():
        assert str(_service(name).get("image", "")).startswith("apache/kafka:"), name
        assert "/opt/kafka/bin/" in _healthcheck_command(name)
        assert {r.strip() for r in env["KAFKA_PROCESS_ROLES"].split(",")} == {
            "broker",
            "controller",
        }
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters, name
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3", name
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3", name
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3", name
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2", name
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2", name
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"].lower() == "false", name
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"].lower() == "false", name
    assert len({env["CLUSTER_ID"] for env in nodes.values()}) == 1, "one cluster id"
    volumes = {str(_service(name)["volumes"][0]).split(":")[0] for name in KAFKA_NODES}
    assert len(volumes) == 3, f"each node needs its own volume: {volumes}"
    for app in APPS:
        bootstrap = _resolved(app, variables)["KAFKA_BOOTSTRAP_SERVERS"].split(",")
        assert sorted(bootstrap) == sorted(f"{name}:9092" for name in KAFKA_NODES), app
        depends_on = _service(app)["depends_on"]
        for name in KAFKA_NODES[1:]:
            assert depends_on[name] == {"condition": "service_healthy", "required": False}, app


@pytest.mark.parametrize("app", APPS)
def test_every_app_service_reaches_kafka_and_redis_by_service_name(app: str) -> None:
    env = _resolved(app, {})
    advertised = _environment("kafka").get("KAFKA_ADVERTISED_LISTENERS", "")
    bootstrap = env.get("KAFKA_BOOTSTRAP_SERVERS", "")
    assert bootstrap, f"{app}: KAFKA_BOOTSTRAP_SERVERS is not set"
    assert bootstrap in advertised, f"{app}: {bootstrap!r} is not advertised by kafka"
    assert urlsplit(env.get("REDIS_URL", "")).hostname == "redis", f"{app}: REDIS_URL"


@pytest.mark.parametrize("app", APPS)
def test_every_app_service_runs_in_production_and_prepares_its_own_resources(app: str) -> None:
    env = _environment(app)
    prefix = app.upper()
    assert env.get("CIAM_ENVIRONMENT") == "production"
    assert env.get(f"{prefix}_MIGRATE_ON_START", "").lower() == "true"
    assert env.get(f"{prefix}_CREATE_TOPICS", "").lower() == "true"


@pytest.mark.parametrize("app", APPS)
def test_every_app_service_builds_from_the_one_dockerfile_with_its_name_and_port(app: str) -> None:
    build = _service(app).get("build")
    assert isinstance(build, dict), f"{app}: build must name a context and build arguments"
    context = (COMPOSE_FILE.parent / str(build.get("context", ""))).resolve()
    assert context == ROOT, f"{app}: build context must be the repository root, got {context}"
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    assert _build_args(app) == {"SERVICE": app, "PORT": str(APP_PORTS[app])}


def test_there_is_one_dockerfile_for_every_service() -> None:
    assert DOCKERFILE.is_file()
    assert not sorted(ROOT.glob("services/*/Dockerfile"))


@pytest.mark.parametrize("app", APPS)
def test_every_dockerfile_installs_only_its_service_and_runs_it_unprivileged(app: str) -> None:
    text = _dockerfile(app)
    instructions = _dockerfile_instructions(text)
    stages = [args for keyword, args in instructions if keyword == "FROM"]
    assert stages, f"{app}: Dockerfile has no FROM"
    assert all(stage.split()[0] == "python:3.11-slim" for stage in stages), stages

    syncs = [args for keyword, args in instructions if keyword == "RUN" and "uv sync" in args]
    assert syncs, f"{app}: Dockerfile never runs uv sync"
    for sync in syncs:
        assert "--frozen" in sync and "--no-dev" in sync, sync
        assert re.search(rf"--package[ =]ciam-{app}(\s|$)", sync), sync

    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, f"{app}: Dockerfile never leaves root"
    final_user = users[-1].split(":")[0]
    assert final_user not in ("root", "0"), f"{app}: runs as {users[-1]!r}"
    last_user = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "USER")
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    assert last_user > last_from, f"{app}: the final stage does not switch to a non-root user"

    port = str(APP_PORTS[app])
    exposed = [args.split() for keyword, args in instructions if keyword == "EXPOSE"]
    assert any(port in entry for entry in exposed), f"{app}: Dockerfile does not EXPOSE {port}"

    commands = [args for keyword, args in instructions if keyword == "CMD"]
    assert commands, f"{app}: Dockerfile has no CMD"
    command = commands[-1]
    assert "uvicorn" in command and "--factory" in command, command
    assert f"ciam_{app}.main:create_app" in command, command
    assert re.search(rf"[\"']?--port[\"']?,?\s*[\"']?{port}\b", command), command


def _workspace_members() -> dict[str, str]:
    """Project name -> its directory (relative to the root), for every uv workspace member."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    members = {}
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        for directory in sorted(ROOT.glob(pattern)):
            project = directory / "pyproject.toml"
            if project.is_file():
                name = tomllib.loads(project.read_text(encoding="utf-8"))["project"]["name"]
                members[name] = directory.relative_to(ROOT).as_posix()
    return members


def _workspace_needs(app: str) -> set[str]:
    """The directories of the workspace members ciam-<app> needs at run time, itself included."""
    members = _workspace_members()
    needed, pending = set(), [f"ciam-{app}"]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        project = tomllib.loads((ROOT / members[name] / "pyproject.toml").read_text("utf-8"))
        for requirement in project["project"].get("dependencies", []):
            dependency = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
            if dependency in members:
                pending.append(dependency)
    return {members[name] for name in needed}


@pytest.mark.parametrize("app", APPS)
def test_every_image_gets_the_code_its_service_needs_and_no_other(app: str) -> None:
    """A member missing from the build context fails `uv sync` (the SDK was, for three
    services); a directory no service needs (the dev and test tooling) has no place in it."""
    copied = [
        args.split()[0].rstrip("/")
        for keyword, args in _dockerfile_instructions(_dockerfile(app))
        if keyword == "COPY" and not args.startswith("--")
    ]
    for directory in _workspace_needs(app):
        assert any(directory == c or directory.startswith(c + "/") for c in copied), (
            f"{app}: the Dockerfile does not copy {directory}"
        )
    runtime = set().union(*(_workspace_needs(other) for other in APPS))
    for source in copied:
        if (ROOT / source).is_dir():
            assert any(d == source or d.startswith(source + "/") for d in runtime), (
                f"the Dockerfile copies {source}, which no service needs"
            )


def test_postgres_password_is_only_ever_a_required_variable_reference() -> None:
    postgres_env = _environment("postgres")
    assert PASSWORD_REFERENCE.fullmatch(postgres_env.get("POSTGRES_PASSWORD", "")), (
        "postgres must take POSTGRES_PASSWORD from ${POSTGRES_PASSWORD:?message}"
    )
    assert postgres_env.get("POSTGRES_HOST_AUTH_METHOD", "") != "trust"

    for text in _strings(_compose()):
        for reference in ANY_REFERENCE.finditer(text):
            name, modifier = reference["name"], reference["modifier"]
            if name == "POSTGRES_PASSWORD" or SECRET_NAME.search(name):
                assert modifier.startswith(":?") and modifier[2:].strip(), (
                    f"secret {name} must be required with a message, not {reference[0]!r}"
                )
    unmatched = [
        text
        for text in _strings(_compose())
        if "POSTGRES_PASSWORD" in PASSWORD_REFERENCE.sub("", text) and text != "POSTGRES_PASSWORD"
    ]
    assert not unmatched, f"POSTGRES_PASSWORD used other than as a required reference: {unmatched}"

    for app in APPS:
        assert _database_url(app).password == "PASSWORD-REFERENCE", (
            f"{app}: the database password must be the POSTGRES_PASSWORD reference itself"
        )


@pytest.mark.parametrize("app", APPS)
def test_every_secret_a_service_requires_is_a_required_compose_variable(app: str) -> None:
    """A secret with no default in the service's settings must be set in compose, and only
    from the environment: `${VAR:?message}`, never a value in this file."""
    import importlib

    module = importlib.import_module(f"ciam_{app}.settings")
    settings = next(
        getattr(module, name)
        for name in dir(module)
        if name.endswith("Settings") and name != "BaseServiceSettings"
    )
    prefix = settings.model_config["env_prefix"]
    environment = _environment(app)
    for field in settings.secret_fields:
        variable = f"{prefix}{field}".upper()
        value = environment.get(variable, "")
        reference = ANY_REFERENCE.fullmatch(value)
        assert reference and reference["modifier"].startswith(":?"), (
            f"{app}: {variable} must be a required variable reference, not {value!r}"
        )


@pytest.mark.parametrize("app", APPS)
def test_every_app_service_verifies_tokens_against_the_auth_service(app: str) -> None:
    environment = _environment(app)
    assert environment.get("TOKEN_ISSUER"), f"{app}: TOKEN_ISSUER is not set"
    jwks = urlsplit(environment.get("TOKEN_JWKS_URL", ""))
    assert (jwks.hostname, jwks.port) == ("auth", APP_PORTS["auth"]), (
        f"{app}: TOKEN_JWKS_URL must reach the auth service by name: {jwks.geturl()!r}"
    )
    assert jwks.path == "/.well-known/jwks.json"


def test_each_app_service_database_url_names_a_different_database() -> None:
    databases = {}
    for app in APPS:
        url = _database_url(app)
        assert url.scheme == "postgresql+asyncpg", f"{app}: {url.scheme}"
        assert url.hostname == "postgres", f"{app}: database host must be the postgres service"
        assert url.username == _environment("postgres").get("POSTGRES_USER")
        databases[app] = url.path.lstrip("/")
    assert all(databases.values()), f"every DATABASE_URL must name a database: {databases}"
    assert len(set(databases.values())) == len(APPS), f"databases are shared: {databases}"


def test_postgres_init_script_creates_every_database_the_services_use() -> None:
    created = set(
        re.findall(r"CREATE\s+DATABASE\s+\"?(\w+)\"?", INIT_SQL.read_text(encoding="utf-8"), re.I)
    )
    used = {_database_url(app).path.lstrip("/") for app in APPS}
    assert used <= created, f"init script does not create {sorted(used - created)}"
    mounts = [str(volume) for volume in _service("postgres").get("volumes", [])]
    assert any(
        "infra/postgres/init-databases.sql" in mount and ":/docker-entrypoint-initdb.d/" in mount
        for mount in mounts
    ), f"init script is not mounted into /docker-entrypoint-initdb.d: {mounts}"


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    patterns = {
        line.strip().rstrip("/").removeprefix("**/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    required = {".venv", ".git", "var", "__pycache__", "infra/kafka/lib", "bench/results"}
    assert required <= patterns, f".dockerignore lacks {sorted(required - patterns)}"


def _declared_service_clients() -> list[dict[str, Any]]:
    """AUTH_SERVICE_CLIENTS as auth parses it, each `${VAR:?...}` replaced by `ref:VAR`."""
    raw = _environment("auth").get("AUTH_SERVICE_CLIENTS", "")
    assert raw, "auth: AUTH_SERVICE_CLIENTS does not declare the services' clients"
    declared = json.loads(ANY_REFERENCE.sub(lambda m: f"ref:{m['name']}", raw))
    assert isinstance(declared, list), "AUTH_SERVICE_CLIENTS must be a JSON list"
    return declared


@pytest.mark.parametrize("app", SERVICE_CLIENT_APPS)
def test_auth_declares_the_client_a_service_uses_with_the_secret_it_is_given(app: str) -> None:
    prefix = app.upper()
    environment = _environment(app)
    client_id = environment.get(f"{prefix}_AUTH_CLIENT_ID")
    assert client_id, f"{app}: {prefix}_AUTH_CLIENT_ID is not set (the feature would be off)"
    declared = {entry["client_id"]: entry for entry in _declared_service_clients()}
    assert client_id in declared, f"auth does not declare {client_id!r}: {sorted(declared)}"
    entry = declared[client_id]
    assert entry["scopes"] == ["auth:contacts"], entry
    secret = f"{prefix}_AUTH_CLIENT_SECRET"
    assert entry["secret"] == f"ref:{secret}", f"{client_id}: secret must be ${{{secret}:?...}}"
    reference = ANY_REFERENCE.fullmatch(environment.get(secret, ""))
    assert reference and reference["name"] == secret and reference["modifier"].startswith(":?")
    auth_url = urlsplit(environment.get(f"{prefix}_AUTH_URL", ""))
    assert (auth_url.hostname, auth_url.port) == ("auth", APP_PORTS["auth"]), (
        f"{app}: {prefix}_AUTH_URL must reach the auth service inside the network"
    )


def test_the_declared_service_clients_are_valid_auth_settings_in_production() -> None:
    from ciam_auth.settings import AuthSettings

    declared = [
        entry | {"secret": f"{entry['secret']}-stand-in-of-32-characters-or-more"}
        for entry in _declared_service_clients()
    ]
    settings = AuthSettings(
        environment="production", key_encryption_secret="k" * 40, service_clients=declared
    )
    assert {c.client_id for c in settings.service_clients} == {
        _environment(app)[f"{app.upper()}_AUTH_CLIENT_ID"] for app in SERVICE_CLIENT_APPS
    }


def _compose_command() -> list[str]:
    candidates: list[list[str]] = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for candidate in candidates:
        probe = subprocess.run(
            [*candidate, "version"], capture_output=True, text=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return candidate
    pytest.skip(
        "no working compose tool: the docker compose plugin is missing "
        "(`docker compose version` fails or docker is absent) and docker-compose is not installed"
    )


OTHER_REQUIRED = {
    "CONSENT_RECEIPT_SIGNING_KEY": "-----BEGIN PRIVATE KEY-----",
    "AUTH_KEY_ENCRYPTION_SECRET": "compose-config-check-key-encryption-secret",
    "PROFILE_AUTH_CLIENT_SECRET": "compose-config-check-profile-client-secret",
    "NOTIFIER_AUTH_CLIENT_SECRET": "compose-config-check-notifier-client-secret",
}


def _run_compose_config(
    tmp_path: Path, password: str | None, *env_files: Path
) -> subprocess.CompletedProcess[str]:
    command = _compose_command()
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMPOSE_")}
    env.pop("POSTGRES_PASSWORD", None)
    env |= OTHER_REQUIRED
    if password is not None:
        env["POSTGRES_PASSWORD"] = password
    empty_env_file = tmp_path / "empty.env"  # keeps a developer's .env out of the check
    empty_env_file.write_text("", encoding="utf-8")
    return subprocess.run(
        [
            *command,
            *(arg for path in (empty_env_file, *env_files) for arg in ("--env-file", str(path))),
            *("-f", str(COMPOSE_FILE), "config", "-q"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_docker_compose_accepts_the_file_when_postgres_password_is_set(tmp_path: Path) -> None:
    result = _run_compose_config(tmp_path, password="compose-config-check-password")
    assert result.returncode == 0, f"compose config failed:\n{result.stdout}\n{result.stderr}"


def test_docker_compose_accepts_the_cluster_profile(tmp_path: Path) -> None:
    result = _run_compose_config(tmp_path, "compose-config-check-password", CLUSTER_ENV)
    assert result.returncode == 0, f"compose config failed:\n{result.stdout}\n{result.stderr}"


def test_docker_compose_refuses_the_file_without_postgres_password(tmp_path: Path) -> None:
    result = _run_compose_config(tmp_path, password=None)
    assert result.returncode != 0, "compose config must fail when POSTGRES_PASSWORD is unset"
    assert "POSTGRES_PASSWORD" in result.stdout + result.stderr


def test_auth_links_in_mails_point_to_its_public_url_the_issuer() -> None:
    environment = _environment("auth")
    assert environment.get("AUTH_PUBLIC_URL") == environment.get("TOKEN_ISSUER"), (
        "auth: AUTH_PUBLIC_URL (links in mails) must be the public URL the issuer names"
    )


def _stand_in(variable: str) -> str:
    if variable == "CONSENT_RECEIPT_SIGNING_KEY":
        from joserfc.jwk import ECKey

        return ECKey.generate_key("P-256").as_pem(private=True).decode()
    return f"{variable.lower()}-stand-in-of-32-characters-or-more"


@pytest.mark.parametrize("app", APPS)
def test_every_app_service_starts_in_production_from_the_compose_environment(
    app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the required variables set, compose's environment satisfies the fail-closed
    settings: production, every secret, a PostgreSQL database."""
    import importlib

    for variable in list(os.environ):
        if variable.startswith(("CIAM_", "AUTH_", "PROFILE_", "CONSENT_", "NOTIFIER_", "TOKEN_")):
            monkeypatch.delenv(variable)
    for variable, value in _environment(app).items():
        monkeypatch.setenv(variable, ANY_REFERENCE.sub(lambda m: _stand_in(m["name"]), value))
    module = importlib.import_module(f"ciam_{app}.settings")
    settings = next(
        getattr(module, name)
        for name in dir(module)
        if name.endswith("Settings") and name != "BaseServiceSettings"
    )()
    assert settings.environment.value == "production"
    assert settings.require_database_url().startswith("postgresql+asyncpg://")
