"""Every service's responses carry nosniff and a Referrer-Policy (the shared middleware), and a
handler's own choice of either header is kept."""

import httpx
from fastapi import FastAPI, Response

from ciam_shared.http.middleware import RequestContextMiddleware
from ciam_shared.http.problems import install_problem_handlers


def demo_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware, service="demo")
    install_problem_handlers(app)

    @app.get("/plain")
    async def plain() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/own-policy")
    async def own_policy() -> Response:
        return Response("x", headers={"Referrer-Policy": "no-referrer"})

    return app


async def get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=demo_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_answers_and_problems_carry_nosniff_and_a_referrer_policy() -> None:
    for path in ("/plain", "/nowhere"):
        response = await get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


async def test_a_handlers_own_referrer_policy_is_kept_not_doubled() -> None:
    response = await get("/own-policy")
    assert response.headers.get_list("referrer-policy") == ["no-referrer"]
    assert response.headers["x-content-type-options"] == "nosniff"
