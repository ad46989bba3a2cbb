"""Turn the cues found in a message into a score per intent."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from intents.lexicon import INTENTS, Lexicon

__all__ = ["INTENTS", "Evidence", "decide", "found_cues", "greeting_only", "score_intents"]
FILLER = re.compile(r"[\s\W\d_]+")


@dataclass(frozen=True)
class Evidence:
    """What the engine found in one normalised message."""

    cues: frozenset[str]
    ticket: int | None
    vote: int | None
    choice: str | None
    rating: int | None
    home: tuple[str | None, str | None, str | None]
    category_weight: float
    urgent: bool
    greeting_only: bool
    length: int

    def has(self, *names: str) -> bool:
        """Tell whether any of the named cue groups matched."""
        return not self.cues.isdisjoint(names)


def found_cues(norm: str, lex: Lexicon) -> frozenset[str]:
    """Return the names of the cue groups that match the text."""
    found = lex.cue_index.matching(norm)
    if "hypothetical" in found and "fault" in found:
        # A fault named only as what a proposal would prevent is no fault stated.
        if not lex.cues["fault"].search(lex.cues["hypothetical"].sub(" ", norm)):
            found.discard("fault")
    return frozenset(found)


def greeting_only(norm: str, lex: Lexicon) -> bool:
    """Tell whether the text is greeting words (and fillers) alone."""
    if not norm or not lex.greeting_re.search(norm):
        return False
    rest = lex.filler_re.sub("", lex.greeting_re.sub("", norm))
    return not FILLER.sub("", rest)


def _report(ev: Evidence, w: dict[str, float]) -> float:
    """Score a report: how clearly a problem is named and complained about."""
    c = ev.cues
    # "我反映的…" refers to an earlier report: its complaint word is no new complaint.
    complaint = "complaint" in c and "my_report" not in c
    bonus = w["complaint"] * complaint + w["fault"] * ("fault" in c or ev.urgent)
    if ev.category_weight == 0 and bonus == 0:
        return 0.0
    score = ev.category_weight + bonus
    if ev.category_weight and "personal_request" in c:
        score += w["personal_request"]  # help asked for oneself is no proposal for the estate
    if "suggest" in c and "fault" in c and "not_complaint" not in c:
        score += w["shortcoming"]  # a proposal that states a fault outright
    return score


def _query(ev: Evidence, w: dict[str, float]) -> float:
    """Score a follow-up of one's own report."""
    c = ev.cues
    # In a message about votes, "#N" is the vote's number, not one's ticket.
    ticket = ev.ticket is not None and "vote_word" not in c
    referent = max(w["ticket"] * ticket, w["my_report"] * ("my_report" in c),
                   w["reference"] * ("reference" in c))
    follow = max(w["followup"] * ("status" in c or "urge" in c), w["cancel"] * ("cancel" in c))
    if not referent and not ("status" in c or "cancel" in c):
        return 0.0
    return referent + follow


def _rate(ev: Evidence, w: dict[str, float]) -> float:
    """Score a judgement of handled work."""
    c = ev.cues
    # "不用管了 自己修好了" withdraws a report: a cancellation, whatever fixed it.
    good = w["outcome_good"] * ("outcome_good" in c and not ("question" in c or "cancel" in c))
    return max(w["rating"] * (ev.rating is not None), w["rate_word"] * ("rate_word" in c),
               good, w["outcome_bad"] * ("outcome_bad" in c), w["marked_undone"] * ("marked_undone" in c),
               w["sloppy"] * ("sloppy" in c))


def _bind(ev: Evidence, w: dict[str, float]) -> float:
    """Score a request to register a home."""
    c = ev.cues
    has_home = any(ev.home)
    if "bind_verb" in c:
        return w["bind_with_home"] if has_home else w["bind_verb"]
    if not has_home:
        return 0.0
    if "bind_phrase" in c:
        # "我住3栋 楼上好吵": with a problem named, the problem is the request.
        return w["bind_phrase"] - w["problem_named"] * (ev.category_weight >= 2)
    # A bare home ("7-1-302") is one to register; a building or unit alone ("7栋2单元") is no home.
    full_home = ev.home[2] is not None and (ev.home[0] or ev.home[1]) is not None
    return w["bare_home"] if full_home and ev.length <= w["bare_home_length"] and ev.category_weight == 0 else 0.0


def _vote(ev: Evidence, w: dict[str, float]) -> tuple[float, float]:
    """Score casting a vote and asking about votes."""
    c = ev.cues
    short = ev.length <= w["short_message"]
    # "同意的有好多" asks for a tally: the choice word names a side, it casts nothing.
    cast = ev.choice is not None and "vote_tally" not in c and (
        "vote_context" in c or ev.vote is not None or short)
    if cast:
        return w["vote_choice"], 0.0
    if "vote_word" in c:
        return 0.0, w["vote_list"] + w["vote_question"] * ("vote_question" in c)
    return 0.0, 0.0


def _market(ev: Evidence, w: dict[str, float]) -> float:
    """Score a question about the monthly market (a service alone counts when asked or dated)."""
    c = ev.cues
    named = "market" in c
    if not named and not ("market_service" in c and ("market_date" in c or "question" in c)):
        return 0.0
    score = (w["market"] * named + w["market_service"] * ("market_service" in c)
             + w["market_date"] * ("market_date" in c))
    if "suggest" in c:
        score = min(score, w["suggest"] - 0.5)  # a proposal about the market is a suggestion
    return score


def score_intents(ev: Evidence, lex: Lexicon) -> dict[str, float]:
    """Return a score for every intent."""
    c = ev.cues
    w = lex.weights
    vote, vote_list = _vote(ev, w)
    return {
        "report": _report(ev, w),
        "suggest": w["suggest"] * ("suggest" in c) + w["not_complaint"] * ("not_complaint" in c),
        "query_status": _query(ev, w),
        "rate": _rate(ev, w),
        "vote": vote,
        "vote_list": vote_list,
        "market": _market(ev, w),
        "subscribe": w["subscribe"] * ("subscribe" in c),
        "unsubscribe": w["unsubscribe"] * ("unsubscribe" in c),
        "bind": _bind(ev, w),
        "help": max(w["help"] * ("help" in c), w["help_howto"] * ("help_howto" in c)),
        "greeting": w["greeting_only"] * ev.greeting_only,
        "unknown": w["unknown"] + max(w["spam"] * ("spam" in c), w["offtopic"] * ("offtopic" in c),
                                      w["bot_identity"] * ("bot_identity" in c),
                                      w["info_request"] * ("info_request" in c)),
    }


def decide(scores: dict[str, float], order: tuple[str, ...]) -> tuple[str, float]:
    """Pick the top intent (ties go to the earlier one in `order`) and a softmax confidence."""
    best, top = "unknown", -math.inf
    for name in order:
        if scores[name] > top:
            best, top = name, scores[name]
    total = sum(math.exp(score - top) for score in scores.values())
    return best, 1.0 / total
