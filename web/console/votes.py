"""/console/votes: create a vote with its proposal (text and documents), watch turnout, close it,
export its ballots. For the estate, community and street levels (the owners' committee and the
offices that oversee it), on the estates in their scope. The work is the command line's: the
same `models.votes.create`, `models.proposals`, `bot.votes` announcement and close, and
`models.export` rows; each change is in the audit log.
"""
from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from flask import Response, flash, get_flashed_messages, redirect, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import votes as vote_chat
from bot.services import current as services
from models import Ballot, Vote, proposals, workbook
from models.export import ballot_rows, write_rows
from models.votes import OWNERS_KINDS, VoteError, count, create
from web.console import area, audit, bp, forbidden, levels, operator, render, scope, target
from web.console.scope import Scope, default_estate, estates_in, home_estate
from web.console.vote_form import FormError, checked
from web.proposals import KIND_NAMES, STATE_NAMES

VOTE_LEVELS = ("estate", "community", "street")
MAX_UPLOAD = 25 * 1024 * 1024  # one form: the text and a few documents; more are added one by one
LIST = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHOICE_NAMES = {"agree": "同意", "oppose": "反对", "abstain": "弃权"}

CREATED = "表决 #{number} 已创建。{announced}"
ANNOUNCED_NOW = "已开始并通知了业主和居民群。"
ANNOUNCED_LATER = "将在开始时自动通知。"
CLOSED = "表决 #{number} 已截止，结果已发给参加投票的住户和居民群。"
ALREADY_CLOSED = "表决 #{number} 已经截止，无需再截止。"
DOCUMENT_ADDED = "附件“{name}”已加入方案。"
NO_FILE = "请选择要上传的文件。"
TOO_LARGE = f"上传的内容太大了：一次最多 {MAX_UPLOAD // (1024 * 1024)} MB。请分几次上传，或压缩文件。"


def vote_estate(session: Session, vote: Vote) -> int | None:
    """The estate a vote belongs to (a vote from before estates were many: the first)."""
    return vote.estate_id if vote.estate_id is not None else default_estate(session)


@target("vote")
def _vote_in_scope(session: Session, reach: Scope, number: int) -> bool:
    found = session.get(Vote, number)
    return found is not None and reach.at_least("estate") \
        and reach.covers_estate(vote_estate(session, found))


@bp.before_app_request
def _room_for_documents() -> None:
    """The forms that upload documents may be larger than the app's 64 KB (checked before CSRF
    reads the body, so this runs before the console's guard)."""
    if request.endpoint in ("console.vote_create", "console.vote_document"):
        request.max_content_length = MAX_UPLOAD


@bp.errorhandler(413)
def _too_large(_error: Any) -> tuple[str, int]:
    return render("console/message.html", 413, title="文件太大", message=TOO_LARGE)


@bp.get("/votes")
@levels(*VOTE_LEVELS)
def votes_page() -> tuple[str, int]:
    """The votes of the operator's estates, newest first, with how many households voted."""
    live = services()
    now = live.clock()
    with live.sessions() as db:
        mine = [v for v in db.scalars(select(Vote).order_by(Vote.id.desc()).limit(LIST))
                if scope().covers_estate(vote_estate(db, v))]
        voted = dict(db.execute(select(Ballot.vote_id, func.count()).where(
            Ballot.vote_id.in_([v.id for v in mine])).group_by(Ballot.vote_id)).all())
        rows = [{"id": v.id, "title": v.title, "kind": KIND_NAMES[v.kind],
                 "state": STATE_NAMES[v.state(now)], "closes": _when(v.closed_at or v.closes_at),
                 "voted": voted.get(v.id, 0)} for v in mine]
        estates = estates_in(db, scope())
    return render("console/votes.html", rows=rows, kinds=KIND_NAMES, form={}, estates=estates)


