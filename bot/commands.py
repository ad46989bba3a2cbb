"""Staff commands, declared once where they are handled (as errbot's `@botcmd`).

    @staff_command("接单", usage="接单 #N", ticket=True)
    def claim(turn: StaffTurn, ticket: Ticket, rest: str) -> str: ...

Everything else is derived from the declarations: the help staff read, how a message
is split into a command and the rest, which words a resident on the Official Account
never writes (so they are always taken as a staff command), and who may run each one.
The handler modules register their commands when `bot.handlers` is imported; the help
lists them in that order.

Who may: before any action the registry checks the command's target against the staff
member's scope (`permission`), whatever the command, so a command declared tomorrow gets
the check without asking for it:

- a ticket (`ticket=True`, #N): its assignee, or staff at the ticket's level or above whose
  coverage takes in its place and category (models.queue.may_act_on);
- a home (`home=True`, 5栋2单元1203): staff whose coverage takes in the home;
- only the staff member's own things (`own=True`, 待办): anyone;
- anything else acts on the whole estate: staff who cover the whole estate (no buildings).

`levels` narrows who may further (binding decisions: grid and property; a consultation:
the estate and above), and `scope` may add a command's own refusal after these.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from bot.replies.staff import (STAFF_HELP_HEAD, STAFF_NO_HOME, STAFF_NO_TICKET,
                               STAFF_NOT_ESTATE_WIDE, STAFF_NOT_YOUR_HOME, STAFF_NOT_YOUR_LEVEL,
                               STAFF_NOT_YOUR_TICKET)
from bot.turn import StaffTurn
from models import Home, Ticket
from models.estates import homes_named, serves
from models.queue import may_act_on
from models.staff import LEVEL_NAMES, LEVELS

NUMBER = re.compile(r"^#?\s*(\d{1,9})\s*(.*)$", re.S)
HOME = re.compile(r"^(\d{1,16})\s*(?:栋|幢|号楼|-)\s*(\d{1,16})\s*(?:单元|-)\s*(\d{1,16})\s*室?\s*(.*)$",
                  re.S)

# A refusal in words, or None when this staff member may run the command (on this target).
Scope = Callable[[StaffTurn, Any], "str | None"]


def any_staff(_turn: StaffTurn, _target: Ticket | Home | None) -> str | None:
    """No refusal of the command's own beyond the registry's (`permission`)."""
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
    home: bool = False  # the rest starts with a home: the action gets it, (turn, home, rest)
    own: bool = False  # it acts on the staff member's own things only (待办)
    levels: tuple[str, ...] = LEVELS  # the levels whose staff may run it
    missing: str | None = None  # the answer when the ticket or home is not written (else the help)
    scope: Scope = any_staff

    @property
    def reach(self) -> str:
        """What the command acts on: "ticket", "home", "own" or "estate"."""
        return "ticket" if self.ticket else "home" if self.home else "own" if self.own else "estate"

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
        """Run one command: find its target, check who may, and say what happened."""
        if command.ticket:
            match = NUMBER.match(rest)
            if not match:
                return command.missing or self.help()
            target: Ticket | Home | None = turn.session.get(Ticket, int(match.group(1)))
            if target is None:
                return STAFF_NO_TICKET.format(number=match.group(1))
        elif command.home:
            match = HOME.match(rest)
            if not match:
                return command.missing or self.help()
            target = _home(turn, *match.group(1, 2, 3))
            if target is None:
                return STAFF_NO_HOME.format(home="{}栋{}单元{}".format(*match.group(1, 2, 3)))
        else:
            match, target = None, None
        refusal = permission(turn, command, target) or command.scope(turn, target)
        if refusal:
            return refusal
        if match is None:
            return command.action(turn, rest)
        return command.action(turn, target, match.groups()[-1].strip())


def permission(turn: StaffTurn, command: StaffCommand, target: Ticket | Home | None) -> str | None:
    """Why this staff member may not run the command on the target; None when they may."""
    me = turn.staff
    if me.role not in command.levels:
        return STAFF_NOT_YOUR_LEVEL.format(word=command.word, levels="、".join(
            LEVEL_NAMES[level] for level in command.levels))
    if isinstance(target, Ticket):
        return ticket_refusal(turn, target)
    if isinstance(target, Home):
        b, u, r = target.unit.building.number, target.unit.number, target.room
        mine = serves(turn.session, me, target.unit.building.estate_id) and me.covers(b, u, r)
        return None if mine else STAFF_NOT_YOUR_HOME.format(home=target.label)
    if command.own or not me.coverage:
        return None
    return STAFF_NOT_ESTATE_WIDE.format(word=command.word)


def _home(turn: StaffTurn, building: str, unit: str, room: str) -> Home | None:
    """The home named, in an estate the staff member acts in if it is in one (else the first)."""
    found = homes_named(turn.session, building, unit, room)
    return next((h for h in found if serves(turn.session, turn.staff, h.unit.building.estate_id)),
                found[0] if found else None)


def ticket_refusal(turn: StaffTurn, ticket: Ticket) -> str | None:
    """Why this staff member may not act on the ticket (merge checks its second one so too)."""
    if may_act_on(turn.session, turn.staff, ticket):
        return None
    return STAFF_NOT_YOUR_TICKET.format(number=ticket.id)


STAFF_COMMANDS = Registry()
staff_command = STAFF_COMMANDS.command
