"""A bounded schemathesis run over a service's OpenAPI document, in the test suite.

Schemathesis generates each operation's requests (valid ones and, in negative mode, ones the
document forbids) with Hypothesis; they go to the app in process over `httpx.ASGITransport`
on the test's own event loop (the app's engine, Redis and Kafka clients live on that loop, so
schemathesis' own ASGI transport, which runs the app on a thread of its own, cannot serve),
and every answer passes schemathesis' checks: never a 5xx, and the status code, content type
and body the document gives.

A run draws, per example, who calls (an operator, an app, a customer, nobody) and, for
path, query and body members named in `known`, a real value half the time (the customer's
own subject id, a purpose of the catalogue), so the requests reach past "not found".

    FUZZ = Fuzz(create_app(static_settings).openapi(), exclude={"DELETE /v1/admin/things/{id}"})

    @pytest.mark.parametrize("label", FUZZ.labels)
    @FUZZ.settings
    @given(data=st.data())
    async def test_every_answer_is_documented(target, label, data):
        await FUZZ.exercise(target, label, data)
"""

from __future__ import annotations

import os
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.result import Ok

# Examples per operation: the suite's bound (about 70 operations over four services). A deeper
# run: CIAM_FUZZ_EXAMPLES=500 pytest tests/fuzz.
EXAMPLES = int(os.environ.get("CIAM_FUZZ_EXAMPLES", "40"))

# What every answer must satisfy. Checks that re-send requests on their own transport
# (ignored_auth, use_after_free, ...) are left out: they cannot reach an in-process app.
CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Caller:
    """Who sends a request: a name for the report and the headers that say so, or a function
    that makes them afresh for every request (e.g. a new browser session, since a generated
    request may sign the last one out)."""

    name: str
    headers: Mapping[str, str] | Callable[[], Awaitable[Mapping[str, str]]] = field(
        default_factory=dict
    )

    async def headers_now(self) -> dict[str, str]:
        if isinstance(self.headers, Mapping):
            return dict(self.headers)
        return dict(await self.headers())


