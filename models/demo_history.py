"""Half a year of the demo estate's life: staff, residents and 360 tickets with their history.

Made from a seeded random generator, so every load is the same. The shape follows the
field report after its reforms: most problems settled at grid level, nine in ten
residents satisfied, a few reopened, a few still open.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.estate import Building, Estate, Home, Resident, Unit
from models.staff import Coverage, Staff
from models.tickets import Follower, Ticket, TicketEvent

SEED, TICKETS, RESIDENTS = 1059, 360, 300
START = datetime(2026, 5, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DAYS = 200
REPORTS = {  # category: (share, what residents wrote)
    "elevator": (14, ["电梯坏了，一直停在{f}楼", "电梯运行时异响很大", "电梯门关不拢"]),
    "sanitation": (16, ["楼下垃圾桶满了没人收", "楼道里有股臭味", "单元门口堆了建筑垃圾"]),
    "lighting": (10, ["楼道灯不亮了", "路灯坏了晚上黑黢黢的", "{f}楼声控灯不灵"]),
    "water": (11, ["楼顶水箱漏水", "下水道堵了反水", "一楼窨井冒水"]),
    "facilities": (9, ["单元门闭门器坏了", "健身器材松动了", "外墙瓷砖掉了几块"]),
    "parking": (9, ["有人占了消防车道旁边的车位", "地库道闸抬不起来", "电动车乱停堵路"]),
    "fire_safety": (7, ["楼道里堆满杂物堵住通道", "有人飞线给电瓶车充电", "灭火器过期了"]),
    "greenery": (6, ["绿化带被挖了种菜", "树枝挡住了窗户", "草坪好久没修剪了"]),
    "noise": (6, ["楼上装修太早就开始打电钻", "广场舞音响太大声", "半夜有人在楼下喝酒划拳"]),
    "security": (4, ["单元门禁坏了谁都能进", "地库监控黑屏", "有陌生人挨家挨户敲门"]),
    "property_service": (4, ["物业费账目不公开", "物业人员态度差", "停车费涨价没通知"]),
    "neighbor_dispute": (2, ["邻居家狗半夜一直叫", "楼上漏水到我家不认账"]),
    "assistance": (2, ["独居老人需要有人看看", "腿脚不便下不了楼"]),
}
LEVELS = ("grid", "property", "estate", "community", "street")
LEVEL_WEIGHTS = (74, 17, 6, 2, 1)
LOOK_BACK = timedelta(days=7)


def load(session: Session, estate: Estate | None = None, *, seed: int = SEED, tickets: int = TICKETS,
         residents_made: int = RESIDENTS, tag: str = "") -> None:
    """Add the demo staff, residents and ticket history (of one estate; `tag` tells a second
    estate's staff and residents apart, and leaves out the community's and street's officers,
    who are the first estate's too)."""
    rng = random.Random(seed)
    staff = _staff(session, estate, tag)
    query = select(Home).order_by(Home.id)
    if estate is not None:
        query = query.join(Unit, Home.unit_id == Unit.id).join(Building).where(
            Building.estate_id == estate.id)
    homes = session.scalars(query).all()
    residents = [Resident(openid=f"oDemoResident{tag}{n:04d}", home=rng.choice(homes), role="owner",
                          verified=True, following=True, subscribed=rng.random() < 0.6,
                          created_at=START, pushes_since_inbound=0) for n in range(residents_made)]
    session.add_all(residents)
    session.flush()
    categories = list(REPORTS)
    weights = [REPORTS[c][0] for c in categories]
    for n in range(tickets):
        created = START + timedelta(days=DAYS * n / tickets, minutes=rng.randrange(0, 600))
        category = rng.choices(categories, weights)[0]
        reporter = rng.choice(residents)
        _ticket(session, rng, staff, reporter, category, created, estate)


def _staff(session: Session, estate: Estate | None, tag: str) -> dict[str, list[Staff]]:
    """One grid worker for every two buildings, two property teams, and one officer a level."""
    buildings = len(estate.buildings) if estate is not None and tag else 16
    where = {"estate_id": estate.id if estate is not None else None}
    prefix, said = (f"demo-{tag}-", f"{estate.name}") if tag and estate is not None else ("demo-", "")
    grid = [Staff(user_id=f"{prefix}grid-{n}", channel="wecom", name=f"{said}网格员{n}号", role="grid",
                  buildings=f"{2 * n - 1}-{2 * n}", **where,
                  coverage=[Coverage(building=str(b)) for b in (2 * n - 1, 2 * n)])
            for n in range(1, (buildings + 1) // 2 + 1)]
    people = {"grid": grid, "property": [
        Staff(user_id=f"{prefix}property-works", channel="wecom", name=f"{said}工程部", role="property",
              categories="elevator,water,facilities,lighting,parking,fire_safety,security", **where),
        Staff(user_id=f"{prefix}property-care", channel="wecom", name=f"{said}客服部", role="property",
              **where)],
        "estate": [Staff(user_id=f"{prefix}estate", channel="wecom", name=f"{said}业委会", role="estate",
                         **where)]}
    officers = session.scalars(select(Staff).where(Staff.role.in_(("community", "street")))
                               .order_by(Staff.id)).all() if tag else []
    for role, name in (("community", "社区"), ("street", "街道")):
        people[role] = [m for m in officers if m.role == role][:1] or [
            Staff(user_id=f"demo-{role}", channel="wecom", name=name, role=role,
                  community=estate.community if estate is not None and role == "community" else None)]
    session.add_all([member for members in people.values() for member in members])
    return people


def _ticket(session: Session, rng: random.Random, staff: dict[str, list[Staff]],
            reporter: Resident, category: str, created: datetime, estate: Estate | None) -> None:
    building = reporter.home.unit.building.number if reporter.home else None
    urgent = rng.random() < 0.05
    text = rng.choice(REPORTS[category][1]).format(f=rng.randrange(2, 18))
    respond = timedelta(minutes=rng.randrange(5, 40)) if urgent else timedelta(hours=rng.uniform(0.5, 30))
    fix = respond + (timedelta(hours=rng.uniform(1, 20)) if urgent else timedelta(hours=rng.uniform(3, 90)))
    ticket = Ticket(kind="problem", category=category, reporter_id=reporter.id, building=building,
                    place=f"{building}栋" if building else "小区", urgent=urgent, text=text,
                    state="open", level="grid", created_at=created, updated_at=created,
                    response_due_at=created + timedelta(minutes=30 if urgent else 24 * 60),
                    resolve_due_at=created + timedelta(hours=24 if urgent else 72),
                    reopen_count=0, estate_id=estate.id if estate is not None else None)
    session.add(ticket)
    session.flush()
    session.add(Follower(ticket_id=ticket.id, resident_id=reporter.id, joined_at=created, how="reported"))
    events = [(created, f"resident:{reporter.id}", "opened", None)]
    handler = rng.choice(staff["grid"])
    recent = created > START + timedelta(days=DAYS - 12)
    if rng.random() < 0.04:
        ticket.state = "rejected"
        events.append((created + respond, handler.name, "rejected", "不属于公共区域"))
    elif recent and rng.random() < 0.6:
        if rng.random() < 0.5:
            ticket.state, ticket.assignee, ticket.first_response_at = "claimed", handler, created + respond
            events.append((created + respond, handler.name, "claimed", None))
    else:
        _handled(rng, staff, ticket, handler, created, respond, fix, events)
    session.add_all(TicketEvent(ticket_id=ticket.id, at=at, actor=actor, action=action, note=note)
                    for at, actor, action, note in events)
    ticket.updated_at = events[-1][0]


def _handled(rng: random.Random, staff: dict[str, list[Staff]], ticket: Ticket, handler: Staff,
             created: datetime, respond: timedelta, fix: timedelta, events: list) -> None:  # type: ignore[type-arg]
    """Claim, climb as far as the draw says, resolve, and let the resident rate it."""
    ticket.assignee, ticket.first_response_at = handler, created + respond
    events.append((created + respond, handler.name, "claimed", None))
    level = rng.choices(LEVELS, LEVEL_WEIGHTS)[0]
    for step, name in enumerate(LEVELS[1:LEVELS.index(level) + 1], 1):
        events.append((created + respond + (fix - respond) * step / 6, "system",
                       f"escalated:{name}", "超时未办结"))
    ticket.level, ticket.state, ticket.resolved_at = level, "resolved", created + fix
    events.append((created + fix, staff[level][0].name, "resolved", None))
    if rng.random() < 0.05:
        ticket.reopen_count = 1
        events.append((created + fix + timedelta(days=1), "resident", "reopened", "没修好"))
        events.append((created + fix + timedelta(days=2), handler.name, "resolved", "返工"))
        ticket.resolved_at = created + fix + timedelta(days=2)
    if rng.random() < 0.8:
        ticket.rating = rng.choices((5, 4, 3, 2, 1), (62, 20, 9, 6, 3))[0]
        ticket.state = "closed"
        events.append((ticket.resolved_at + timedelta(hours=rng.uniform(1, 30)), "resident",
                       "closed", f"rating {ticket.rating}"))
    looked = ticket.resolved_at + LOOK_BACK
    if looked < START + timedelta(days=DAYS):  # the 回头看 of older fixes is behind us
        ticket.looked_back_at = looked
        events.append((looked, "system", "look_back", None))
