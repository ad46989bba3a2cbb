"""The demo estate: 1,059 homes in 16 buildings, the same every time it is made; and the demo
street, that estate with two smaller ones beside it."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from models import demo_history
from models.estate import Building, Estate, Home, Owner, Unit, phone_hash

HOMES = 1059
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂兰玉珍建国志红霞春梅"
AREAS = (Decimal("68.52"), Decimal("89.37"), Decimal("96.15"), Decimal("108.64"),
         Decimal("121.08"), Decimal("132.90"))


# (building, units, floors, homes a floor): 1,059 homes, and every home the
# contract and the docs use as an example (5栋2单元1203, 7-1-302, 3栋2单元501...).
SHAPES = ((1, 2, 18, 2), (2, 2, 17, 2), (3, 3, 24, 2), (4, 2, 15, 2), (5, 2, 14, 4),
          (6, 3, 13, 2), (7, 2, 12, 2), (8, 2, 11, 2), (9, 3, 11, 2), (10, 2, 14, 2),
          (11, 2, 11, 2), (12, 3, 11, 2), (13, 2, 14, 2), (14, 2, 13, 2), (15, 3, 11, 2),
          (16, 1, 9, 3))


# The demo street's two smaller estates: (name, (building, units, floors, homes a floor)...,
# latitude, longitude, the first of their owners' numbers); each has its own 3栋.
NEIGHBOURS = (("翠竹苑", ((1, 2, 6, 2), (2, 2, 6, 2), (3, 2, 7, 2), (4, 1, 6, 2)), 29.5712, 106.5620, 20000),
              ("桂香园", ((1, 1, 6, 2), (2, 2, 5, 2), (3, 1, 8, 2)), 29.5541, 106.5405, 30000))
PLACE = (29.5630, 106.5516)  # 邻里花园 on the map


def _layout(shapes: tuple[tuple[int, int, int, int], ...] = SHAPES) -> list[tuple[str, str, str]]:
    """Return (building, unit, room) for every home, rooms numbered floor + door (1203)."""
    homes = [(str(b), str(u), f"{floor}{door:02d}")
             for b, units, floors, doors in shapes
             for u in range(1, units + 1)
             for floor in range(1, floors + 1)
             for door in range(1, doors + 1)]
    assert shapes != SHAPES or len(homes) == HOMES
    return homes


def load(session: Session, name: str, community: str, street: str, *, key: bytes,
         history: bool = True) -> bool:
    """Create the demo estate unless one with that name exists; return whether it was made.

    Owners' phones are kept as the register keeps them: a keyed hash (`key`) and the last
    four digits. With `history`, also its staff, residents and half a year of tickets
    (models.demo_history).
    """
    if session.scalar(select(func.count()).select_from(Estate).where(Estate.name == name)):
        return False
    estate = _estate(session, name, community, street, SHAPES, PLACE, 0, key)
    if history:
        demo_history.load(session, estate)
    return True


def load_street(session: Session, name: str, community: str, street: str, *, key: bytes,
                history: bool = True) -> bool:
    """The demo street (`make run`): the 1,059-home estate as `load` makes it, and two smaller
    estates of the same community beside it, each with its own staff and tickets."""
    made = load(session, name, community, street, key=key, history=history)
    for n, (other, shapes, lat, lng, first) in enumerate(NEIGHBOURS, start=1):
        if session.scalar(select(func.count()).select_from(Estate).where(Estate.name == other)):
            continue
        estate = _estate(session, other, community, street, shapes, (lat, lng), first, key)
        made = True
        if history:
            count = len(_layout(shapes))
            demo_history.load(session, estate, seed=demo_history.SEED + n, tickets=count // 2,
                              residents_made=count // 3, tag=f"e{n}")
    return made


def _estate(session: Session, name: str, community: str, street: str,
            shapes: tuple[tuple[int, int, int, int], ...], place: tuple[float, float], first: int,
            key: bytes) -> Estate:
    """One estate's buildings, units, homes and owners (owner numbers from `first`)."""
    estate = Estate(name=name, community=community, street=street, latitude=place[0],
                    longitude=place[1])
    session.add(estate)
    units: dict[tuple[str, str], Unit] = {}
    for b, count, _floors, _doors in shapes:
        building = Building(estate=estate, number=str(b))
        for u in range(1, count + 1):
            units[(str(b), str(u))] = Unit(building=building, number=str(u))
    session.add_all(units.values())
    session.flush()
    homes, owner_of_home, owners = [], [], []
    for index, (b, u, room) in enumerate(_layout(shapes)):
        unsold = index % 97 == 13
        homes.append({"unit_id": units[(b, u)].id, "room": room, "unsold": unsold,
                      "area_m2": AREAS[index * 7 % len(AREAS)]})
        if not unsold and index % 50 != 49:
            owners.append(_owner(first + len(owners), key))
        # every 50th home belongs to the owner of the home before it
        owner_of_home.append(None if unsold else len(owners) - 1)
    ids = session.scalars(insert(Owner).returning(Owner.id, sort_by_parameter_order=True),
                          owners).all()
    for home, owner in zip(homes, owner_of_home):
        home["owner_id"] = ids[owner] if owner is not None else None
    session.execute(insert(Home), homes)
    return estate


def demo_phone(n: int) -> str:
    """The n-th demo owner's phone: 139 and eight digits derived from n."""
    return f"139{n * 7919 % 100000000:08d}"


def _owner(n: int, key: bytes) -> dict[str, str]:
    name = SURNAMES[n % len(SURNAMES)] + GIVEN[n * 7 % len(GIVEN)] + GIVEN[n * 13 % len(GIVEN)]
    phone = demo_phone(n)
    return {"name": name, "phone_hash": phone_hash(key, phone), "phone_tail": phone[-4:]}
