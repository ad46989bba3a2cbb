#!/usr/bin/env python3
"""Check a labelled JSON Lines file against the schema of dev.jsonl, and count it.

    python3 /work/corpus-staging/validate.py FILE.jsonl

Prints every bad line (line number and why), then counts per intent, per report
category, urgent, and tags. Exit 1 when any line is bad. It checks the format and
the rules that are mechanical (types, slots allowed per intent); it does not judge
whether a label is right: that is the writer's job, by RULES.md.
"""
import collections, json, sys

INTENTS = {"report", "suggest", "query_status", "rate", "vote", "vote_list", "market",
           "subscribe", "unsubscribe", "bind", "help", "greeting", "unknown"}
CATS = {"elevator", "fire_safety", "security", "sanitation", "greenery", "lighting", "water",
        "facilities", "parking", "noise", "illegal_construction", "property_service",
        "neighbor_dispute", "assistance", "other"}
KEYS = ["text", "intent", "category", "building", "unit", "room", "urgent", "ticket", "vote",
        "choice", "rating"]
TAGS = {"near_miss", "dialect", "voice", "elderly", "young", "sarcastic", "long", "short",
        "emoji", "home_variant", "typo", "traditional", "two_things", "danger"}

def check(o):
    errs = []
    for k in KEYS:
        if k not in o:
            errs.append(f"missing key {k}")
    extra = set(o) - set(KEYS) - {"tags"}
    if extra:
        errs.append(f"unexpected keys {sorted(extra)}")
    if errs:
        return errs
    if not isinstance(o["text"], str) or not o["text"].strip() or "\n" in o["text"]:
        errs.append("text must be a non-empty one-line string")
    if o["intent"] not in INTENTS:
        errs.append(f"bad intent {o['intent']!r}")
    if o["intent"] == "report":
        if o["category"] not in CATS:
            errs.append(f"report needs a category, got {o['category']!r}")
    elif o["category"] is not None:
        errs.append("category only for report")
    if not isinstance(o["urgent"], bool):
        errs.append("urgent must be true/false")
    elif o["urgent"] and o["intent"] != "report":
        errs.append("urgent only for report")
    for k in ("building", "unit", "room", "choice"):
        v = o[k]
        if v is not None and not isinstance(v, str):
            errs.append(f"{k} must be a string or null")
    for k in ("building", "unit", "room"):
        v = o[k]
        if isinstance(v, str) and not v.isdigit():
            errs.append(f"{k} must be ASCII digits as a string, got {v!r}")
    for k in ("ticket", "vote", "rating"):
        v = o[k]
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            errs.append(f"{k} must be an integer or null")
    if o["vote"] is not None and o["intent"] not in ("vote", "vote_list"):
        errs.append("vote number only in vote / vote_list")
    if o["choice"] is not None and o["intent"] != "vote":
        errs.append("choice only in vote")
    if o["rating"] is not None and o["intent"] != "rate":
        errs.append("rating only in rate")
    if isinstance(o["choice"], str) and not (o["choice"] in ("agree", "oppose", "abstain") or o["choice"].isdigit()):
        errs.append("choice is agree/oppose/abstain or a number as a string")
    if "tags" in o:
        if not isinstance(o["tags"], list) or not set(o["tags"]) <= TAGS:
            errs.append(f"tags must be a list drawn from {sorted(TAGS)}")
        elif "near_miss" in o["tags"] and o["urgent"]:
            errs.append("a near miss is not urgent")
    return errs

def main(path):
    bad = 0
    intents, cats, tags = collections.Counter(), collections.Counter(), collections.Counter()
    urgent = 0
    texts = collections.Counter()
    n = 0
    for i, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            continue
        n += 1
        try:
            o = json.loads(line)
        except json.JSONDecodeError as e:
            print(f"line {i}: not JSON: {e}"); bad += 1; continue
        errs = check(o) if isinstance(o, dict) else ["not an object"]
        if errs:
            bad += 1
            print(f"line {i}: " + "; ".join(errs))
            continue
        texts[o["text"]] += 1
        intents[o["intent"]] += 1
        if o["intent"] == "report":
            cats[o["category"]] += 1
        urgent += o["urgent"]
        for t in o.get("tags", []):
            tags[t] += 1
    dups = [t for t, c in texts.items() if c > 1]
    for t in dups:
        print(f"duplicate text: {t}")
    print(f"{n} lines, {bad} bad, {len(dups)} duplicated texts")
    print("intents:", dict(sorted(intents.items())))
    print("categories:", dict(sorted(cats.items())))
    print("urgent:", urgent, " tags:", dict(sorted(tags.items())))
    sys.exit(1 if bad or dups else 0)

if __name__ == "__main__":
    main(sys.argv[1])
