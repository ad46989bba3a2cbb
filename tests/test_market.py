"""Market day: the next date across month ends, overrides and time zones; the questions; reminders."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from flask import Flask
from sqlalchemy import select

from models import MarketOverride, transaction
from models.market import SHANGHAI, next_occurrence
from settings import Market
from tests.conftest import Clock
from tests.factories import WeChatPeer, event_xml
from tests.fakes import FakeWeChat

CONF = Market.from_table({"day_of_month": 15, "hours": "09:00-12:00", "place": "中心广场",
                          "services": ["家电维修", "法律咨询"],
                          "remind_evening_before": "19:00", "remind_morning_of": "08:00"})


def at(text: str) -> datetime:
    """A moment written in Shanghai time."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def next_day(now: datetime, overrides: dict | None = None, conf=CONF) -> date | None:  # type: ignore[no-untyped-def]
    held = next_occurrence(conf, overrides or {}, now)
    return held.day if held else None


@pytest.mark.parametrize("now, expected", [
    ("2026-11-28 10:00", date(2026, 12, 15)),
    ("2026-12-15 11:59", date(2026, 12, 15)),   # still on
    ("2026-12-15 12:00", date(2027, 1, 15)),    # over
    ("2026-12-31 23:59", date(2027, 1, 15)),    # across the year end
])
def test_next_market_by_the_rule(now: str, expected: date) -> None:
    assert next_day(at(now)) == expected


def test_day_31_falls_on_the_last_day_of_short_months() -> None:
    conf = Market.from_table({"day_of_month": 31})
    assert next_day(at("2027-02-01 00:00"), conf=conf) == date(2027, 2, 28)
    assert next_day(at("2028-02-01 00:00"), conf=conf) == date(2028, 2, 29)  # leap year
    assert next_day(at("2027-04-01 00:00"), conf=conf) == date(2027, 4, 30)
    assert next_day(at("2027-03-01 00:00"), conf=conf) == date(2027, 3, 31)


def test_overrides_move_and_cancel_months() -> None:
    now = at("2026-11-28 10:00")
    assert next_day(now, {"2026-12": None}) == date(2027, 1, 15)
    assert next_day(now, {"2026-12": None, "2027-01": None}) == date(2027, 2, 15)
    assert next_day(now, {"2026-12": date(2026, 12, 20)}) == date(2026, 12, 20)
    assert next_day(now, {"2026-12": date(2026, 11, 30)}) == date(2026, 11, 30)  # moved earlier
    # November's market moved past the month end is still to come on 1 December
    assert next_day(at("2026-11-28 10:00"), {"2026-11": date(2026, 12, 1)}) == date(2026, 12, 1)


def test_time_zones_shanghai_midnight_is_utc_afternoon() -> None:
    # 2026-12-15 12:00 in Shanghai is 04:00 UTC: the market has just ended
    assert next_day(datetime(2026, 12, 15, 3, 59, tzinfo=timezone.utc)) == date(2026, 12, 15)
    assert next_day(datetime(2026, 12, 15, 4, 0, tzinfo=timezone.utc)) == date(2027, 1, 15)
    # just before midnight UTC on the 14th is already the morning of the 15th in Shanghai
    held = next_occurrence(CONF, {}, datetime(2026, 12, 14, 23, 59, tzinfo=timezone.utc))
    assert held is not None and held.day == date(2026, 12, 15)
    assert held.evening_reminder == at("2026-12-14 19:00")
    assert held.morning_reminder == at("2026-12-15 08:00")
    assert held.evening_reminder.astimezone(timezone.utc) == datetime(2026, 12, 14, 11, 0,
                                                                      tzinfo=timezone.utc)
    # a market on the 1st: its evening reminder falls in the month before
    moved = next_occurrence(CONF, {"2027-01": date(2027, 1, 1)}, at("2026-12-16 00:00"))
    assert moved is not None and moved.evening_reminder == at("2026-12-31 19:00")


def test_everything_cancelled_means_no_market() -> None:
    cancelled = {f"{y}-{m:02d}": None for y in (2026, 2027, 2028) for m in range(1, 13)}
    assert next_day(at("2026-11-28 10:00"), cancelled) is None


# ---- asking the bot -----------------------------------------------------------------------

def test_asking_when_where_and_what(peer: WeChatPeer) -> None:
    reply = peer.say("这个月市集几号")
    assert reply is not None
    for fragment in ("12月15日", "周二", "09:00-12:00", "小区中心广场", "家电维修", "法律咨询", "订阅"):
        assert fragment in reply, reply


@pytest.mark.parametrize("text, fragments", [
    ("15号有法律咨询吗", ["有的", "法律咨询", "12月15日"]),
    ("修空调的市集上有没有", ["有的", "家电维修"]),
    ("市集上有理发吗", ["没有理发", "家电维修"]),
])
def test_asking_about_a_service(peer: WeChatPeer, text: str, fragments: list[str]) -> None:
    reply = peer.say(text)
    assert reply is not None
    for fragment in fragments:
        assert fragment in reply, reply


def test_a_moved_or_cancelled_month_is_answered(peer: WeChatPeer, app: Flask) -> None:
    with transaction(app.extensions["linli"].sessions) as session:
        session.add(MarketOverride(month="2026-12", moved_to=None, cancelled=True))
    assert "1月15日" in (peer.say("下次市集什么时候") or "")
    with transaction(app.extensions["linli"].sessions) as session:
        row = session.get(MarketOverride, "2026-12")
        row.cancelled, row.moved_to = False, date(2026, 12, 20)
    assert "12月20日" in (peer.say("下次市集什么时候") or "")


