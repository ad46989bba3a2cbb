"""Train the intent, category and urgency models from the corpus (`make model`).

    .venv/bin/python -m intents.train            # cross-validate, then write data/model.json,
                                                 # data/cv.json and README.md's figures
    .venv/bin/python -m intents.train --no-cv    # the weights only (thresholds from data/cv.json)

Training needs scikit-learn (requirements/model.txt); serving never imports it. The same corpus
always gives the same bytes: features and classes are sorted, the solver is deterministic and runs
on one thread, and weights are rounded to hundredths before they are written.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread: the same sums in the same order every time

import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

from intents.features import features  # noqa: E402
from intents.lexicon import DATA_DIR  # noqa: E402
from intents.model import MODEL_PATH, SCALE  # noqa: E402
from intents.reading import Reader  # noqa: E402

CORPUS_DIR = DATA_DIR / "corpus"
CV_PATH = DATA_DIR / "cv.json"
MIN_DF = 4  # a feature seen in one training line only is noise, not evidence
PRUNE = 0.2  # weights smaller than this are dropped from the shipped file
C = {"intent": 64.0, "category": 64.0, "urgent": 16.0}
NEAR_MISS_WEIGHT = 2.0  # a near miss teaches what is not urgent: weigh it like two lines
DEFAULT_THRESHOLDS = {"ask": 0.5, "urgent": 0.3}


@dataclass(frozen=True)
class Example:
    """One labelled corpus line, the writer who wrote it, and its features."""

    writer: str
    label: dict
    feats: tuple[str, ...]

    @property
    def text(self) -> str:
        """The message as written."""
        return self.label["text"]


def corpus_files(corpus_dir: Path = CORPUS_DIR) -> list[Path]:
    """Return the writers' files, sorted by name."""
    return sorted(corpus_dir.glob("*.jsonl"))


def corpus_hash(corpus_dir: Path = CORPUS_DIR) -> str:
    """Hash every writer's file name and bytes: the figures and weights belong to exactly this corpus."""
    digest = hashlib.sha256()
    for path in corpus_files(corpus_dir):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_corpus(reader: Reader, corpus_dir: Path = CORPUS_DIR) -> list[Example]:
    """Read every writer's lines and their features."""
    examples = []
    for path in corpus_files(corpus_dir):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            label = json.loads(line)
            if "text" not in label or "intent" not in label:
                raise ValueError(f"{path.name}:{number}: a corpus line needs text and intent")
            examples.append(Example(path.stem, label, tuple(sorted(features(reader.read(label["text"]))))))
    return examples


def vocabulary(rows: list[tuple[str, ...]]) -> list[str]:
    """The features seen in at least MIN_DF lines: the only ones a model reads or counts."""
    df = Counter(f for feats in rows for f in set(feats))
    return sorted(f for f, n in df.items() if n >= MIN_DF)


def _fit_linear(rows: list[tuple[str, ...]], targets: list[str], c: float, vocab: list[str],
                weights: list[float] | None = None, keep_all: bool = False) -> dict:
    """Fit a logistic regression and return it in the weights file's form (classes, bias, weights).

    A line's vector has 1/sqrt(n) for each of its n features in the vocabulary (unseen features
    neither score nor dilute). keep_all writes every vocabulary feature, a pruned one as 0, so that
    serving can count them.
    """
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    index = {f: i for i, f in enumerate(vocab)}
    data, cols, ptr = [], [], [0]
    for feats in rows:
        kept = sorted(index[f] for f in feats if f in index)
        norm = 1.0 / math.sqrt(len(kept)) if kept else 0.0
        cols.extend(kept)
        data.extend([norm] * len(kept))
        ptr.append(len(cols))
    x = csr_matrix((np.array(data), np.array(cols, dtype=np.int64), np.array(ptr)), shape=(len(rows), len(vocab)))
    classes = sorted(set(targets))
    y = np.array([classes.index(t) for t in targets])
    with threadpool_limits(1):
        clf = LogisticRegression(C=c, max_iter=5000, tol=1e-6, solver="lbfgs")
        clf.fit(x, y, sample_weight=None if weights is None else np.array(weights))
    coef, bias = clf.coef_, clf.intercept_
    if len(classes) == 2:  # one column: the score of the second class ("urgent")
        classes, coef, bias = classes[1:], coef[:1], bias[:1]
    table = {}
    for j, feature in enumerate(vocab):
        row = [int(round(float(w) * SCALE)) for w in coef[:, j]]
        row = [w if abs(w) >= PRUNE * SCALE else 0 for w in row]
        if any(row):
            table[feature] = row
        elif keep_all:
            table[feature] = 0
    return {"classes": classes, "bias": [int(round(float(b) * SCALE)) for b in bias], "weights": table}


def fit(examples: list[Example], thresholds: dict[str, float], meta: dict | None = None) -> dict:
    """Train the three models and return the weights file's content."""
    vocab = vocabulary([e.feats for e in examples])
    intent = _fit_linear([e.feats for e in examples], [e.label["intent"] for e in examples], C["intent"], vocab,
                         keep_all=True)
    reports = [e for e in examples if e.label["intent"] == "report"]
    category = _fit_linear([e.feats for e in reports], [e.label["category"] or "other" for e in reports],
                           C["category"], vocab)
    urgent = _fit_linear([e.feats for e in reports], ["urgent" if e.label["urgent"] else "calm" for e in reports],
                         C["urgent"], vocab, [NEAR_MISS_WEIGHT if "near_miss" in e.label.get("tags", ()) else 1.0
                                              for e in reports])
    return {"meta": meta or {}, "thresholds": dict(sorted(thresholds.items())),
            "intent": intent, "category": category, "urgent": urgent}


def dumps(data: dict) -> str:
    """Write the weights file: valid JSON, sorted, one feature per line (small diffs, same bytes)."""
    def dump(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    parts = ["{", f'"meta":{dump(data["meta"])},', f'"thresholds":{dump(data["thresholds"])},']
    for key in ("category", "intent", "urgent"):
        model = data[key]
        rows = [f"{dump(f)}:{dump(model['weights'][f])}" for f in sorted(model["weights"])]
        parts.append(f'"{key}":{{"bias":{dump(model["bias"])},"classes":{dump(model["classes"])},"weights":{{')
        parts.append(",\n".join(rows))
        parts.append("}}" + ("," if key != "urgent" else ""))
    parts.append("}")
    return "\n".join(parts) + "\n"


def build(reader: Reader, thresholds: dict[str, float], corpus_dir: Path = CORPUS_DIR) -> str:
    """Train on the whole corpus and return the weights file's text."""
    examples = load_corpus(reader, corpus_dir)
    meta = {"corpus_sha256": corpus_hash(corpus_dir), "lines": len(examples),
            "writers": sorted({e.writer for e in examples})}
    return dumps(fit(examples, thresholds, meta))


def main(argv: list[str] | None = None) -> int:
    """Cross-validate (unless --no-cv), then train on everything and write the weights."""
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation; reuse its thresholds")
    args = parser.parse_args(argv)
    reader = Reader()
    if args.no_cv:
        thresholds = json.loads(CV_PATH.read_text(encoding="utf-8"))["thresholds"] if CV_PATH.exists() \
            else DEFAULT_THRESHOLDS
    else:
        from intents import crossval
        report = crossval.run(reader, load_corpus(reader), corpus_hash())
        crossval.write(report)
        thresholds = report["thresholds"]
    text = build(reader, thresholds)
    MODEL_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {MODEL_PATH.relative_to(DATA_DIR.parent.parent)} ({len(text.encode()) / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
