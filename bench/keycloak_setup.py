"""Keycloak for `make bench-keycloak`: the distribution, its options and the bench realm.

Nothing here starts Keycloak: these are the pieces `bench/keycloak.py` runs, kept apart so a
test can check what they build (tests/test_bench_keycloak.py) without a slow JVM start.

- The server distribution is `org.keycloak:keycloak-quarkus-dist` (zip) from Maven Central,
  copied by Maven (as the Kafka jars are) and unpacked under `infra/keycloak/` (gitignored),
  once per version (`KEYCLOAK_VERSION`).
- It runs on the JDK named by `KEYCLOAK_JAVA_HOME` (Keycloak 26 needs Java 21+; the project's
  own Java 17 is enough for Kafka, not for Keycloak).
- Password hashing: argon2id with the auth service's own default parameters (m, t, p read from
  `AuthSettings`), set both as the provider's options and in the realm's password policy.
- The realm: a confidential client with client credentials (service account) and the direct
  grant (a password login in one request, as our `POST /v1/sessions`), refresh token rotation
  with reuse revocation (`revokeRefreshToken`, reuse 0), ES256 tokens (ours are ES256),
  brute-force detection on (our throttle runs on every sign-in) and login events stored (our
  sign-in writes an outbox row).
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from ciam_auth.settings import AuthSettings

VERSION = os.environ.get("KEYCLOAK_VERSION", "26.7.3")
JAVA_HOME = os.environ.get("KEYCLOAK_JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
ROOT = Path(__file__).resolve().parent.parent
REALM = "bench"
CLIENT_ID = "bench"
# Build-time options: `kc.sh build` bakes them in, so every start can be `--optimized` (the
# time to ready is then the server's start, not a rebuild).
BUILD_OPTIONS = ["--db=postgres", "--health-enabled=true", "--cache=local"]


def argon2() -> dict[str, int]:
    """The auth service's argon2id parameters (its settings' defaults)."""
    fields = AuthSettings.model_fields
    return {
        "memory_kib": int(fields["argon2_memory_kib"].default),
        "iterations": int(fields["argon2_time_cost"].default),
        "parallelism": int(fields["argon2_parallelism"].default),
    }


def password_policy() -> str:
    return f"hashAlgorithm(argon2) and hashIterations({argon2()['iterations']})"


def argon2_options() -> list[str]:
    """The argon2 provider's options (Keycloak 26.4+ spelling: `--spi-<spi>--<provider>--<x>`)."""
    params = argon2()
    prefix = "--spi-password-hashing--argon2--"
    return [
        f"{prefix}type=id",
        f"{prefix}memory={params['memory_kib']}",
        f"{prefix}iterations={params['iterations']}",
        f"{prefix}parallelism={params['parallelism']}",
    ]


def jdbc_url(database_url: str) -> str:
    """`postgresql+asyncpg://user@host:port/db` -> `jdbc:postgresql://host:port/db`."""
    rest = database_url.split("://", 1)[1]
    location = rest.split("@", 1)[-1]
    return f"jdbc:postgresql://{location}"


def start_options(
    *, database_url: str, http_port: int, management_port: int, database_user: str = "postgres"
) -> list[str]:
    """`kc.sh start` options: the built server, plain HTTP on loopback, our PostgreSQL."""
    return [
        "start",
        "--optimized",
        "--http-enabled=true",
        "--http-host=127.0.0.1",
        f"--http-port={http_port}",
        f"--http-management-port={management_port}",
        "--hostname-strict=false",
        f"--db-url={jdbc_url(database_url)}",
        f"--db-username={database_user}",
        # The local cluster trusts loopback connections; the JDBC driver wants some password.
        "--db-password=unused",
        *argon2_options(),
    ]


def environment(admin_password: str) -> dict[str, str]:
    """The JDK, and the temporary admin of the master realm created at the first start."""
    return {
        "JAVA_HOME": JAVA_HOME,
        "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
        "KC_BOOTSTRAP_ADMIN_PASSWORD": admin_password,
    }


