"""The OpenAPI documents say what the services really answer: every error is an RFC 9457
problem (`application/problem+json`, the `ProblemDetails` schema), and each operation lists the
error statuses it can give.

An operation names its statuses in its decorator, `responses=problem_responses(403, 404)`;
`document_problems(app)` (installed with the problem handlers) then gives every 4xx and 5xx
response of the document the problem body, in place of FastAPI's `application/json`
`HTTPValidationError` for 422. The fuzz run (tests/fuzz) holds the services to it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from ciam_shared.http.problems import PROBLEM_JSON

SCHEMA = "ProblemDetails"
_REF = {"$ref": f"#/components/schemas/{SCHEMA}"}


class ProblemDetails(BaseModel):
    """RFC 9457 problem details. Extension members (e.g. `errors` of a 422, `item` of a batch)
    may follow."""

    model_config = ConfigDict(extra="allow", title=SCHEMA)

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: the error statuses it answers, each with a problem body."""
    return {
        status: {"description": HTTPStatus(status).phrase, "content": {PROBLEM_JSON: {}}}
        for status in statuses
    }


# What every operation behind a bearer token may answer, whatever it does: no or a bad token,
# not allowed, the issuer's keys out of reach.
BEARER = (401, 403, 503)


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": dict(_REF)}}


def _rewrite(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components[SCHEMA] = ProblemDetails.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if str(status)[:1] in {"4", "5"}:
                    response["content"] = _problem_content()
    # FastAPI's validation schemas are no longer referenced: drop them, so the document
    # holds no body that never leaves the service.
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return document


def document_problems(app: FastAPI) -> None:
    """Every error response of `app`'s OpenAPI document becomes a problem."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _rewrite(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