@dataclass
class Target:
    """A running service: a client bound to its ASGI app, its callers, and the real values
    (by parameter or body member name) the fuzzer mixes into generated requests."""

    client: httpx.AsyncClient
    callers: Sequence[Caller]
    known: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    # Per caller, per operation, the status codes seen: the report of what the run reached.
    seen: dict[str, dict[str, set[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    requests: int = 0
    started: float = field(default_factory=time.monotonic)

    def report(self) -> str:
        lines = [f"{self.requests} requests in {time.monotonic() - self.started:.1f} s"]
        for caller, operations in sorted(self.seen.items()):
            for label, codes in sorted(operations.items()):
                lines.append(f"  {caller:9} {label}: {sorted(codes)}")
        return "\n".join(lines)


class Fuzz:
    def __init__(
        self,
        openapi: dict[str, Any],
        *,
        exclude: Iterable[str] = (),
        checks: Sequence[str] = CHECK_NAMES,
        only_no_5xx: Iterable[str] = (),
        examples: int = EXAMPLES,
    ) -> None:
        self.schema = schemathesis.openapi.from_dict(openapi)
        excluded = set(exclude)
        self.operations: dict[str, Any] = {}
        for result in self.schema.get_all_operations():
            # An operation the document describes badly fails the run here, not silently.
            operation = result.ok() if isinstance(result, Ok) else result.err()
            if isinstance(operation, Exception):
                raise operation
            if operation.label not in excluded:
                self.operations[operation.label] = operation
        load_all_checks()
        self.checks = [CHECKS.get_one(name) for name in checks]
        # Operations whose answers the document does not describe yet: held to "no 5xx" only.
        self.only_no_5xx = set(only_no_5xx)
        self.no_5xx = [CHECKS.get_one("not_a_server_error")]
        self.settings: Callable[[F], F] = settings(
            max_examples=examples,
            deadline=None,
            database=None,  # no .hypothesis directory in the work tree; failures print a seed
            suppress_health_check=list(HealthCheck),
            print_blob=True,
        )

    @property
    def labels(self) -> list[str]:
        return sorted(self.operations)

    async def exercise(self, target: Target, label: str, data: st.DataObject) -> None:
        """Draw one request of `label`, send it, and hold its answer to the document."""
        operation = self.operations[label]
        mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
        case = data.draw(operation.as_strategy(generation_mode=mode), label="case")
        caller = data.draw(st.sampled_from(list(target.callers)), label="caller")
        rng = data.draw(st.randoms(use_true_random=False))
        _mix_known(case, target.known, rng)
        headers = await caller.headers_now()
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
        request = _httpx_request(target.client, kwargs)
        # No cookie of an earlier answer (a sign-in's) may ride along: callers stay apart.
        target.client.cookies.clear()
        response = await target.client.send(request)
        target.requests += 1
        target.seen[caller.name][label].add(response.status_code)
        checks = self.no_5xx if label in self.only_no_5xx else self.checks
        case.validate_response(response, checks=checks, headers=dict(request.headers))


def _mix_known(case: Any, known: Mapping[str, Sequence[Any]], rng: random.Random) -> None:
    """Replace, half the time, a generated value whose name is in `known` by a real one."""

    def pick(name: object, value: Any) -> Any:
        if isinstance(name, str) and name in known and known[name] and rng.random() < 0.5:
            return rng.choice(list(known[name]))
        return _walk(value)

    def _walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: pick(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [_walk(v) for v in value]
        return value

    for part in ("path_parameters", "query"):
        values = getattr(case, part, None)
        if isinstance(values, dict):
            for name in list(values):
                values[name] = pick(name, values[name])
    if isinstance(case.body, dict | list):
        case.body = _walk(case.body)


def _httpx_request(client: httpx.AsyncClient, kwargs: dict[str, Any]) -> httpx.Request:
    """Schemathesis serialises for `requests`; the same request for httpx."""
    parts = urlsplit(kwargs["url"])
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    content: Any = None
    form: Any = None
    data = kwargs.get("data")
    if isinstance(data, bytes | str):
        content = data
    elif data is not None:
        form = data
    headers = {k: str(v) for k, v in (kwargs.get("headers") or {}).items()}
    cookies = kwargs.get("cookies") or None
    return client.build_request(
        kwargs["method"],
        path,
        params=kwargs.get("params") or None,
        headers=headers,
        cookies=cookies,
        json=kwargs.get("json"),
        content=content,
        data=form,
        files=kwargs.get("files"),
    )


# The callers of a run, in the principal model of docs/security.md: tokens stay valid for an
# hour, longer than a run.
OPERATOR = "ops"
APP = "shop-web"
TOKEN_TTL = 3600


def callers(
    mint: Callable[..., str],
    customer: str,
    *,
    admin_scopes: Iterable[str],
    app_scopes: Iterable[str],
    customer_scopes: Iterable[str],
    brand: str | None = "acme",
) -> list[Caller]:
    """An operator (client credentials of an operator client: `sub` == `client_id`, the admin
    scopes), an app on its own behalf (`sub` == `client_id`, app scopes), a customer through
    that app (`sub` the account id, every customer scope) and a caller with no token.
    `mint(sub, client_id=, scopes=, brand=, ttl=)` makes a token (the TokenIssuer's `mint`)."""

    def bearer(token: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}

    operator = mint(OPERATOR, client_id=OPERATOR, scopes=sorted(admin_scopes), ttl=TOKEN_TTL)
    app = mint(APP, client_id=APP, scopes=sorted(app_scopes), brand=brand, ttl=TOKEN_TTL)
    person = mint(customer, client_id=APP, scopes=sorted(customer_scopes), ttl=TOKEN_TTL)
    return [
        Caller("operator", bearer(operator)),
        Caller("app", bearer(app)),
        Caller("customer", bearer(person)),
        Caller("anonymous"),
    ]
