# The two commands a newcomer needs:  make run  (the whole system)  and  make test  (everything).
SHELL := /bin/bash
PY := .venv/bin/python
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: run test setup bootstrap venv kafka-jars lint typecheck check schemas clean bench-broker bench-propagation bench-notifier bench-auth-enumeration token

run: setup ## start Kafka, Redis and the four services; Ctrl-C stops everything
	$(PY) -m ciam_shared.devstack.run

test: setup ## the whole test suite against real Kafka, PostgreSQL and Redis
	$(PY) -m pytest

setup: bootstrap venv kafka-jars

bootstrap:
	@bash infra/bootstrap.sh

venv:
	@$(UV) sync --frozen --quiet

kafka-jars: venv
	@$(PY) -c "from ciam_shared.devstack.kafka import kafka_jars; print('kafka jars:', kafka_jars())"

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: venv
	$(PY) -m mypy sdk/ciam_consent_sdk shared/ciam_shared services/auth/ciam_auth services/profile/ciam_profile \
		services/consent/ciam_consent services/notifier/ciam_notifier

check: lint typecheck

schemas: venv ## export every event schema as JSON Schema into shared/schemas
	$(PY) -m ciam_shared.events shared/schemas

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

bench-propagation: setup ## consent propagation latency, throughput, bootstrap (a few minutes)
	@$(UV) sync --frozen --quiet --group bench
	$(PY) bench/propagation.py

token: ## mint a token for trying the APIs of `make run`: make token ARGS="--sub <subject-uuid>"
	@$(PY) -m ciam_shared.interim_auth $(ARGS)

bench-notifier: setup ## webhook latency and throughput, email duplicates (a few minutes)
	$(PY) bench/notifier.py

bench-broker: setup ## start-up time of the local Kafka, PostgreSQL and Redis
	$(PY) bench/broker_start.py 5

bench-auth-enumeration: setup ## login/registration/reset medians for known vs unknown addresses
	$(PY) bench/auth_enumeration.py
