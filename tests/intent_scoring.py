"""Score the intent engine on a labelled set (intents/data/dev.jsonl, which no model trains on)."""
from __future__ import annotations

import json
from pathlib import Path

from intents import Engine

HOME = ("building", "unit", "room")


def score(engine: Engine, labelled: Path) -> dict[str, float]:
    """Return intent, category and home accuracy and the urgent class's F1 on a JSON Lines set."""
    gold = [json.loads(line) for line in labelled.read_text(encoding="utf-8").splitlines() if line.strip()]
    hits = {"intent": 0, "category": 0, "home": 0}
    seen = {"intent": 0, "category": 0, "home": 0}
    tp = fp = fn = 0
    for g in gold:
        got = engine.parse(g["text"]).as_dict()
        seen["intent"] += 1
        hits["intent"] += got["intent"] == g["intent"]
        if g["intent"] == "report":
            seen["category"] += 1
            hits["category"] += got["category"] == g["category"]
        if any(g[f] is not None for f in HOME) or any(got[f] is not None for f in HOME):
            seen["home"] += 1
            hits["home"] += all(got[f] == g[f] for f in HOME)
        tp += g["urgent"] and got["urgent"]
        fp += got["urgent"] and not g["urgent"]
        fn += g["urgent"] and not got["urgent"]
    scores = {k: hits[k] / seen[k] for k in hits}
    scores["urgent_f1"] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return scores
