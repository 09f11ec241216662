# The two commands a newcomer needs:  make run  (the whole system)  and  make test  (everything).
# `make help` lists every target: the text after `## ` on a target's line.
SHELL := /bin/bash
PY := .venv/bin/python
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: help run test setup bench-startup bootstrap venv kafka-jars node-deps lint typecheck contracts check schemas clean bench-broker bench-propagation bench-notifier bench-auth bench-auth-enumeration bench-profile bench-consent bench-keycloak bench-privacy bench-sizing token

help: ## this list
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-zA-Z_-]+):.*## (.*)$$/\1\t\2/' \
		| awk -F'\t' '{ printf "  make %-24s %s\n", $$1, $$2 }'

run: setup ## the whole system: PostgreSQL, Kafka, Redis (kept in var/) and the four services; Ctrl-C stops it; KAFKA_BROKERS=3: a three-broker Kafka cluster; CIAM_REPLICAS=2: two processes of each (ports +100)
	$(PY) -m ciam_devtools.devstack.run $(if $(KAFKA_BROKERS),--kafka-brokers $(KAFKA_BROKERS))

test: setup ## the whole test suite against real Kafka, PostgreSQL and Redis
	$(PY) -m pytest

screenshots: setup ## the browser tests alone, saving their screenshots into docs/services/screenshots
	CIAM_SCREENSHOTS=docs/services/screenshots $(PY) -m pytest -m browser -q

setup: bootstrap venv kafka-jars node-deps ## install what run and test need (system packages, .venv, Kafka jars, Node deps)

bootstrap: ## install PostgreSQL, Redis, Java, Maven and uv when missing (as root), else print the command
	@bash infra/bootstrap.sh

venv: ## the Python environment in .venv (uv sync of uv.lock), compiled to bytecode
	@$(UV) sync --frozen --quiet --compile-bytecode
	@# Compiled now, not by each process at its start: where PYTHONDONTWRITEBYTECODE is set
	@# (containers, CI) every service start compiled SQLAlchemy, FastAPI, pydantic and ours
	@# again, 2.6 times the CPU of an import from bytecode (a consent start: 5.2 s, not 2.0 s).
	@$(PY) -m compileall -q shared/ciam_shared devtools/ciam_devtools services/*/ciam_* sdk/ciam_consent_sdk >/dev/null

node-deps: ## Node test parties pinned by package-lock.json: the relying party (openid-client), the social provider (oidc-provider), axe-core for the browser tests
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/rp --no-audit --no-fund --silent; \
	npm ci --prefix tests/idp --no-audit --no-fund --silent; \
	npm ci --prefix tests/browser --no-audit --no-fund --silent; \
	else echo "node-deps: npm not found; the openid-client and oidc-provider tests will be skipped"; fi

kafka-jars: venv ## fetch the Kafka broker jars with Maven into infra/kafka/lib (once)
	@$(PY) -c "from ciam_devtools.devstack.kafka import kafka_jars; print('kafka jars:', kafka_jars())"

lint: venv ## ruff check and format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: venv ## mypy --strict over every package
	$(PY) -m mypy sdk/ciam_consent_sdk shared/ciam_shared devtools/ciam_devtools services/auth/ciam_auth services/profile/ciam_profile \
		services/consent/ciam_consent services/notifier/ciam_notifier examples/brand_app.py

contracts: venv ## import-linter: services independent, shared and the SDK import no service, layers inside each service
	.venv/bin/lint-imports

check: lint typecheck contracts ## lint, typecheck and the import contracts

schemas: venv ## export every event schema as JSON Schema into shared/schemas
	$(PY) -m ciam_shared.events shared/schemas

clean: ## start afresh: remove var/ (databases, topics, secrets, mails, logs) and caches; stop `make run` first
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis

bench-propagation: setup ## consent propagation latency, throughput, bootstrap; then throughput with 1 vs 2 consent replicas (several minutes)
	@$(UV) sync --frozen --quiet --group bench
	$(PY) bench/propagation.py
	$(PY) bench/propagation_replicas.py

bench-consent: setup ## consent service CPU per change, pinned to one core; changes/s single and batched
	$(PY) bench/consent.py $(ARGS)

bench-notifier: setup ## webhook latency and throughput, email duplicates (a few minutes)
	$(PY) bench/notifier.py

token: ## an access token for trying the APIs of `make run` (client credentials of the dev client)
	@$(PY) -m ciam_devtools.devstack.console $(ARGS)

bench-auth: setup ## argon2id, logins, grants, refreshes, introspections, verifications per core
	$(PY) bench/auth.py

bench-keycloak: setup ## our auth and Keycloak (from Maven Central, on KEYCLOAK_JAVA_HOME) side by side, per core
	$(PY) bench/keycloak.py

bench-profile: setup ## profile reads (cache, database), tracking throughput, withdraw-to-hidden
	$(PY) bench/profile.py

bench-privacy: setup ## a click on /privacy (Chromium) to a brand app's ConsentView callback in another process, p50/p99 (a few minutes)
	$(PY) bench/privacy_click.py

bench-sizing: setup ## storage per customer (consent, profile, notifier databases; the consent topics) for docs/operations.md "Sizing" (about 10 minutes)
	$(PY) bench/sizing.py --customers 1000

bench-broker: setup ## start-up time of the local Kafka, PostgreSQL and Redis
	$(PY) bench/broker_start.py 5

bench-auth-enumeration: setup ## login/registration/reset medians for known vs unknown addresses
	$(PY) bench/auth_enumeration.py

bench-startup: setup ## time from `make run` to ready, per component (a few runs; writes bench/results/startup.json)
	$(PY) bench/startup.py
