"""The OpenAPI document says what the problem handlers answer: every error response is
`application/problem+json` with the shared ProblemDetails schema."""

from __future__ import annotations

from fastapi import FastAPI

from ciam_shared.http.openapi import BEARER, SCHEMA, document_problems, problem_responses
from ciam_shared.http.problems import PROBLEM_JSON, install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    document_problems(app)

    @app.get("/things/{thing_id}", responses=problem_responses(*BEARER, 404))
    async def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    return app


def test_every_error_response_is_a_problem_and_the_listed_statuses_are_documented() -> None:
    document = _app().openapi()
    responses = document["paths"]["/things/{thing_id}"]["get"]["responses"]
    assert set(responses) == {"200", "401", "403", "404", "422", "503"}
    for status, response in responses.items():
        if status != "200":
            assert response["content"] == {
                PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{SCHEMA}"}}
            }
    schemas = document["components"]["schemas"]
    assert schemas[SCHEMA]["required"] == ["type", "title", "status"]
    assert "HTTPValidationError" not in schemas  # FastAPI's 422 body never leaves the service


def test_the_document_is_made_once() -> None:
    app = _app()
    assert app.openapi() is app.openapi()
