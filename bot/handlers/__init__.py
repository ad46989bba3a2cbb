"""Handlers: plain functions that call the domain and return the text to say, one module per topic.

No handler module imports another: what two of them share lives in a module both use
(bot/tickets.py, bot/notify.py, bot/votes.py, ...). Importing this package registers every
staff command (bot/commands.py); the staff help lists them in the order of this list.
"""
from bot.handlers import staff, corrections, bind, vote, market, board, media  # noqa: F401  (staff commands, in help order)
