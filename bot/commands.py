"""Staff commands, declared once where they are handled (as errbot's `@botcmd`).

    @staff_command("接单", usage="接单 #N", ticket=True)
    def claim(turn: StaffTurn, ticket: Ticket, rest: str) -> str: ...

Everything else is derived from the declarations: the help staff read, how a message
is split into a command and the rest, which words a resident on the Official Account
never writes (so they are always taken as a staff command), and who may run each one
(`scope`). The handler modules register their commands when `bot.handlers` is
imported; the help lists them in that order.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from bot.replies.staff import STAFF_HELP_HEAD, STAFF_NO_TICKET
from bot.turn import StaffTurn
from models import Ticket

NUMBER = re.compile(r"^#?\s*(\d{1,9})\s*(.*)$", re.S)

# A refusal in words, or None when this staff member may run the command (on this ticket).
Scope = Callable[[StaffTurn, "Ticket | None"], "str | None"]


def any_staff(_turn: StaffTurn, _ticket: Ticket | None) -> str | None:
    """Every registered staff member may (the dialogue has checked they are registered)."""
    return None


@dataclass(frozen=True)
class StaffCommand:
    """One command: its word, how it is written, what runs it, and who may."""

    word: str  # 接单
    usage: str  # 接单 #N: also the help line, unless `help` says more
    action: Callable[..., str]  # (turn, ticket, rest) when `ticket`, else (turn, rest)
    ticket: bool = False  # the rest starts with #N: the action gets that ticket
    help: str | None = None  # the help entry, when it is more than the usage
    continues: str | None = None  # the word of an earlier command whose help line this one ends
    # No resident writes this word: on the residents' account it is always a staff command.
    staff_only: bool = False
    # Residents write this word too (回复 #N adds to their ticket): on the residents' account
    # it is a staff command only from registered staff.
    residents_too: bool = False
    scope: Scope = any_staff

    def claims(self, text: str) -> bool:
        """Whether a resident's message (not from registered staff) is this command.

        It is when the word is staff-only, or when the word names a ticket ("接单 #3"),
        or when a command that takes nothing is written alone ("待办").
        """
        if self.staff_only:
            return True
        if self.residents_too:
            return False
        numbered = re.match(rf"^\s*\S{{{len(self.word)}}}\s*[#＃]\s*\d+", text)
        return numbered is not None or (self.usage == self.word and text.strip() == self.word)


class Registry:
    """The staff commands, in the order they were declared."""

    def __init__(self) -> None:
        self._commands: dict[str, StaffCommand] = {}

    def __iter__(self) -> Iterator[StaffCommand]:
        return iter(tuple(self._commands.values()))

    def add(self, command: StaffCommand) -> StaffCommand:
        """Register a command; a word may be declared once."""
        if command.word in self._commands:
            raise ValueError(f"staff command {command.word} is declared twice")
        if command.continues is not None and command.continues not in self._commands:
            raise ValueError(f"staff command {command.word} continues {command.continues}, "
                             "which is not declared before it")
        self._commands[command.word] = command
        return command

    def remove(self, word: str) -> None:
        """Forget a command (and nothing else)."""
        self._commands.pop(word, None)

    def command(self, word: str, *, usage: str, ticket: bool = False, **options: Any
                ) -> Callable[[Callable[..., str]], Callable[..., str]]:
        """Declare the decorated function as the staff command `word`."""
        def register(action: Callable[..., str]) -> Callable[..., str]:
            self.add(StaffCommand(word, usage, action, ticket=ticket, **options))
            return action
        return register

    def parse(self, text: str) -> tuple[StaffCommand, str] | None:
        """Return (command, the rest) when the text starts with a command's word."""
        said = unicodedata.normalize("NFKC", text).lstrip()
        for command in sorted(self._commands.values(), key=lambda c: -len(c.word)):
            if said.startswith(command.word):  # the longest word first: 撤回公示 before 公示
                return command, said[len(command.word):].strip()
        return None

    def help(self) -> str:
        """The help staff read: every command's usage, one line each (pairs share a line)."""
        lines: dict[str, str] = {}
        for command in self._commands.values():
            entry = command.help or command.usage
            if command.continues is not None:
                lines[command.continues] += entry
            else:
                lines[command.word] = entry
        return "\n".join([STAFF_HELP_HEAD, *lines.values()])

    def staff_only_words(self) -> tuple[str, ...]:
        """The words no resident writes."""
        return tuple(c.word for c in self._commands.values() if c.staff_only)

    def run(self, turn: StaffTurn, command: StaffCommand, rest: str) -> str:
        """Run one command: find its ticket, check the scope, and say what happened."""
        if not command.ticket:
            return command.scope(turn, None) or command.action(turn, rest)
        match = NUMBER.match(rest)
        if not match:
            return self.help()
        ticket = turn.session.get(Ticket, int(match.group(1)))
        if ticket is None:
            return STAFF_NO_TICKET.format(number=match.group(1))
        return command.scope(turn, ticket) or command.action(turn, ticket, match.group(2).strip())


STAFF_COMMANDS = Registry()
staff_command = STAFF_COMMANDS.command
