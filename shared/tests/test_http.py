"""The HTTP edge: RFC 9457 problem details and request ids (no servers needed)."""

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from ciam_shared.http.middleware import RequestContextMiddleware
from ciam_shared.http.problems import PROBLEM_JSON, DomainError, install_problem_handlers


class Thing(BaseModel):
    size: int


class ThingTooBig(DomainError):
    status = 409
    type_slug = "thing-too-big"
    title = "Thing too big"


def demo_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware, service="demo")
    install_problem_handlers(app)

    @app.post("/things")
    async def create(thing: Thing) -> Thing:
        if thing.size > 10:
            raise ThingTooBig(f"size {thing.size} is over 10", limit=10)
        return thing

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    return app


async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=demo_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_a_domain_error_is_a_problem_document_with_its_status() -> None:
    response = await call("POST", "/things", json={"size": 11})
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"].endswith("/thing-too-big")
    assert body["detail"] == "size 11 is over 10"
    assert body["limit"] == 10
    assert body["request_id"] == response.headers["x-request-id"]


async def test_bad_input_lists_every_error_without_a_trace() -> None:
    response = await call("POST", "/things", json={"size": "big", "extra": 1})
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("/validation")
    assert body["errors"][0]["loc"] == ["body", "size"]


async def test_an_unexpected_error_hides_its_details() -> None:
    response = await call("GET", "/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text


async def test_an_unknown_route_is_a_problem_too() -> None:
    response = await call("GET", "/nowhere")
    assert response.status_code == 404
    assert response.json()["status"] == 404


async def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced() -> None:
    kept = await call("GET", "/nowhere", headers={"x-request-id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = await call("GET", "/nowhere", headers={"x-request-id": "bad id\r\nx: y"})
    assert replaced.headers["x-request-id"] != "bad id\r\nx: y"
    assert len(replaced.headers["x-request-id"]) == 32
