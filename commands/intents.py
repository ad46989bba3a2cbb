"""`flask intents corrections [--since DATE] [-o FILE]`: the labelled examples, for the corpus.

Staff corrections (改类, 不是报修) and residents' answers to clarifying questions, written in
the corpus format (intents/data/dev.jsonl's keys: text, intent, category, then the engine's
slots) with what the engine read and who said otherwise, for review. Phone and room numbers
are scrubbed from the words; no openid appears. Reviewed files go into intents/data/corpus/
and join the training at the next `make model` (intents/README.md).
"""
from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any

import click
from flask.cli import AppGroup

from intents import parse_as
from bot.services import current as services
from models.corrections import LabelledExample, since
from models.privacy import scrub

SLOTS = ("building", "unit", "room", "urgent", "ticket", "vote", "choice", "rating")
TAGS = {"staff": "correction", "resident": "clarified"}

intents_cli = AppGroup("intents", help="The intent engine's labelled examples.")


@intents_cli.command("corrections")
@click.option("--since", "start", type=click.DateTime(["%Y-%m-%d"]),
              help="only examples kept on or after this day (YYYY-MM-DD, Asia/Shanghai)")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="the JSON Lines file to write (default: standard output)")
def corrections(start: datetime | None, output: Any) -> None:
    """Write staff corrections and residents' answers as corpus lines, one JSON object each."""
    s = services()
    moment = datetime.combine(start.date(), time(), tzinfo=s.tz) if start else None
    with s.sessions() as session:
        examples = since(session, moment)
        lines = [json.dumps(line(example, s.local(example.at)), ensure_ascii=False) for example in examples]
    for text in lines:
        output.write(text + "\n")
    if output.name != "<stdout>":
        click.echo(f"{len(lines)} labelled example(s) written to {output.name}")


def line(example: LabelledExample, at: datetime) -> dict[str, Any]:
    """One example as a corpus line: the right labels, the engine's slots for the rest, the review."""
    text = scrub(example.text)
    slots = parse_as(text, example.intent).as_dict()
    out: dict[str, Any] = {"text": text, "intent": example.intent,
                           "category": example.category if example.intent == "report" else None}
    out |= {key: slots[key] for key in SLOTS}
    out["tags"] = [TAGS[example.source]]
    out["review"] = {"read": {"intent": example.read_intent, "category": example.read_category},
                     "source": example.source, "by": example.by,
                     "at": at.isoformat(timespec="seconds"),
                     "note": scrub(example.note) if example.note else None}
    return out


COMMANDS = (intents_cli,)
