"""A vote's proposal: the full text and the documents owners need to decide (budget, quotes,
contracts), opened from the vote's announcement at an unguessable link, without signing in.

The link carries a random token of 192 bits (`secrets.token_urlsafe(24)`), never the vote's
number. A document is kept in the database with the type its first bytes show (PDF, PNG, JPEG
or WebP; whatever its name says), at most MAX_DOCUMENT bytes, at most MAX_DOCUMENTS a vote.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import Base, UTCDateTime
from models.votes import Vote

TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")  # token_urlsafe(24): 32 characters, 192 bits
MAX_TEXT = 20_000  # characters of proposal text
MAX_DOCUMENT = 10 * 1024 * 1024  # bytes
MAX_DOCUMENTS = 10
MAX_NAME = 80
# (first bytes, media type, what owners read); WebP is RIFF....WEBP
SIGNATURES = ((b"%PDF-", "application/pdf", "PDF"), (b"\x89PNG\r\n\x1a\n", "image/png", "图片"),
              (b"\xff\xd8\xff", "image/jpeg", "图片"))
KINDS = {"application/pdf": "PDF", "image/png": "图片", "image/jpeg": "图片", "image/webp": "图片"}

PROPOSAL_TOO_LONG = f"方案全文太长了（最多 {MAX_TEXT} 字），请精简，或把细节放进附件。"
PROPOSAL_EMPTY = "请填写方案全文，或至少上传一份附件。"
DOCUMENT_EMPTY = "上传的文件是空的，请重新选择。"
DOCUMENT_TOO_BIG = f"文件太大了：每份附件最多 {MAX_DOCUMENT // (1024 * 1024)} MB，请压缩后再传。"
DOCUMENT_BAD_TYPE = "只能上传 PDF 或图片（PNG、JPEG、WebP）；这个文件看内容不是这几种。"
DOCUMENT_TOO_MANY = f"每个表决最多 {MAX_DOCUMENTS} 份附件。"
FROZEN = "表决已经公布，方案和附件不能再改：业主是按公布的方案投票的。如需修改，请另发起一次表决。"


class ProposalError(ValueError):
    """A proposal or document refused; `str()` says why, in Chinese, and what to do."""


class Proposal(Base):
    """A vote's proposal text and the token of its public page."""

    __tablename__ = "vote_proposals"

    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"), primary_key=True)
    token: Mapped[str] = mapped_column(String(43), unique=True)
    text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))


class ProposalDocument(Base):
    """One document of a proposal, as uploaded, with the type its content shows."""

    __tablename__ = "vote_documents"
    __table_args__ = (UniqueConstraint("vote_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("vote_proposals.vote_id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, ... as owners see them
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    media_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[str] = mapped_column(String(100))

    @property
    def kind(self) -> str:
        """What owners read the document as: PDF or 图片."""
        return KINDS.get(self.media_type, "文件")


def link(base_url: str, token: str) -> str:
    """The proposal's public address, as chat sends it (the page is web/proposals.py's)."""
    return f"{base_url}proposal?t={token}"


def sniff(data: bytes) -> str | None:
    """The media type the content shows (PDF, PNG, JPEG, WebP), or None for anything else."""
    for magic, media_type, _kind in SIGNATURES:
        if data.startswith(magic):
            return media_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def clean_name(name: str, fallback: str) -> str:
    """A file name fit to show: no folders, no control characters, at most MAX_NAME long."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base)
                   if unicodedata.category(c)[0] != "C").strip()
    return base[-MAX_NAME:] if base else fallback


def new_token() -> str:
    """A fresh token for a proposal's link: 192 random bits."""
    return secrets.token_urlsafe(24)


def proposal_of(session: Session, vote_id: int) -> Proposal | None:
    """A vote's proposal, if it has one."""
    return session.get(Proposal, vote_id)


def by_token(session: Session, token: object) -> Proposal | None:
    """The proposal a link names; None for anything that is not a well-formed, known token."""
    if not isinstance(token, str) or not TOKEN.match(token):
        return None
    return session.scalar(select(Proposal).where(Proposal.token == token))


def write(session: Session, vote: Vote, text: str, *, by: str, now: datetime) -> Proposal:
    """Set a vote's proposal text (making its link the first time); only before it is announced."""
    _editable(vote, now)
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        raise ProposalError(PROPOSAL_TOO_LONG)
    proposal = proposal_of(session, vote.id)
    if proposal is None:
        proposal = Proposal(vote_id=vote.id, token=new_token())
        session.add(proposal)
    proposal.text, proposal.updated_at, proposal.updated_by = text, now, by
    session.flush()
    return proposal


def add_document(session: Session, vote: Vote, name: str, data: bytes, *, by: str,
                 now: datetime) -> ProposalDocument:
    """Keep a PDF or image for the vote's proposal after checking its content and size."""
    _editable(vote, now)
    if not data:
        raise ProposalError(DOCUMENT_EMPTY)
    if len(data) > MAX_DOCUMENT:
        raise ProposalError(DOCUMENT_TOO_BIG)
    media_type = sniff(data)
    if media_type is None:
        raise ProposalError(DOCUMENT_BAD_TYPE)
    proposal = proposal_of(session, vote.id) or write(session, vote, "", by=by, now=now)
    taken = session.scalar(select(func.count()).select_from(ProposalDocument)
                           .where(ProposalDocument.vote_id == vote.id)) or 0
    if taken >= MAX_DOCUMENTS:
        raise ProposalError(DOCUMENT_TOO_MANY)
    last = session.scalar(select(func.max(ProposalDocument.position))
                          .where(ProposalDocument.vote_id == vote.id)) or 0
    document = ProposalDocument(
        vote_id=proposal.vote_id, position=last + 1, name=clean_name(name, f"附件{last + 1}"),
        media_type=media_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        content=data, added_at=now, added_by=by)
    session.add(document)
    session.flush()
    return document


def remove_document(session: Session, vote: Vote, position: int, *, now: datetime) -> bool:
    """Take a document off a proposal not yet announced; whether there was one."""
    _editable(vote, now)
    document = document_at(session, vote.id, position)
    if document is None:
        return False
    session.delete(document)
    session.flush()
    return True


def documents(session: Session, vote_id: int) -> list[ProposalDocument]:
    """A proposal's documents in order, without their content."""
    return list(session.scalars(select(ProposalDocument).where(ProposalDocument.vote_id == vote_id)
                                .order_by(ProposalDocument.position)))


def document_at(session: Session, vote_id: int, position: int) -> ProposalDocument | None:
    """One document of a proposal by its number."""
    return session.scalar(select(ProposalDocument).where(ProposalDocument.vote_id == vote_id,
                                                         ProposalDocument.position == position))


def _editable(vote: Vote, now: datetime) -> None:
    """Owners decide on what was announced: a proposal changes only before its vote is."""
    if vote.announced_at is not None or vote.state(now) == "closed":
        raise ProposalError(FROZEN)
