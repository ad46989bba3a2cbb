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

    `rows` joins the three weight tables into one row per vocabulary feature (the intent's columns,
    the category's, then urgency's), so that a message costs one lookup per feature and one sum.
    """

    intent: Linear
    category: Linear
    urgent: Linear
    thresholds: dict[str, float]
    meta: dict
    rows: dict[str, tuple[float, ...]] = field(default_factory=dict, repr=False, compare=False)
    bias: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        """Join the weight tables (equal weights share one float)."""
        parts = (self.intent, self.category, self.urgent)
        shared: dict[float, float] = {}
        for name in set().union(*(part.weights for part in parts)):  # the vocabulary
            row = []
            for part in parts:
                row.extend(part.weights.get(name) or (0.0,) * len(part.classes))
            self.rows[name] = tuple(shared.setdefault(w, w) for w in row)
        object.__setattr__(self, "bias", self.intent.bias + self.category.bias + self.urgent.bias)

    def read(self, feats: list[str]) -> tuple[dict[str, float], dict[str, float], float]:
        """Return the intent probabilities, the category probabilities and the probability of urgency."""
        hits = [row for row in map(self.rows.get, feats) if row is not None]
        if hits:
            norm = 1.0 / math.sqrt(len(hits))
            scores = [b + s * norm for b, s in zip(self.bias, map(sum, zip(*hits)))]
        else:
            scores = list(self.bias)
        split = len(self.intent.classes)
        urgent = scores[-1]
        return (_softmax(self.intent.classes, scores[:split]), _softmax(self.category.classes, scores[split:-1]),
                1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, urgent)))))


def _softmax(classes: tuple[str, ...], scores: list[float]) -> dict[str, float]:
    """Each class's probability from its score."""
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return {name: e / total for name, e in zip(classes, exps)}


def load(path: Path = MODEL_PATH) -> Model:
    """Read the weights file."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return from_json(data)


def from_json(data: dict) -> Model:
    """Build a model from the weights file's content."""
    return Model(Linear.from_json(data["intent"]), Linear.from_json(data["category"]),
                 Linear.from_json(data["urgent"]), dict(data["thresholds"]), dict(data["meta"]))
