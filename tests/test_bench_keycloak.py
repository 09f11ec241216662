"""`make bench-keycloak`'s Keycloak set-up (bench/keycloak_setup.py) builds what the comparison
claims: the same argon2id parameters as our auth service, rotation with reuse revocation, a
confidential client for every grant the bench drives. No Keycloak is started here (a JVM start
takes 20-50 s); the bench itself checks the stored hash parameters of a live server."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from ciam_auth.settings import AuthSettings

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _setup_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("keycloak_setup", BENCH / "keycloak_setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("keycloak_setup", module)
    spec.loader.exec_module(module)
    return module


kc = _setup_module()


def _option(options: list[str], name: str) -> str:
    values = [o.split("=", 1)[1] for o in options if o.startswith(f"{name}=")]
    assert len(values) == 1, f"{name} given {len(values)} times in {options}"
    return values[0]


def test_argon2_parameters_are_the_auth_services() -> None:
    ours = AuthSettings.model_fields
    options = kc.start_options(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:5999/kc",
        http_port=1,
        management_port=2,
    )
    prefix = "--spi-password-hashing--argon2--"
    assert _option(options, f"{prefix}type") == "id"
    assert _option(options, f"{prefix}memory") == str(ours["argon2_memory_kib"].default)
    assert _option(options, f"{prefix}iterations") == str(ours["argon2_time_cost"].default)
    assert _option(options, f"{prefix}parallelism") == str(ours["argon2_parallelism"].default)
    # The realm's policy picks argon2 and its iterations (a policy's value wins over the
    # provider's default, so both must say the same).
    policy = kc.realm(client_secret="s", users=1, password="p")["passwordPolicy"]
    assert "hashAlgorithm(argon2)" in policy
    assert f"hashIterations({ours['argon2_time_cost'].default})" in policy


def test_the_realm_rotates_refresh_tokens_and_revokes_on_reuse() -> None:
    realm = kc.realm(client_secret="s3cret", users=3, password="a bench passphrase")
    assert realm["revokeRefreshToken"] is True
    assert realm["refreshTokenMaxReuse"] == 0
    assert realm["defaultSignatureAlgorithm"] == "ES256"
    assert realm["id"] == realm["realm"] == kc.REALM
    key = kc.ecdsa_key()
    assert key["parentId"] == kc.REALM
    assert key["providerId"] == "ecdsa-generated"
    assert key["config"]["ecdsaEllipticCurveKey"] == ["P-256"]


def test_the_client_is_confidential_with_every_grant_the_bench_drives() -> None:
    realm = kc.realm(client_secret="s3cret", users=3, password="a bench passphrase")
    (client,) = realm["clients"]
    assert client["clientId"] == kc.CLIENT_ID
    assert client["publicClient"] is False
    assert client["clientAuthenticatorType"] == "client-secret"
    assert client["secret"] == "s3cret"
    assert client["serviceAccountsEnabled"] is True  # client credentials
    assert client["directAccessGrantsEnabled"] is True  # password logins
    (audience,) = client["protocolMappers"]
    assert audience["protocolMapper"] == "oidc-audience-mapper"
    assert audience["config"]["included.client.audience"] == kc.CLIENT_ID


def test_users_can_sign_in_with_the_password() -> None:
    realm = kc.realm(client_secret="s", users=3, password="a bench passphrase")
    assert [u["username"] for u in realm["users"]] == ["bench0", "bench1", "bench2"]
    for user in realm["users"]:
        assert user["enabled"] and user["emailVerified"]
        assert user["email"] and user["firstName"] and user["lastName"]  # fully set up
        assert user["credentials"] == [
            {"type": "password", "value": "a bench passphrase", "temporary": False}
        ]


def test_the_server_starts_built_on_our_postgresql_over_loopback_http() -> None:
    options = kc.start_options(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:5999/empty_ab12",
        http_port=18080,
        management_port=19000,
    )
    assert options[:2] == ["start", "--optimized"]
    assert _option(options, "--db-url") == "jdbc:postgresql://127.0.0.1:5999/empty_ab12"
    assert _option(options, "--db-username") == "postgres"
    assert _option(options, "--http-host") == "127.0.0.1"
    assert _option(options, "--http-port") == "18080"
    assert _option(options, "--http-management-port") == "19000"
    # Build-time options are baked in by `kc.sh build`; given again at an optimized start
    # Keycloak would warn and ignore them.
    assert "--db=postgres" in kc.BUILD_OPTIONS and "--health-enabled=true" in kc.BUILD_OPTIONS
    assert not any(o.split("=")[0] in {"--db", "--health-enabled", "--cache"} for o in options)
    assert kc.environment("pw")["JAVA_HOME"] == kc.JAVA_HOME
