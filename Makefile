# Quick start:  make run   (set up and run the app with demo data and the scheduler)
#               make test  (set up the dev environment and run the test suite)

# The first interpreter that actually runs and is 3.11+ (pyenv shims may exist without one).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
PYTEST_ARGS ?= -n 2

.PHONY: run test venv venv-dev i18n clean

$(VENV)/.installed: setup.cfg pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed
venv-dev: $(VENV)/.installed-dev

# The development server speaks plain http on localhost, so cookies cannot be Secure-only here;
# production keeps the default (TIMEBANK_COOKIE_SECURE=1).
run: venv
	$(BIN)/timebank db upgrade
	$(BIN)/timebank seed-demo --if-empty
	@echo
	@echo "  时间银行 · timebank is starting at http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@echo
	@TIMEBANK_COOKIE_SECURE=0 sh -c '$(BIN)/timebank scheduler & SCHED=$$!; \
		trap "kill $$SCHED 2>/dev/null" EXIT INT TERM; \
		$(BIN)/timebank run --host $(HOST) --port $(PORT)'

test: venv-dev
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

i18n: venv
	$(BIN)/python -m timebank.i18n update
	$(BIN)/python -m timebank.i18n check

clean:
	rm -rf $(VENV) build *.egg-info