@bp.post("/votes")
@levels(*VOTE_LEVELS)
def vote_create() -> tuple[str, int] | Response:
    """Create a vote with its proposal; announce it now if it is open."""
    live = services()
    now = live.clock()
    try:
        fields = checked(request.form, now, services().tz)
        estate = _estate_for_new_vote()
        with live.transaction() as db:
            vote = create(db, now=now, by=_by(), estate_id=estate, **fields)
            has_proposal = _attach(db, vote, now)
            opened = vote.opens_at <= now
            if opened:
                vote_chat.announce_opening(live, db, vote, now)
            audit(db, action="表决.创建", target_name=f"表决 #{vote.id} {vote.title}", estate_id=estate,
                  outcome="announced" if opened else "scheduled",
                  changes={"title": (None, vote.title), "kind": (None, vote.kind),
                           "closes": (None, _when(vote.closes_at)),
                           "proposal": (None, "yes" if has_proposal else None)})
            number = vote.id
    except (VoteError, proposals.ProposalError, FormError) as err:
        return render("console/votes.html", 400, rows=[], kinds=KIND_NAMES, form=request.form,
                      error=str(err))
    announced = ANNOUNCED_NOW if opened else ANNOUNCED_LATER
    flash(CREATED.format(number=number, announced=announced), "ok")
    return redirect(url_for("console.vote_page", vote=number))


def _attach(db: Session, vote: Vote, now: datetime) -> bool:
    """Give the new vote the form's proposal text and documents; whether it has a proposal."""
    text = request.form.get("proposal", "")
    uploads = [f for f in request.files.getlist("documents") if f.filename]
    if not text.strip() and not uploads:
        return False
    proposals.write(db, vote, text, by=_by(), now=now)
    for upload in uploads:
        proposals.add_document(db, vote, upload.filename or "", upload.read(proposals.MAX_DOCUMENT + 1),
                               by=_by(), now=now)
    return True


def _estate_for_new_vote() -> int | None:
    """The estate a new vote is for: the one chosen on the form, else the operator's own; the
    operator must cover it whole (its register is that estate's)."""
    chosen = request.form.get("estate", "").strip()
    with services().sessions() as db:
        estate = int(chosen) if chosen.isdigit() else home_estate(db, operator())
        if estate is None:
            estate = default_estate(db)
    if not scope().covers_estate(estate):
        forbidden()
    return estate


@bp.get("/votes/<int:vote>")
@levels(*VOTE_LEVELS)
def vote_page(vote: int) -> tuple[str, int]:
    """One vote: its proposal and link, turnout and tally (live until it closes), and actions."""
    live = services()
    now = live.clock()
    with live.sessions() as db:
        found = db.get(Vote, vote)
        result = count(db, found)
        proposal = proposals.proposal_of(db, vote)
        files = proposals.documents(db, vote) if proposal else []
        view = {"id": found.id, "title": found.title, "kind": KIND_NAMES[found.kind],
                "state": found.state(now), "state_name": STATE_NAMES[found.state(now)],
                "opens": _when(found.opens_at), "closes": _when(found.closed_at or found.closes_at),
                "owners": found.kind in OWNERS_KINDS, "editable": found.announced_at is None
                and found.state(now) != "closed",
                "link": proposals.link(live.config.server.base_url, proposal.token) if proposal else None,
                "text": proposal.text if proposal else "",
                "files": [{"n": d.position, "name": d.name, "kind": d.kind, "size": d.size}
                          for d in files]}
        closed = found.state(now) == "closed"
        tally = {"area": f"{result.voted_area}/{result.eligible_area} m²（{result.area_turnout}）",
                 "heads": f"{result.voted_heads}/{result.eligible_heads}（{result.head_turnout}）",
                 "quorum": result.quorum_met, "outcome": vote_chat.outcome(result) if closed else None,
                 "options": [{"label": CHOICE_NAMES.get(o.option, o.option), "heads": o.heads,
                              "area": o.area, "head_share": o.head_share, "area_share": o.area_share,
                              "passed": o.passed if closed else None} for o in result.options]}
    return render("console/vote.html", vote=view, tally=tally,
                  notices=get_flashed_messages(with_categories=True))