def test_welcome_offers_subscribing(peer: WeChatPeer) -> None:
    reply = peer.post(event_xml("subscribe")).content
    assert reply is not None and "订阅" in reply


# ---- reminders ----------------------------------------------------------------------------

def residents(app: Flask, clock: Clock, **kinds: int) -> None:
    """Residents by kind: subscribed, unsubscribed, unfollowed (subscribed but gone)."""
    from models import Resident
    s = app.extensions["linli"]
    with transaction(s.sessions) as session:
        for kind, count in kinds.items():
            for n in range(count):
                session.add(Resident(openid=f"o{kind}{n:04d}", created_at=clock(),
                                     subscribed=kind != "unsubscribed", following=kind != "unfollowed",
                                     last_inbound_at=clock() - timedelta(hours=1),
                                     pushes_since_inbound=0))


def run_job(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["jobs", "run", "market_reminder"])
    assert result.exit_code == 0, result.output
    return result.output


def test_reminder_goes_once_to_each_subscriber_and_group(app: Flask, fake_wechat: FakeWeChat,
                                                         clock: Clock) -> None:
    clock.now = at("2026-12-14 19:05").astimezone(timezone.utc)
    residents(app, clock, subscribed=3, unsubscribed=2, unfollowed=1)
    assert "evening reminder: 9 queued, 9 sent" in run_job(app)  # 3 residents, 6 groups
    assert "0 queued" in run_job(app)  # however often it is run
    sent = fake_wechat.sent()
    assert sorted(b["touser"] for b in sent) == [f"osubscribed{n:04d}" for n in range(3)]
    assert all("明天" in b["text"]["content"] and "12月15日" in b["text"]["content"] for b in sent)
    assert len(fake_wechat.sent("webhook/send")) == 6
    clock.now = at("2026-12-15 08:01").astimezone(timezone.utc)
    assert "morning reminder: 9 queued" in run_job(app)
    assert "今天" in fake_wechat.sent()[-1]["text"]["content"]


def test_reminder_goes_to_configured_groups_only(database, fake_wechat: FakeWeChat,
                                                 clock: Clock) -> None:
    from tests.conftest import make_app
    app = make_app(database, fake_wechat, clock, settings={"market.groups": ["residents"]})
    try:
        clock.now = at("2026-12-14 19:05").astimezone(timezone.utc)
        assert "1 queued" in run_job(app)
        assert [c.params.get("key") for c in fake_wechat.calls if c.path.endswith("webhook/send")] \
            == ["residents"]
    finally:
        app.extensions["linli"].close()


def test_by_hand_ahead_of_time_it_sends_an_advance_notice(app: Flask, fake_wechat: FakeWeChat,
                                                          clock: Clock) -> None:
    clock.now = at("2026-11-28 10:07").astimezone(timezone.utc)
    residents(app, clock, subscribed=1)
    assert "2026-12-15 advance reminder: 7 queued" in run_job(app)
    assert "市集预告" in fake_wechat.sent()[0]["text"]["content"]
    clock.now = at("2026-11-28 10:30").astimezone(timezone.utc)  # by hand, even on the half hour
    assert "advance reminder: 0 queued" in run_job(app)  # once per recipient
    from scheduler import jobs, runner
    spec = jobs.by_name("market_reminder")  # the trigger's own run sends nothing this early
    assert "no reminder due" in runner.run(spec, app.extensions["linli"], scheduled=True)
    clock.now = at("2026-12-14 19:00").astimezone(timezone.utc)
    assert "evening reminder" in runner.run(spec, app.extensions["linli"], scheduled=True)


def test_blocked_subscriber_fails_with_its_errcode_and_is_skipped_after(app: Flask, fake_wechat: FakeWeChat,
                                                   clock: Clock) -> None:
    from models import OutboxMessage, Resident
    clock.now = at("2026-12-14 19:05").astimezone(timezone.utc)
    residents(app, clock, subscribed=1)
    fake_wechat.errcode = 43004
    run_job(app)
    with app.extensions["linli"].sessions() as session:
        message = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "wechat")).one()
    assert (message.status, message.last_error) == ("failed", "errcode 43004")
    with app.extensions["linli"].sessions() as session:
        assert not session.scalars(select(Resident.following)).one()  # recorded as gone
    fake_wechat.errcode = 0
    clock.now = at("2026-12-15 08:00").astimezone(timezone.utc)
    output = run_job(app)
    assert "6 queued" in output and "1 resident(s) skipped" in output  # groups only


def test_done_when_the_demo_estate_is_reminded_once(app: Flask, fake_wechat: FakeWeChat,
                                                    clock: Clock) -> None:
    from models import Resident, demo_history
    with transaction(app.extensions["linli"].sessions) as session:
        demo_history.load(session)  # the demo's 300 residents, some subscribed
    with app.extensions["linli"].sessions() as session:
        subscribed = set(session.scalars(select(Resident.openid).where(
            Resident.subscribed.is_(True), Resident.following.is_(True))))
    assert len(subscribed) > 100
    clock.now = at("2026-12-14 19:00").astimezone(timezone.utc)
    first = run_job(app)
    assert "0 queued" in run_job(app)  # a second run sends nothing
    reached = Counter(b["touser"] for end in ("message/custom/send", "message/template/send")
                      for b in fake_wechat.delivered(end))
    assert set(reached) == subscribed and set(reached.values()) == {1}
    groups = Counter(c.params.get("key") for c in fake_wechat.calls if c.path.endswith("webhook/send"))
    assert set(groups.values()) == {1} and len(groups) == 6
    assert f"{len(subscribed) + 6} queued, {len(subscribed) + 6} sent" in first
