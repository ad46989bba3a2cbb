"""Score the learned models in plain Python: the weights file, linear scores, softmax and sigmoid.

The weights are trained offline by `make model` (`intents.train`, scikit-learn) and shipped as
`data/model.json`; serving reads them here and needs neither scikit-learn nor numpy. Weights are
stored as integers in hundredths. The intent table lists the whole vocabulary (a feature whose
weights were all pruned as 0); a message's feature vector is binary over the vocabulary and scaled
to unit length, so its score is bias + (sum of its features' weights) / sqrt(number of its features
in the vocabulary): features never seen in training neither score nor dilute.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

MODEL_PATH = Path(__file__).parent / "data" / "model.json"
SCALE = 100.0


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
                   {f: tuple(w / SCALE for w in row) if row else None for f, row in data["weights"].items()})


@dataclass(frozen=True)
class Model:
    """The three models and the thresholds chosen by cross-validation.

    `table` joins the three weight tables, so that each feature of a message is looked up once.
    """

    intent: Linear
    category: Linear
    urgent: Linear
    thresholds: dict[str, float]
    meta: dict
    table: dict[str, tuple] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Join the weight tables."""
        names = set(self.intent.weights) | set(self.category.weights) | set(self.urgent.weights)  # the vocabulary
        self.table.update((f, (self.intent.weights.get(f), self.category.weights.get(f), self.urgent.weights.get(f)))
                          for f in names)

    def read(self, feats: list[str], with_category: bool | None = None) -> tuple[dict, dict | None, float]:
        """Return the intent probabilities, the category probabilities (when a report is likely, or
        with_category says so) and the probability of urgency."""
        hits = [hit for hit in map(self.table.get, feats) if hit is not None]
        norm = 1.0 / math.sqrt(len(hits)) if hits else 0.0
        intent = _softmax(self.intent, [h[0] for h in hits if h[0] is not None], norm)
        category = None
        if with_category or (with_category is None and intent["report"] >= 0.05):
            category = _softmax(self.category, [h[1] for h in hits if h[1] is not None], norm)
        urgent = self.urgent.bias[0] + norm * sum(h[2][0] for h in hits if h[2] is not None)
        return intent, category, 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, urgent))))


def _softmax(model: Linear, rows: list[tuple[float, ...]], norm: float) -> dict[str, float]:
    """Softmax over bias + norm * (sum of rows)."""
    scores = [b + s * norm for b, s in zip(model.bias, map(sum, zip(*rows)))] if rows else list(model.bias)
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return {name: e / total for name, e in zip(model.classes, exps)}


def load(path: Path = MODEL_PATH) -> Model:
    """Read the weights file."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return from_json(data)


def from_json(data: dict) -> Model:
    """Build a model from the weights file's content."""
    return Model(Linear.from_json(data["intent"]), Linear.from_json(data["category"]),
                 Linear.from_json(data["urgent"]), dict(data["thresholds"]), dict(data["meta"]))
