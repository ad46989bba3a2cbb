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
from intents.model import MODEL_PATH, SCALE  # noqa: E402

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


def test_rebuild_gives_the_shipped_weights(engine: Engine, cv: dict) -> None:
    """Training again from the same corpus writes the shipped weights file.

    On the machine that trained it, byte for byte. Another CPU's vector arithmetic may move the
    solver's last digits and so flip a weight's rounding to hundredths where it sat on the .5
    (seen on CI: 0.225 → 22 or 23): every weight may differ by that one step, and only a few do."""
    rebuilt = train.build(engine.reader, cv["thresholds"])
    shipped = MODEL_PATH.read_text(encoding="utf-8")
    if rebuilt == shipped:
        return
    ours, theirs = json.loads(rebuilt), json.loads(shipped)
    assert (ours["meta"], ours["thresholds"]) == (theirs["meta"], theirs["thresholds"])
    edge = round(train.PRUNE * SCALE)  # a weight rounded to just under this is pruned to 0
    moved, weights = [], 0
    for model in ("intent", "category", "urgent"):
        a, b = ours[model], theirs[model]
        assert a["classes"] == b["classes"]
        pairs = list(zip(a["bias"], b["bias"], strict=True))
        zero = [0] * len(a["classes"])
        for feature in sorted(set(a["weights"]) | set(b["weights"])):
            x, y = a["weights"].get(feature) or zero, b["weights"].get(feature) or zero
            pairs += list(zip(x, y, strict=True))
            weights += len(x)
        moved += [(model, x, y) for x, y in pairs if x != y]
    assert all(abs(x - y) <= 1 or {abs(x), abs(y)} == {0, edge} for _, x, y in moved), moved
    assert len(moved) <= weights // 10_000, moved


def test_weights_file_is_small() -> None:
    """The weights ship in the repository: well under 2 MB."""
    assert MODEL_PATH.stat().st_size < 2_000_000


@pytest.mark.model  # cross-validation: `make model` runs it, CI's minutes are for the rest
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
