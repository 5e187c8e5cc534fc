# Bookshelf. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST := $(PY) -m pytest
COMPOSE      ?= docker compose
COMPOSE_PROD := $(COMPOSE) -f compose.prod.yaml
BENCH_ARGS ?=
PACKAGES := shared/src services/web/src services/worker/src devstack
# Where the e2e suite finds its stack (tests/e2e/support.py). `local` (every service a
# local process) so that `make test` tests the same thing on every machine, whether or
# not a Docker engine happens to answer; `make test-e2e E2E_STACK=docker` opts in.
E2E_STACK ?= local
export E2E_STACK
# What `make test` runs again on every other broker × mail catcher pair installed here
# (BROKER, MAIL_CATCHER; devstack/flavour_runs.py): the tests that tell the flavours apart.
# `make test-flavours` runs the whole e2e suite on every pair instead.
FLAVOUR_TESTS ?= tests/static/test_keydb.py tests/e2e/test_book_emails.py \
	tests/e2e/test_smtp_faults.py tests/e2e/test_broker_outage.py

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

## --- setup --------------------------------------------------------------
.PHONY: bootstrap
bootstrap: ## Install what is missing: apt packages, MailHog (Mailpit too with MAIL_CATCHER=mailpit), the virtualenv
	@bash scripts/bootstrap.sh

.PHONY: lock
lock: ## Re-pin every requirements.txt from the pyproject.toml files (uv pip compile)
	@bash scripts/lock.sh

## --- quality ------------------------------------------------------------
.PHONY: lint
lint: bootstrap ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: format
format: bootstrap ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: typecheck
typecheck: bootstrap ## mypy on the packages
	$(VENV)/bin/mypy $(PACKAGES) tests/conftest.py tests/e2e tests/faults

## --- tests --------------------------------------------------------------
.PHONY: test
test: bootstrap lint typecheck ## The test command: installs what is missing, then lint, mypy and every suite
	$(PYTEST)
	$(PY) -m devstack.flavour_runs --skip-current $(FLAVOUR_TESTS)

.PHONY: test-unit
test-unit: bootstrap ## Fast suites only (no e2e, no faults)
	$(PYTEST) -m "not e2e and not faults"

.PHONY: test-e2e
test-e2e: bootstrap ## The e2e suite alone (local processes; E2E_STACK=docker for compose)
	$(PYTEST) tests/e2e

.PHONY: test-flavours
test-flavours: ## The e2e suite on every broker x mail catcher pair installed here (builds Mailpit)
	@MAIL_CATCHER=mailpit bash scripts/bootstrap.sh
	$(PY) -m devstack.flavour_runs tests/e2e

.PHONY: test-faults
test-faults: bootstrap ## The fault suite alone: a burst with a fault mid-way, emails counted per event
	$(PYTEST) tests/faults

.PHONY: bench
bench: bootstrap ## The goals table P1-P6 + scale-out, cold start, memory (BENCH_ARGS=--quick: under a minute)
	$(PY) -m bench $(BENCH_ARGS)

## --- run without Docker ---------------------------------------------------
.PHONY: dev
dev: bootstrap ## Run the whole stack as local processes (data kept in .devstack/data)
	$(PY) -m devstack

.PHONY: dev-reset
dev-reset: bootstrap ## Wipe the data `make dev` keeps (users, books, tokens)
	$(PY) -m devstack reset

## --- run with Docker ------------------------------------------------------
.PHONY: up
up: ## docker compose up --build (dev stack, app on :8080, MailHog on :8025)
	$(COMPOSE) up --build -d --wait

.PHONY: down
down: ## Stop the dev stack
	$(COMPOSE) down

.PHONY: logs
logs: ## Follow the dev stack's logs
	$(COMPOSE) logs -f

.PHONY: ps
ps: ## Show the dev stack's containers
	$(COMPOSE) ps

.PHONY: migrate
migrate: ## Apply database migrations in the dev stack
	$(COMPOSE) run --rm migrate

.PHONY: shell
shell: ## A Flask shell inside the web container
	$(COMPOSE) exec web flask --app bookshelf shell

.PHONY: prod-up
prod-up: ## Start the production stack (needs a real .env)
	$(COMPOSE_PROD) up -d --build --wait

.PHONY: prod-down
prod-down: ## Stop the production stack
	$(COMPOSE_PROD) down

.PHONY: clean
clean: ## Remove caches (keeps the virtualenv and tools)
	find . -name __pycache__ -prune -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .mypy_cache
