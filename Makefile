# Two commands for a newcomer: `make run` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

BROWSER := /usr/bin/chromium

.PHONY: run test check model bench load-bench web-bench

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) bot.py

# Debian's Chromium and its driver for tests/test_web_browser.py (and a font with Chinese characters
# for its screenshots); skipped when present. Needs root (CI is) or sudo; without them the browser
# tests are skipped with the reason, except on CI, where they fail.
$(BROWSER):
	-{ [ "$$(id -u)" = 0 ] || SUDO=sudo; } && $${SUDO} apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		$${SUDO} apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-wqy-microhei

test: $(VENV)/.dev $(BROWSER)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -q

check: $(VENV)/.runtime
	$(PY) bot.py check

# After editing content/ or the labelled questions: embed the phrasings and train the classifiers
# (content/vectors.npz, content/model.npz; commit them with the change). scikit-learn is a dev tool.
model: $(VENV)/.dev
	$(PY) bot.py model

bench: $(VENV)/.dev
	$(PY) bench/understanding_bench.py

load-bench: $(VENV)/.dev
	$(PY) bench/load_bench.py --users 500

web-bench: $(VENV)/.dev
	$(PY) bench/web_bench.py
