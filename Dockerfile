# syntax=docker/dockerfile:1
#
# The image of any of the four services; which one is a build argument. The build context is the
# repository root:
#   docker build --build-arg SERVICE=auth --build-arg PORT=8001 -t ciam-auth .
# (docker-compose.yml does this with build: {context: ., args: {SERVICE: ..., PORT: ...}}).
# Ports: auth 8001, profile 8002, consent 8003, notifier 8004.

ARG SERVICE=auth
ARG PORT=8001

# ---- build stage: resolve the workspace from uv.lock into a self-contained /opt/venv ----------
FROM python:3.11-slim AS build
ARG SERVICE

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv

RUN pip install "uv==0.13.9"

WORKDIR /src

# Third-party dependencies first, from the lock file alone, so this layer is reused until
# uv.lock changes. --no-install-workspace leaves out the workspace members themselves.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package ciam-${SERVICE}

# Then the workspace code. --package installs only the service and what it needs (ciam-shared,
# and the consent SDK for profile, consent and the notifier); --no-editable installs them as
# regular packages, so /opt/venv does not need /src at run time.
COPY shared/ shared/
COPY sdk/ sdk/
COPY services/ services/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package ciam-${SERVICE}

# ---- runtime stage: the virtualenv only, run as an unprivileged user ---------------------------
FROM python:3.11-slim
ARG SERVICE
ARG PORT

# The CMD and the healthcheck read these at run time (build arguments are gone by then).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CIAM_SERVICE=${SERVICE} \
    CIAM_PORT=${PORT}

RUN groupadd --system --gid 10001 ciam \
    && useradd --system --uid 10001 --gid ciam --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin ciam

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
USER 10001:10001

EXPOSE ${PORT}

# Ready = database, Redis and Kafka reachable (urlopen raises on the 503 that /readyz returns).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"CIAM_PORT\"]}/readyz', timeout=3)"]

# A shell, for the variables; exec, so uvicorn is PID 1 and gets the stop signal.
CMD ["sh", "-c", "exec uvicorn --factory ciam_${CIAM_SERVICE}.main:create_app --host 0.0.0.0 --port ${CIAM_PORT}"]
