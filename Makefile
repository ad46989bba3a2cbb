# 邻里通: `make run` serves the demo, `make test` runs every test. Both start from a fresh clone.
# Each target installs its own pinned group (requirements/, made by `make lock` from pyproject.toml):
#   run   -> runtime.txt          (what production installs: no pytest, hypothesis or playwright)
#   test  -> test.txt             (runtime + pytest and pytest-xdist (every core), hypothesis, playwright)
#   bench -> bench.txt            (test + the benchmarks' baselines: WeRoBot)
#   model -> model.txt, when there (test + the intent model's training libraries, scikit-learn):
#            installed with test and bench; serving scores the trained weights in plain Python.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
MODEL  := $(wildcard requirements/model.txt)
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile  # bytecode on import: CI's minutes
# One stamp per group and content of its files: a changed pin installs again.
stamp   = $(VENV)/.installed-$(1)-$(shell cat $(2) | cksum | cut -d' ' -f1)
RUNTIME := $(call stamp,runtime,requirements/runtime.txt)
TEST    := $(call stamp,test,requirements/test.txt $(MODEL))
BENCH   := $(call stamp,bench,requirements/bench.txt $(MODEL))

.PHONY: install run test bench faults model lock clean

install: $(RUNTIME)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): requirements/runtime.txt | $(VENV)/bin/python
	$(PIP) -r requirements/runtime.txt
	rm -f $(VENV)/.installed-runtime-*
	touch $@

$(TEST): requirements/test.txt $(MODEL) | $(VENV)/bin/python
	$(PIP) -r requirements/test.txt $(addprefix -r ,$(MODEL))
	rm -f $(VENV)/.installed-test-*
	touch $@

$(BENCH): requirements/bench.txt $(MODEL) | $(VENV)/bin/python
	$(PIP) -r requirements/bench.txt $(addprefix -r ,$(MODEL))
	rm -f $(VENV)/.installed-bench-*
	touch $@

run: $(RUNTIME)
	$(FLASK) init-db
	$(FLASK) demo-data
	$(FLASK) serve

test: $(TEST)
	$(BIN)/python -m pytest -n auto -m "not model"

# The intent models: leave-one-writer-out cross-validation (figures into intents/data/cv.json and
# intents/README.md), then the weights from the whole corpus (intents/data/model.json), then the
# test that recomputes a writer's fold.
model: $(TEST)
	$(BIN)/python -m intents.train
	$(BIN)/python -m pytest -q -m model

# A smoke run of the benchmarks on a tiny load (the table's labels), then every benchmark
# and one table (bench/run_all.py). PostgreSQL: BENCH_PG_URL, default the local test server.
bench: $(BENCH)
	$(BIN)/python -m pytest -q bench/test_smoke.py
	$(BIN)/python bench/run_all.py

# The fault tests with a deeper fuzzing profile (make test runs them with a few dozen examples).
faults: $(TEST)
	LINLI_FUZZ_EXAMPLES=$${LINLI_FUZZ_EXAMPLES:-500} $(BIN)/python -m pytest -q \
		tests/test_fuzz.py tests/test_spool.py tests/test_ratelimit.py

# Re-pin requirements/*.txt from pyproject.toml (keeps current versions; `make lock ARGS=--upgrade`).
lock:
	$(PYTHON) requirements/lock.py $(ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache
