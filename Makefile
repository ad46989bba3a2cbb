# 邻里通: `make run` serves the demo, `make test` runs every test. Both start from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
FLASK  := $(BIN)/flask --app app
BENCH_STAMP := $(VENV)/.bench-$(shell cat requirements.txt requirements-bench.txt | cksum | cut -d' ' -f1)
MODEL_STAMP := $(VENV)/.model-$(shell cat requirements.txt requirements-model.txt | cksum | cut -d' ' -f1)

.PHONY: install run test bench faults clean model

install: $(STAMP)

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

run: install
	$(FLASK) init-db
	$(FLASK) demo-data
	$(FLASK) serve

# The bench's baselines (WeRoBot) too: the suite runs each benchmark once on a tiny load.
test: install $(BENCH_STAMP) $(MODEL_STAMP)
	$(BIN)/python -m pytest

# The intent models: leave-one-writer-out cross-validation (figures into intents/data/cv.json and
# intents/README.md), then the weights from the whole corpus (intents/data/model.json).
model: install $(MODEL_STAMP)
	$(BIN)/python -m intents.train

$(MODEL_STAMP): $(STAMP) requirements-model.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-model.txt
	rm -f $(VENV)/.model-*
	touch $@


$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-bench.txt
	rm -f $(VENV)/.bench-*
	touch $@

# Every benchmark, then one table (bench/run_all.py). PostgreSQL: BENCH_PG_URL, default the local test server.
bench: install $(BENCH_STAMP)
	$(BIN)/python bench/run_all.py

# The fault tests with a deeper fuzzing profile (make test runs them with a few dozen examples).
faults: install
	LINLI_FUZZ_EXAMPLES=$${LINLI_FUZZ_EXAMPLES:-500} $(BIN)/python -m pytest -q \
		tests/test_fuzz.py tests/test_spool.py tests/test_ratelimit.py

clean:
	rm -rf $(VENV) data .pytest_cache
