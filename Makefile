# Two commands: `make run` (set up everything, start every process) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := run

VENV := .venv
RASA_VENV := .venv-rasa
PYTEST_API := $(VENV)/bin/pytest
PYTEST_RASA := $(RASA_VENV)/bin/pytest

export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONWARNINGS := ignore::DeprecationWarning
export ACTIONS_URL ?= http://localhost:5055/webhook
export RASA_TRACKER_DB ?= $(CURDIR)/var/rasa_tracker.db

.PHONY: run cluster haproxy test bench setup venvs env db model fonts browser lint format rasa-validate rasa-stories test-python test-clock clean

## Environments --------------------------------------------------------------------------------

$(VENV)/.installed: requirements/api.txt
	@test -x $(VENV)/bin/python || "$$(scripts/find-python311)" -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements/api.txt
	@touch $@

$(RASA_VENV)/.installed: requirements/rasa.txt
	@test -x $(RASA_VENV)/bin/python || "$$(scripts/find-python310)" -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RASA_VENV)/bin/python -m pip install --quiet -r requirements/rasa.txt
	@touch $@

venvs: $(VENV)/.installed $(RASA_VENV)/.installed

# Every time, not only when .env is missing: an older .env gets the secrets added since, and mode 0600.
env:
	@scripts/ensure-env

## Database, model, browser ----------------------------------------------------------------------

db: $(VENV)/.installed
	@mkdir -p var
	$(VENV)/bin/alembic upgrade head
	$(VENV)/bin/python -m api.seed

model: $(RASA_VENV)/.installed
	scripts/train-model

# Korean text in open-data charts needs a font with Hangul glyphs (NanumGothic).
fonts:
	@if ! fc-list 2>/dev/null | grep -qi nanum; then \
	  echo "installing fonts-nanum (Debian package)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq fontconfig fonts-nanum; \
	fi

# axe-core, the accessibility rules the browser tests run on the chat and console pages (tests/support/axe.py): from
# npm, pinned, into var/ (gitignored), so that no test downloads anything.
AXE_VERSION := 4.14.1
AXE_DIR := var/node
AXE := $(AXE_DIR)/node_modules/axe-core/axe.min.js

browser: fonts $(AXE)
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing chromium and chromium-driver (Debian packages)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver; \
	fi

$(AXE):
	@if ! command -v npm >/dev/null; then \
	  echo "installing npm (Debian package)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq npm; \
	fi
	npm install --prefix $(AXE_DIR) --no-save --no-package-lock --no-audit --no-fund --ignore-scripts axe-core@$(AXE_VERSION)
	@test -f $@ && touch $@

# The load balancer of `make cluster` and of the cluster tests.
haproxy:
	@if ! command -v haproxy >/dev/null; then \
	  echo "installing haproxy (Debian package)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq haproxy; \
	fi

setup: venvs env db model fonts

## The two commands ------------------------------------------------------------------------------

run: setup
	@echo
	@echo "  Web chat:  http://localhost:8080"
	@echo "  API docs:  http://localhost:8000/docs"
	@echo "  (Rasa takes about half a minute to load its model; Ctrl-C stops every process.)"
	@echo
	$(VENV)/bin/honcho start -f Procfile

# Two replicas of every process on PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) behind HAProxy, on the
# same ports as `make run` (deploy/cluster.py; README "Production").
cluster: setup haproxy
	$(VENV)/bin/python -m deploy.cluster

# lint-imports: the contracts in pyproject.toml ([tool.importlinter]) on what may import what.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

rasa-validate: $(RASA_VENV)/.installed
	$(RASA_VENV)/bin/rasa data validate --domain domain --data data

rasa-stories: model
	$(RASA_VENV)/bin/rasa test core --e2e --model models/current.tar.gz --stories tests/stories \
	  --fail-on-prediction-errors --out var/results/stories

# pytest exits 5 when it collected nothing; make treats every non-zero exit as a failure.
test-python: setup browser haproxy
	$(PYTEST_RASA) tests/nlu tests/actions tests/common
	$(PYTEST_API) tests/api tests/bot tests/bench tests/scripts tests/e2e

# The tests whose outcome could depend on the date or hour, run again with the process clock moved to
# 00:30 on a Monday, 21:30 on the last day of a month (and year) and the leap day of 2028, all in Seoul.
CLOCK_INSTANTS := 2026-12-07T00:30:00+09:00 2026-12-31T21:30:00+09:00 2028-02-29T10:00:00+09:00
CLOCK_API_TESTS := $(addprefix tests/api/test_,notices.py personal_notices.py handoffs.py tours_service.py \
  tours_api.py automation.py daily_report.py outbox.py opendata_periods.py opendata_questions.py staff.py \
  conversations.py console.py reports.py reports_staff.py reports_retention.py reports_console.py)
test-clock: $(VENV)/.installed $(RASA_VENV)/.installed
	@for instant in $(CLOCK_INSTANTS); do \
	  echo "--- clock moved to $$instant"; \
	  $(PYTEST_RASA) -q -p no:cacheprovider --clock=$$instant tests/actions tests/nlu || exit 1; \
	  $(PYTEST_API) -q -p no:cacheprovider --clock=$$instant $(CLOCK_API_TESTS) || exit 1; \
	done

test: lint rasa-validate rasa-stories test-python test-clock

bench: setup haproxy
	$(VENV)/bin/python -m bench

clean:
	rm -rf var/results .pytest_cache .ruff_cache
