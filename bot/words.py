"""Words the bot matches on that more than one handler reads.

A handler's own words live beside the code that matches them (YES_WORDS in
bot/handlers/report.py, the privacy patterns in bot/handlers/privacy.py, ...); the
intent engine's lexicon is intents/'s.
"""
from __future__ import annotations

CANCEL_WORDS = ("取消", "算了", "不报了", "不用了")  # drops what the bot waits for (a place, an erasure)
