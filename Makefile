# Two commands for a newcomer: `make run` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test check vectors bench calibrate load-bench

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) bot.py

test: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -q

check: $(VENV)/.runtime
	$(PY) bot.py check

# After editing content/: embed its phrasings into content/vectors.npz (commit it with the content).
vectors: $(VENV)/.runtime
	$(PY) bot.py vectors

bench: $(VENV)/.dev
	$(PY) bench/matcher_bench.py

calibrate: $(VENV)/.dev
	$(PY) bench/calibrate.py

load-bench: $(VENV)/.dev
	$(PY) bench/load_bench.py --users 500
