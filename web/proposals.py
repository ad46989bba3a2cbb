"""/proposal: a vote's proposal (full text and documents) for owners, opened from the vote's
announcement in chat. No sign-in: the link's random token (models/proposals.py) is the key, so
the page is never cached, never indexed and never sends a referrer; an unknown or malformed
token gets the same 404 as a missing one. Tokens travel in the query string, which every log
record of this process drops (app.py)."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from flask import Response, render_template, request, url_for

from bot.services import Services, current as _services
from models import Vote
from models.proposals import Proposal, by_token, document_at, documents
from web.pages import page_blueprint

bp = page_blueprint("proposals", __name__)

KIND_NAMES = {"consultation": "意见征集", "owners_ordinary": "业主共同决定·一般事项",
              "owners_major": "业主共同决定·重大事项"}
STATE_NAMES = {"scheduled": "未开始", "open": "进行中", "closed": "已截止"}
HOW_PLAIN = "投票 #{number} 同意（或 反对、弃权）"
HOW_CANDIDATES = "投票 #{number} 选1（或 弃权）"
NOT_FOUND = "链接无效或已失效。请从公众号里的表决通知重新打开，或向物业、业委会索取。"


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _missing() -> Response:
    return _private(Response(render_template("proposal.html", missing=NOT_FOUND), status=404))


@bp.get("/proposal")
def page() -> Response:
    """The proposal's text and its documents, for whoever holds the link."""
    services = _services()
    token = request.args.get("t")
    with services.sessions() as session:
        proposal = by_token(session, token)
        if proposal is None:
            return _missing()
        vote = session.get(Vote, proposal.vote_id)
        files = [{"n": d.position, "name": d.name, "kind": d.kind, "size": _size(d.size),
                  "href": url_for("proposals.document", t=proposal.token, n=d.position)}
                 for d in documents(session, proposal.vote_id)]
        view = _view(services, vote, proposal)
    return _private(Response(render_template("proposal.html", vote=view, files=files,
                                             estate_name=services.config.estate.name)))


@bp.get("/proposal/file")
def document() -> Response:
    """One document of the proposal, as the type its content showed when it was uploaded."""
    services = _services()
    number = request.args.get("n", "")
    with services.sessions() as session:
        proposal = by_token(session, request.args.get("t"))
        if proposal is None or not (number.isascii() and number.isdigit() and len(number) < 4):
            return _missing()
        found = document_at(session, proposal.vote_id, int(number))
        if found is None:
            return _missing()
        response = Response(found.content, mimetype=found.media_type)
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(found.name)}"
    return _private(response)


def _view(services: Services, vote: Vote, proposal: Proposal) -> dict[str, str]:
    def when(moment: datetime) -> str:
        return services.local(moment).strftime("%Y-%m-%d %H:%M")

    example = (HOW_CANDIDATES if vote.candidates else HOW_PLAIN).format(number=vote.id)
    return {"number": str(vote.id), "title": vote.title, "kind": KIND_NAMES.get(vote.kind, vote.kind),
            "state": STATE_NAMES[vote.state(services.clock())], "opens": when(vote.opens_at),
            "closes": when(vote.closed_at or vote.closes_at), "text": proposal.text,
            "updated": when(proposal.updated_at), "example": example}


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"
