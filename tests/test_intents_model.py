"""The learned models: the shipped weights are what the corpus gives, and the recorded figures are honest.

Floors sit on the leave-one-writer-out figures (intents/data/cv.json, written by `make model`), never on
lines a model trained on; a writer's fold is recomputed here to prove the recorded figures are real.
"""
from __future__ import annotations

import json

import pytest

pytest.importorskip("sklearn", reason="training needs requirements/model.txt (make test installs it)")

from intents import crossval, train  # noqa: E402
from intents.engine import Engine  # noqa: E402
from intents.model import MODEL_PATH  # noqa: E402

# The targets (issue 13); `make model` measured more on the current corpus (intents/README.md).
FLOORS = {"intent": 0.95, "category": 0.92, "home": 0.97, "urgent_recall": 0.97, "urgent_precision": 0.80}
CEILINGS = {"wrong_action": 0.03, "asked": 0.10}


@pytest.fixture(scope="module")
def cv() -> dict:
    return json.loads(train.CV_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def examples(engine: Engine) -> list[train.Example]:
    return train.load_corpus(engine.reader)


def test_figures_belong_to_the_current_corpus(cv: dict) -> None:
    """cv.json and model.json were made from exactly the corpus in the repository: rerun `make model` if not."""
    shipped = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert cv["corpus_sha256"] == train.corpus_hash()
    assert shipped["meta"]["corpus_sha256"] == train.corpus_hash()
    assert shipped["thresholds"] == cv["thresholds"]


def test_rebuild_gives_the_same_bytes(engine: Engine, cv: dict) -> None:
    """Training again from the same corpus writes the shipped weights file byte for byte."""
    assert train.build(engine.reader, cv["thresholds"]) == MODEL_PATH.read_text(encoding="utf-8")


def test_weights_file_is_small() -> None:
    """The weights ship in the repository: well under 2 MB."""
    assert MODEL_PATH.stat().st_size < 2_000_000


def test_a_recorded_fold_is_recomputed(engine: Engine, examples: list[train.Example], cv: dict) -> None:
    """Training on every writer but one and reading that one gives the figures cv.json records for it."""
    writer = min(cv["per_writer"], key=lambda w: cv["per_writer"][w]["n"])  # the smallest fold: quickest
    others = [e for e in examples if e.writer != writer]
    held = [e for e in examples if e.writer == writer]
    readings = [engine.reader.read(e.text) for e in held]
    models = {writer: train.fit(others, train.DEFAULT_THRESHOLDS)}
    parses = crossval.read_out_of_fold(engine, held, readings, models, cv["thresholds"])
    assert crossval.score(held, parses) == cv["per_writer"][writer]


def test_cross_validated_floors(cv: dict) -> None:
    """Pooled leave-one-writer-out figures stay above the floors and under the ceilings."""
    pooled = cv["pooled"]
    low = {k: pooled[k] for k, floor in FLOORS.items() if pooled[k] < floor}
    high = {k: pooled[k] for k, ceiling in CEILINGS.items() if pooled[k] > ceiling}
    assert not low and not high, f"floors {FLOORS}, ceilings {CEILINGS}: {low} {high}"


def test_every_writer_is_held_out_once(cv: dict, examples: list[train.Example]) -> None:
    """One fold per writer, and the folds cover the corpus."""
    writers = {e.writer for e in examples}
    assert set(cv["per_writer"]) == writers
    assert sum(s["n"] for s in cv["per_writer"].values()) == len(examples) == cv["pooled"]["n"]
