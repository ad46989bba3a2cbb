"""Indexes for a street of estates: the queries that must stay fast at a million tickets.

Each one serves a named query; bench/bench_scale.py measures them, and migration 0011 creates them.
- the vote tally (models/votes.py `_count_in_database`): each owner's ballot sums that owner's
  homes; with area and unsold in the index, PostgreSQL answers from the index alone.
- 待办 (bot/handlers/staff.py `_queue`): open tickets of one level, in some buildings, and open
  tickets assigned to one person. Open tickets are a few percent of all, so both indexes are
  partial: they hold only open tickets and stay small however long the history grows.
- the duplicate check of every report (models/tickets.py `similar_open`, migration 0027): open
  tickets of one category in one building (or estate-wide) from the last 24 hours. Without it
  the check walked every ticket of the estate's last day: a flood of reports, each opening a
  ticket, made every next report slower.
"""
from __future__ import annotations

from sqlalchemy import Index, text

from models.estate import Home
from models.tickets import OPEN_STATES, Ticket

OPEN = text("state IN ({})".format(", ".join(f"'{state}'" for state in OPEN_STATES)))

OPEN_BY_LEVEL_BUILDING = Index("ix_tickets_open_level_building", Ticket.level, Ticket.building,
                               postgresql_where=OPEN, sqlite_where=OPEN)
OPEN_BY_ASSIGNEE = Index("ix_tickets_open_assignee", Ticket.assignee_id,
                         postgresql_where=OPEN, sqlite_where=OPEN)

OPEN_SIMILAR = Index("ix_tickets_open_similar", Ticket.category, Ticket.building, Ticket.created_at,
                     postgresql_where=OPEN, sqlite_where=OPEN)

HOMES_BY_OWNER = Index("ix_homes_owner_area", Home.owner_id, Home.unsold, Home.area_m2)

ALL = (OPEN_BY_LEVEL_BUILDING, OPEN_BY_ASSIGNEE, OPEN_SIMILAR, HOMES_BY_OWNER)
