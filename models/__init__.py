"""SQLAlchemy 2 models, the session, and the domain rules that belong to them."""
from models.db import Base, make_engine, make_sessionmaker, transaction
from models.estate import Building, Estate, Home, Owner, Resident, Unit, find_home, resident_for
from models.binding import BindingAttempt
from models.console import AuditEntry, ConsoleSession, Operator, SignInAttempt
from models.corrections import LabelledExample
from models.market import MarketOverride
from models.messages import AccessToken, Conversation, InboundMessage, OutboxMessage
from models.scheduling import SchedulerLease, StoredJob
from models.staff import Coverage, Staff, covering, staff_by_user
from models.tickets import (Follower, Ticket, TicketEvent, TicketPhoto, TransitionError, record,
                            transition)
from models.votes import Ballot, BallotCast, Vote, VoteError
from models.proposals import Proposal, ProposalDocument
from models import indexes  # noqa: F401,E402  (the scale indexes, declared on the tables above)
from models import rollups, ranks  # noqa: F401,E402  (the figures' rollups: tables, their upkeep, indexes)

__all__ = [
    "AccessToken", "AuditEntry", "ConsoleSession", "Operator", "SignInAttempt", "Coverage", "Follower", "Staff", "covering", "staff_by_user",
    "Base", "Building", "Conversation", "Estate", "Home", "InboundMessage", "OutboxMessage",
    "Owner", "Resident", "Ticket", "TicketEvent", "TicketPhoto", "TransitionError", "Unit",
    "SchedulerLease", "StoredJob", "Ballot", "BallotCast", "BindingAttempt", "LabelledExample", "MarketOverride", "Vote",
    "Proposal", "ProposalDocument",
    "VoteError",
    "find_home", "make_engine", "make_sessionmaker", "record", "resident_for", "transaction",
    "transition",
]
