"""A vote carries its proposal (issue 15): the full text and the documents owners need, opened
from the vote's announcement in chat at an unguessable link, with no sign-in."""
from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

import settings
from bot import votes as vote_chat
from models import OutboxMessage, Vote, proposals, transaction
from models.proposals import ProposalDocument, ProposalError
from tests.conftest import EXAMPLE, Clock, cli, make_app
from tests.fakes import FakeWeChat
from tests.factories import WeChatPeer
from tests.test_votes import bind, create_vote, owners


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about a vote's proposal pages, the same on either database."""
    return sqlite_database

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")
LINK = re.compile(r"http://127\.0\.0\.1:5000/proposal\?t=([A-Za-z0-9_-]+)")
TEXT = "一、维修范围：3栋、5栋外墙渗水。\n二、预算：186,400.00 元，从专项维修资金列支。\n三、报价三家，见附件。"


def png() -> bytes:
    """A real 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))


def files(tmp_path: Path, **named: bytes) -> dict[str, str]:
    for name, data in named.items():
        (tmp_path / name).write_bytes(data)
    return {name: str(tmp_path / name) for name in named}


def proposal_vote(app: Flask, tmp_path: Path, *extra: str) -> int:
    """An owners' vote with a proposal text, a PDF budget and a PNG quote, open now."""
    (tmp_path / "proposal.txt").write_text(TEXT, encoding="utf-8")
    paths = files(tmp_path, **{"预算.pdf": PDF, "报价单.png": png()})
    return create_vote(app, "--title", "外墙维修", "--kind", "owners_ordinary", "--item", "5",
                       "--proposal", str(tmp_path / "proposal.txt"), "--document", paths["预算.pdf"],
                       "--document", paths["报价单.png"], *extra)


def notices(app: Flask, number: int, stage: str = "open") -> list[OutboxMessage]:
    with app.extensions["linli"].sessions() as session:
        return list(session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"vote:{number}:{stage}:%")).order_by(OutboxMessage.id)))


def token_of(app: Flask, number: int) -> str:
    [found] = {LINK.search(m.body).group(1) for m in notices(app, number)}  # type: ignore[union-attr]
    return found


def test_the_announcement_links_the_proposal_which_opens_without_signing_in(
        peer: WeChatPeer, app: Flask, server: str, tmp_path: Path) -> None:
    phone, label, _ = owners(app)[0]
    bind(peer, "oOwnerReads", label, phone)
    number = proposal_vote(app, tmp_path)
    sent = notices(app, number)
    assert sorted(m.recipient for m in sent) == ["oOwnerReads", "residents"]
    for message in sent:  # the owner and the residents' group are told where and that no sign-in is needed
        assert LINK.search(message.body) and "无需登录" in message.body
    token = token_of(app, number)
    assert len(token) >= 22 and str(number) != token  # 128 bits or more, never the number
    assert len(token) == 32  # token_urlsafe(24): 192 bits

    page = requests.get(f"{server}/proposal", params={"t": token}, timeout=10)  # no cookie, no header
    assert page.status_code == 200
    for shown in ("外墙维修", "186,400.00 元", "预算.pdf", "报价单.png", f"投票 #{number} 同意"):
        assert shown in page.text
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in page.headers["X-Robots-Tag"]
    hrefs = re.findall(r'href="(/proposal/file\?[^"]+)"', page.text)
    assert len(hrefs) == 2
    budget = requests.get(server + hrefs[0].replace("&amp;", "&"), timeout=10)
    assert (budget.status_code, budget.headers["Content-Type"], budget.content) == (200, "application/pdf", PDF)
    assert "inline" in budget.headers["Content-Disposition"]
    quote = requests.get(server + hrefs[1].replace("&amp;", "&"), timeout=10)
    assert (quote.headers["Content-Type"], quote.content) == ("image/png", png())
    assert quote.headers["X-Content-Type-Options"] == "nosniff"
    assert LINK.search(cli(app, "vote", "create", "--title", "另一项", "--kind", "consultation",
                           "--closes", "2026-12-05T18:00",
                           "--proposal", str(tmp_path / "proposal.txt")))  # the CLI prints the link