def user(n: int, password: str) -> dict[str, Any]:
    """A customer with a confirmed address and every required profile field (Keycloak refuses
    the direct grant to an account that is not fully set up)."""
    return {
        "username": f"bench{n}",
        "email": f"bench{n}@example.com",
        "emailVerified": True,
        "enabled": True,
        "firstName": "Bench",
        "lastName": f"Customer {n}",
        "credentials": [{"type": "password", "value": password, "temporary": False}],
    }


def realm(*, client_secret: str, users: int, password: str) -> dict[str, Any]:
    """The realm representation (POST /admin/realms): Keycloak hashes each user's password with
    the realm's policy while it imports them."""
    return {
        "id": REALM,
        "realm": REALM,
        "enabled": True,
        "sslRequired": "none",
        "passwordPolicy": password_policy(),
        "revokeRefreshToken": True,
        "refreshTokenMaxReuse": 0,
        "defaultSignatureAlgorithm": "ES256",
        "bruteForceProtected": True,
        "eventsEnabled": True,
        "enabledEventTypes": ["LOGIN"],
        "clients": [
            {
                "clientId": CLIENT_ID,
                "enabled": True,
                "protocol": "openid-connect",
                "publicClient": False,
                "clientAuthenticatorType": "client-secret",
                "secret": client_secret,
                "serviceAccountsEnabled": True,
                "directAccessGrantsEnabled": True,
                "standardFlowEnabled": False,
                "implicitFlowEnabled": False,
                # Keycloak 26 answers an introspection only to a client in the token's
                # audience: the client's own tokens name it (ours name the `ciam` audience).
                "protocolMappers": [
                    {
                        "name": "audience-self",
                        "protocol": "openid-connect",
                        "protocolMapper": "oidc-audience-mapper",
                        "config": {
                            "included.client.audience": CLIENT_ID,
                            "access.token.claim": "true",
                            "introspection.token.claim": "true",
                            "id.token.claim": "false",
                        },
                    }
                ],
            }
        ],
        "users": [user(n, password) for n in range(users)],
    }


def ecdsa_key() -> dict[str, Any]:
    """A P-256 signing key for the realm (POST /admin/realms/bench/components): the default
    providers make RSA, HMAC and AES keys only, and the realm signs with ES256."""
    return {
        "name": "ecdsa-p256",
        "providerId": "ecdsa-generated",
        "providerType": "org.keycloak.keys.KeyProvider",
        "parentId": REALM,
        "config": {"priority": ["200"], "ecdsaEllipticCurveKey": ["P-256"], "active": ["true"]},
    }


def distribution(root: Path = ROOT) -> Path:
    """The unpacked server (`infra/keycloak/keycloak-<version>`), fetched and built once."""
    base = root / "infra" / "keycloak"
    home = base / f"keycloak-{VERSION}"
    built = home / ".bench-built"
    if built.exists() and built.read_text() == " ".join(BUILD_OPTIONS):
        return home
    archive = base / f"keycloak-quarkus-dist-{VERSION}.zip"
    if not archive.exists():
        base.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mvn", "-q", "-B", "dependency:copy",
             f"-Dartifact=org.keycloak:keycloak-quarkus-dist:{VERSION}:zip",
             f"-DoutputDirectory={base}"],
            check=True,
        )  # fmt: skip
    if not home.exists():
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(base)
        for script in (home / "bin").glob("*.sh"):
            script.chmod(0o755)
    subprocess.run(
        [str(home / "bin" / "kc.sh"), "build", *BUILD_OPTIONS],
        check=True,
        env=os.environ | {"JAVA_HOME": JAVA_HOME},
        capture_output=True,
    )
    built.write_text(" ".join(BUILD_OPTIONS))
    return home


def bouncycastle(home: Path) -> Path:
    """The BouncyCastle jar Keycloak's argon2 provider uses (for the raw hash rate)."""
    return next((home / "lib" / "lib" / "main").glob("org.bouncycastle.bcprov-*.jar"))
