# 邻里通: `make run` serves the demo, `make test` runs every test. Both start from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
FLASK  := $(BIN)/flask --app app

.PHONY: install run test bench clean

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

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/bench_intents.py
	$(BIN)/python bench/bench_fanout.py

clean:
	rm -rf $(VENV) data .pytest_cache
