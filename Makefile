# The two commands a newcomer needs:  make run  (the whole system)  and  make test  (everything).
SHELL := /bin/bash
PY := .venv/bin/python
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: run test setup bootstrap venv kafka-jars node-deps lint typecheck check schemas clean bench-broker bench-propagation bench-notifier bench-auth bench-auth-enumeration bench-profile token

run: setup ## start Kafka, Redis and the four services; Ctrl-C stops everything
	$(PY) -m ciam_shared.devstack.run

test: setup ## the whole test suite against real Kafka, PostgreSQL and Redis
	$(PY) -m pytest

setup: bootstrap venv kafka-jars node-deps

bootstrap:
	@bash infra/bootstrap.sh

venv:
	@$(UV) sync --frozen --quiet

node-deps: ## Node test parties pinned by package-lock.json: the relying party (openid-client) and the social provider (oidc-provider)
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/rp --no-audit --no-fund --silent; \
	npm ci --prefix tests/idp --no-audit --no-fund --silent; \
	else echo "node-deps: npm not found; the openid-client and oidc-provider tests will be skipped"; fi

kafka-jars: venv
	@$(PY) -c "from ciam_shared.devstack.kafka import kafka_jars; print('kafka jars:', kafka_jars())"

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: venv
	$(PY) -m mypy sdk/ciam_consent_sdk shared/ciam_shared services/auth/ciam_auth services/profile/ciam_profile \
		services/consent/ciam_consent services/notifier/ciam_notifier examples/brand_app.py

check: lint typecheck

schemas: venv ## export every event schema as JSON Schema into shared/schemas
	$(PY) -m ciam_shared.events shared/schemas

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis

bench-propagation: setup ## consent propagation latency, throughput, bootstrap (a few minutes)
	@$(UV) sync --frozen --quiet --group bench
	$(PY) bench/propagation.py

bench-notifier: setup ## webhook latency and throughput, email duplicates (a few minutes)
	$(PY) bench/notifier.py

token: ## an access token for trying the APIs of `make run` (client credentials of a dev client)
	@$(PY) -m ciam_shared.devstack.console $(ARGS)

bench-auth: setup ## argon2id, logins, grants, refreshes, introspections, verifications per core
	$(PY) bench/auth.py

bench-profile: setup ## profile reads (cache, database), tracking throughput, withdraw-to-hidden
	$(PY) bench/profile.py

bench-broker: setup ## start-up time of the local Kafka, PostgreSQL and Redis
	$(PY) bench/broker_start.py 5

bench-auth-enumeration: setup ## login/registration/reset medians for known vs unknown addresses
	$(PY) bench/auth_enumeration.py