def test_the_reminder_carries_the_link_and_a_vote_without_a_proposal_has_none(
        peer: WeChatPeer, app: Flask, clock: Clock, tmp_path: Path) -> None:
    phone, label, _ = owners(app)[1]
    bind(peer, "oLate", label, phone)
    with_proposal = proposal_vote(app, tmp_path)
    plain = create_vote(app, "--title", "续聘物业", "--kind", "owners_ordinary", "--item", "4")
    assert all("proposal?t=" not in m.body and "无需登录" not in m.body for m in notices(app, plain))
    clock.advance(days=6, hours=9)  # within the last day of both
    vote_chat.vote_close(app.extensions["linli"])
    [reminder] = notices(app, with_proposal, "remind")
    assert LINK.search(reminder.body).group(1) == token_of(app, with_proposal)  # type: ignore[union-attr]
    assert all("proposal?t=" not in m.body for m in notices(app, plain, "remind"))


@pytest.mark.parametrize("params", [
    {"t": "1"}, {"t": ""}, {}, {"t": "A" * 32}, {"t": "../../etc/passwd"}, {"t": "x" * 5000},
])
def test_only_the_right_token_opens_it(app: Flask, server: str, tmp_path: Path,
                                       params: dict[str, str]) -> None:
    proposal_vote(app, tmp_path)
    page = requests.get(f"{server}/proposal", params=params, timeout=10)
    assert page.status_code == 404 and "链接无效" in page.text and "外墙维修" not in page.text
    document = requests.get(f"{server}/proposal/file", params={**params, "n": "1"}, timeout=10)
    assert document.status_code == 404 and PDF not in document.content


def test_a_token_opens_its_own_votes_documents_only(app: Flask, server: str, tmp_path: Path) -> None:
    first = proposal_vote(app, tmp_path)
    (tmp_path / "second.txt").write_text("只有文字", encoding="utf-8")
    second = create_vote(app, "--title", "第二项", "--kind", "consultation",
                         "--proposal", str(tmp_path / "second.txt"))
    other = token_of(app, second)
    assert other != token_of(app, first)
    for n in ("1", "2", "0", "-1", "99", "1e0", "١"):
        response = requests.get(f"{server}/proposal/file", params={"t": other, "n": n}, timeout=10)
        assert response.status_code == 404, n
    assert requests.get(f"{server}/proposal", params={"t": other}, timeout=10).text.count("附件") >= 1


def test_markup_in_a_proposal_is_text(app: Flask, server: str, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text('<script>alert(1)</script><img src=x onerror="x()">', encoding="utf-8")
    number = create_vote(app, "--title", "<b>标题</b>", "--kind", "consultation", "--proposal",
                         str(tmp_path / "p.txt"))
    page = requests.get(f"{server}/proposal", params={"t": token_of(app, number)}, timeout=10)
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<b>标题</b>" not in page.text and "<img src=x" not in page.text


def vote_count(app: Flask) -> int:
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(func.count()).select_from(Vote)) or 0


