# camcheck — the whole set-up is `make run` or `make test` on a fresh Debian machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test venv system-deps services bench clean help

help:
	@echo "make run    - install into $(VENV) and start camcheck with a demo fleet"
	@echo "make test   - install everything the tests need (Debian packages too) and run them"
	@echo "make bench  - run the benchmarks under bench/"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,simulator]'
	touch $(STAMP)

# Debian packages the tests use as real peers (RTSP servers/clients we did not write, browsers, ...).
system-deps:
	bash scripts/install-system-deps.sh

# PostgreSQL and Mosquitto must be up for the tests; start them if they are not.
services:
	bash scripts/ensure-services.sh

run: venv
	$(PY) -m camcheck demo

test: venv system-deps services
	bash scripts/install-test-peers.sh $(PY)
	bash scripts/run-tests.sh $(PY)

# Each benchmark prints camcheck's figures beside its baseline. Quick sizes here; see each --help.
bench: venv system-deps
	$(PY) bench/bench_probe.py --repeat 3 --concurrent 200
	$(PY) bench/bench_simulator.py --streams 100 1000 --duration 20
	$(PY) bench/bench_fleet.py --quick
	$(PY) bench/bench_metrics.py --cameras 10000
	$(PY) bench/onvif_bench.py --cameras 50

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