@bp.post("/votes/<int:vote>/close")
@levels(*VOTE_LEVELS)
def vote_close(vote: int) -> tuple[str, int] | Response:
    """Close the vote now: the result goes to those who voted and to the residents' group."""
    live = services()
    now = live.clock()
    with live.transaction() as db:
        found = db.get(Vote, vote)
        if found.closed_at is not None:
            return render("console/message.html", 409, title="已经截止",
                          message=ALREADY_CLOSED.format(number=vote))
        result = vote_chat.close(live, db, found, now)
        audit(db, action="表决.截止", target_name=f"表决 #{vote} {found.title}",
              estate_id=vote_estate(db, found), outcome=vote_chat.outcome(result),
              changes={"closed_at": (None, _when(now))})
    flash(CLOSED.format(number=vote), "ok")
    return redirect(url_for("console.vote_page", vote=vote))


@bp.post("/votes/<int:vote>/documents")
@levels(*VOTE_LEVELS)
def vote_document(vote: int) -> tuple[str, int] | Response:
    """Add one document to the proposal of a vote not yet announced."""
    live = services()
    now = live.clock()
    upload = request.files.get("document")
    if upload is None or not upload.filename:
        return render("console/message.html", 400, title="没有文件", message=NO_FILE)
    try:
        with live.transaction() as db:
            found = db.get(Vote, vote)
            added = proposals.add_document(db, found, upload.filename,
                                           upload.read(proposals.MAX_DOCUMENT + 1), by=_by(), now=now)
            audit(db, action="表决.附件", target_name=f"表决 #{vote} {found.title}",
                  estate_id=vote_estate(db, found), outcome="added",
                  changes={f"document {added.position}": (None, f"{added.name} ({added.size} B)")})
            name = added.name
    except proposals.ProposalError as err:
        return render("console/message.html", 400, title="无法上传", message=str(err))
    flash(DOCUMENT_ADDED.format(name=name), "ok")
    return redirect(url_for("console.vote_page", vote=vote))


@bp.get("/votes/<int:vote>/ballots.csv")
@levels(*VOTE_LEVELS)
def vote_export(vote: int) -> Response:
    """The committee's copy: one row per household's ballot (each choice shows: recorded)."""
    live = services()
    buffer = io.StringIO()
    with live.transaction() as db:
        found = db.get(Vote, vote)
        rows = ballot_rows(db, found, live.tz)
        write_rows(buffer, rows)
        audit(db, action="表决.导出", target_name=f"表决 #{vote} {found.title}",
              estate_id=vote_estate(db, found), outcome=f"{len(rows) - 1} ballots", changes={})
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")  # BOM: Excel reads UTF-8
    response.headers["Content-Disposition"] = f'attachment; filename="vote-{vote}-ballots.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/votes/<int:vote>/result.xlsx")
@levels(*VOTE_LEVELS)
def vote_workbook(vote: int) -> Response:
    """The vote's result as a spreadsheet (models/workbook.py: no one's choice, exact shares)."""
    live = services()
    with live.transaction() as db:
        found = db.get(Vote, vote)
        data = workbook.save(workbook.vote_book(db, found, now=live.clock(), tz=live.tz))
        audit(db, action="表决.导出结果", target_name=f"表决 #{vote} {found.title}",
              estate_id=vote_estate(db, found), outcome="xlsx", changes={})
    response = Response(data, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="vote-{vote}-result.xlsx"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _by() -> str:
    return f"console:{operator().name}"[:100]


def _when(moment: datetime) -> str:
    return services().local(moment).strftime("%Y-%m-%d %H:%M")


area("console.votes_page", "表决")
