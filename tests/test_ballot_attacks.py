"""Forged ballots count for nothing (issue 18, item 2).

`绑定 <home>` without the phone digits binds at once, unverified; a ballot belongs to the home;
so a stranger could bind a real owner's home, vote 反对 over their 同意, and erase themselves,
taking the owner's ballot with them. Each attack here runs through chat, and the count
(`flask vote show N --json`) afterwards equals the count without it.
"""
from __future__ import annotations

from flask import Flask

from tests.conftest import Clock
from tests.factories import WeChatPeer
from tests.test_votes import bind, create_vote, owners, show


def erase(peer: WeChatPeer, openid: str) -> None:
    assert "确认删除" in (peer.say("删除我的信息", openid=openid) or "")
    assert "已删除" in (peer.say("确认删除", openid=openid) or "")


def owners_vote(app: Flask) -> int:
    return create_vote(app, "--title", "续聘物业", "--kind", "owners_ordinary", "--item", "4")


def consultation(app: Flask) -> int:
    return create_vote(app, "--title", "花园改造", "--kind", "consultation",
                       "--options", "方案一,方案二")


def test_an_unverified_binding_never_votes_nor_replaces_the_owners_ballot(
        peer: WeChatPeer, app: Flask, clock: Clock) -> None:
    ordinary, consult = owners_vote(app), consultation(app)
    (phone, label, _), *others = owners(app)[:6]
    bind(peer, "oOwner", label, phone)
    assert "已记录" in (peer.say(f"投票 #{ordinary} 同意", openid="oOwner") or "")
    assert "已记录" in (peer.say(f"投票 #{consult} 选1", openid="oOwner") or "")
    without = (show(app, ordinary), show(app, consult))
    for how in ("", " 租户"):  # as owner without the digits, and as a tenant
        assert "等待" in (peer.say(f"绑定 {label}{how}", openid="oForger") or "")
        assert "已记录" not in (peer.say(f"投票 #{ordinary} 反对", openid="oForger") or "")
        assert "已记录" not in (peer.say(f"投票 #{consult} 选2", openid="oForger") or "")
    for _, other, _ in others:  # one openid, home after home
        clock.advance(seconds=30)  # within the rate limit
        peer.say(f"绑定 {other}", openid="oForger")
        peer.say(f"投票 #{consult} 选2", openid="oForger")
    assert (show(app, ordinary), show(app, consult)) == without
    clock.advance(minutes=1)
    erase(peer, "oForger")
    assert (show(app, ordinary), show(app, consult)) == without  # the owner's ballot stays


def test_erasure_takes_only_what_that_resident_cast(peer: WeChatPeer, app: Flask) -> None:
    consult = consultation(app)
    phone, label, _ = owners(app)[0]
    bind(peer, "oOwnerA", label, phone)
    bind(peer, "oOwnerB", label, phone)  # a co-owner of the same home: one household
    assert "已记录" in (peer.say(f"投票 #{consult} 选1", openid="oOwnerA") or "")
    only_a = show(app, consult)
    assert "改投" in (peer.say(f"投票 #{consult} 选2", openid="oOwnerB") or "")  # the last choice counts
    erase(peer, "oOwnerB")
    assert show(app, consult) == only_a  # B's choice goes; A's comes back, since A stands by it


def test_nothing_is_restored_that_should_not_be(peer: WeChatPeer, app: Flask) -> None:
    consult = consultation(app)
    phone, label, _ = owners(app)[0]
    for who in ("oOwnerA", "oOwnerB", "oOwnerC"):
        bind(peer, who, label, phone)
    peer.say(f"投票 #{consult} 选1", openid="oOwnerA")
    peer.say(f"投票 #{consult} 选2", openid="oOwnerA")  # A changed their mind: 选2 is theirs now
    a_latest = show(app, consult)
    peer.say(f"投票 #{consult} 选1", openid="oOwnerC")
    assert "等待" in (peer.say("绑定 7栋1单元302 租户", openid="oOwnerC") or "")  # C moved away
    assert show(app, consult) == a_latest  # C's choice went with C
    peer.say(f"投票 #{consult} 选1", openid="oOwnerB")
    erase(peer, "oOwnerB")
    assert show(app, consult) == a_latest  # neither A's earlier 选1 nor C's choice is restored


def test_rebinding_takes_the_residents_ballots_with_them(peer: WeChatPeer, app: Flask) -> None:
    ordinary = owners_vote(app)
    (phone, label, _), (other_phone, other_label, _) = owners(app)[:2]
    before = show(app, ordinary)
    bind(peer, "oMover", label, phone)
    assert "已记录" in (peer.say(f"投票 #{ordinary} 同意", openid="oMover") or "")
    assert show(app, ordinary) != before
    bind(peer, "oMover", other_label, other_phone)  # verified again, for another household
    assert show(app, ordinary) == before  # the first household's ballot was theirs: it went
    assert "已记录" in (peer.say(f"投票 #{ordinary} 同意", openid="oMover") or "")
    assert show(app, ordinary)["voted_heads"] == 1  # one resident, one household
