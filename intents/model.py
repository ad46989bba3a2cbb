"""Score the learned models in plain Python: the weights file, linear scores, softmax and sigmoid.

The weights are trained offline by `make model` (`intents.train`, scikit-learn) and shipped as
`data/model.json`; serving reads them here and needs neither scikit-learn nor numpy. Weights are
stored as integers in thousandths; a message's feature vector is binary and scaled to unit length,
so its score is bias + (sum of its features' weights) / sqrt(number of its features).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

MODEL_PATH = Path(__file__).parent / "data" / "model.json"
SCALE = 1000.0


@dataclass(frozen=True)
class Linear:
    """A linear model over binary features: one weight row per feature, one column per class."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]

    @classmethod
    def from_json(cls, data: dict) -> Linear:
        """Read a model as `intents.train` writes it."""
        return cls(tuple(data["classes"]), tuple(b / SCALE for b in data["bias"]),
                   {f: tuple(w / SCALE for w in row) for f, row in data["weights"].items()})

    def scores(self, feats: list[str]) -> list[float]:
        """Return the raw score of every class."""
        get = self.weights.get
        rows = [row for row in map(get, feats) if row is not None]
        if not rows:
            return list(self.bias)
        norm = 1.0 / math.sqrt(len(feats))
        return [b + s * norm for b, s in zip(self.bias, map(sum, zip(*rows)))]

    def probabilities(self, feats: list[str]) -> dict[str, float]:
        """Return each class's probability (softmax; a sigmoid for a single-column model)."""
        scores = self.scores(feats)
        if len(scores) == 1:
            return {self.classes[0]: 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, scores[0]))))}
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {name: e / total for name, e in zip(self.classes, exps)}


@dataclass(frozen=True)
class Model:
    """The three models and the thresholds chosen by cross-validation."""

    intent: Linear
    category: Linear
    urgent: Linear
    thresholds: dict[str, float]
    meta: dict


def load(path: Path = MODEL_PATH) -> Model:
    """Read the weights file."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return from_json(data)


def from_json(data: dict) -> Model:
    """Build a model from the weights file's content."""
    return Model(Linear.from_json(data["intent"]), Linear.from_json(data["category"]),
                 Linear.from_json(data["urgent"]), dict(data["thresholds"]), dict(data["meta"]))