@pytest.mark.parametrize("name, data, refusal", [
    ("合同.pdf", "这其实是一段文字，不是 PDF".encode(), proposals.DOCUMENT_BAD_TYPE),
    ("报价.png", b"<html><script>alert(1)</script></html>", proposals.DOCUMENT_BAD_TYPE),
    ("预算.pdf", b"", proposals.DOCUMENT_EMPTY),
    ("大.pdf", b"%PDF-1.4\n" + b"0" * proposals.MAX_DOCUMENT, proposals.DOCUMENT_TOO_BIG),
])
def test_a_document_is_checked_by_its_content_and_size(app: Flask, tmp_path: Path, name: str,
                                                        data: bytes, refusal: str) -> None:
    path = files(tmp_path, **{name: data})[name]
    before = vote_count(app)
    result = app.test_cli_runner().invoke(args=["vote", "create", "--title", "外墙维修", "--kind",
                                                "consultation", "--closes", "2026-12-05T18:00",
                                                "--document", path])
    assert result.exit_code != 0 and refusal in result.output
    assert vote_count(app) == before  # the whole vote is refused, nothing announced
    with app.extensions["linli"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_webp_and_jpeg_are_taken_and_ten_documents_at_most(app: Flask, clock: Clock) -> None:
    services = app.extensions["linli"]
    with transaction(services.sessions) as session:
        vote = Vote(title="t", kind="consultation", opens_at=clock.now, closes_at=clock.now.replace(year=2027),
                    created_at=clock.now, created_by="test")
        session.add(vote)
        session.flush()
        kinds = [proposals.add_document(session, vote, f"{n}.bin", data, by="t", now=clock.now).media_type
                 for n, data in enumerate((b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"\xff\xd8\xff\xe0jpeg", PDF))]
        assert kinds == ["image/webp", "image/jpeg", "application/pdf"]
        for n in range(proposals.MAX_DOCUMENTS - 3):
            proposals.add_document(session, vote, f"more{n}.pdf", PDF, by="t", now=clock.now)
        with pytest.raises(ProposalError, match="最多"):
            proposals.add_document(session, vote, "one-too-many.pdf", PDF, by="t", now=clock.now)
        names = [d.name for d in proposals.documents(session, vote.id)]
        assert names[:3] == ["0.bin", "1.bin", "2.bin"] and len(names) == proposals.MAX_DOCUMENTS


def test_a_proposal_is_frozen_once_announced(app: Flask, clock: Clock, tmp_path: Path) -> None:
    """Owners vote on what was announced: neither the text nor the documents change after."""
    number = proposal_vote(app, tmp_path)
    services = app.extensions["linli"]
    with transaction(services.sessions) as session:
        vote = session.get(Vote, number)
        with pytest.raises(ProposalError, match="不能再改"):
            proposals.write(session, vote, "换了内容", by="t", now=clock.now)
        with pytest.raises(ProposalError, match="不能再改"):
            proposals.add_document(session, vote, "x.pdf", PDF, by="t", now=clock.now)
        with pytest.raises(ProposalError, match="不能再改"):
            proposals.remove_document(session, vote, 1, now=clock.now)
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProposalDocument)) == 2


@pytest.mark.parametrize("given, shown", [("../../etc/passwd", "passwd"), ("C:\\fakepath\\预算.pdf", "预算.pdf"),
                                          ("a\x00b\u202e.pdf", "ab.pdf"), ("", "附件1")])
def test_document_names_are_cleaned(given: str, shown: str) -> None:
    assert proposals.clean_name(given, "附件1") == shown


def test_links_start_with_the_public_url(database: tuple[str, str | None], fake_wechat: FakeWeChat,
                                         clock: Clock, tmp_path: Path) -> None:
    app = make_app(database, fake_wechat, clock, settings={"server.public_url": "https://linli.example.cn/"})
    try:
        (tmp_path / "p.txt").write_text("方案", encoding="utf-8")
        printed = cli(app, "vote", "create", "--title", "t", "--kind", "consultation", "--closes",
                      "2026-12-05T18:00", "--proposal", str(tmp_path / "p.txt"))
        assert re.search(r"https://linli\.example\.cn/proposal\?t=[A-Za-z0-9_-]{32}\n", printed)
        with app.extensions["linli"].sessions() as session:
            group = session.scalar(select(OutboxMessage.body).where(OutboxMessage.recipient == "residents"))
        assert "https://linli.example.cn/proposal?t=" in group
    finally:
        app.extensions["linli"].close()


@pytest.mark.parametrize("url", ["ftp://linli.example.cn/", "https://linli.example.cn", "linli.example.cn/"])
def test_a_bad_public_url_stops_startup(url: str) -> None:
    with pytest.raises(settings.ConfigError, match=r"\[server\] public_url must be an http\(s\) URL ending in /"):
        settings.load(EXAMPLE, {"server.public_url": url})
