"""`flask import-households`: the register of homes, checked whole, updated in place."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from models import Home, Owner, Resident, find_home
from models.estate import phone_hash
from tests.conftest import cli
from tests.factories import WeChatPeer
from tests.test_votes import create_vote

HEADER = "building,unit,room,area_m2,owner_name,phone,unsold\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> str:
    path = tmp_path / "households.csv"
    path.write_text(header + body, encoding="utf-8")
    return str(path)


def refused(app: Flask, path: str, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["import-households", path, *args])
    assert result.exit_code != 0
    return result.output


def homes_count(app: Flask) -> int:
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(func.count()).select_from(Home))


def test_new_homes_new_buildings_and_one_owner_of_three_homes(app: Flask, tmp_path: Path) -> None:
    path = write(tmp_path, "21,1,101,88.50,周大福,13800001111,\n"
                           "21,1,102,90.25,周大福,138-0000-1111,0\n"
                           "21,2,101,100,周大福,13800001111,\n"
                           "21,2,102,77.77,,,1\n")
    assert "4 new" in cli(app, "import-households", path)
    assert homes_count(app) == 1059 + 4
    with app.extensions["linli"].sessions() as session:
        key = app.extensions["linli"].config.hash_key
        owner = session.scalars(select(Owner).where(
            Owner.phone_hash == phone_hash(key, "13800001111"))).one()
        assert sorted(h.room for h in owner.homes) == ["101", "101", "102"]
        assert find_home(session, "21", "2", "102").unsold
    number = create_vote(app, "--title", "t", "--kind", "owners_ordinary")
    data = json.loads(cli(app, "vote", "show", str(number), "--json"))
    # one owner of three homes and the developer's homes (old and new) add no more than one head each
    assert data["eligible_heads"] == len(_demo_owners(app)) + 1


def _demo_owners(app: Flask) -> set[int]:
    with app.extensions["linli"].sessions() as session:
        return {o for o in session.scalars(select(Home.owner_id).where(Home.unsold.is_(False)))}


def test_bad_rows_reject_the_whole_file_naming_row_and_column(app: Flask, tmp_path: Path) -> None:
    cases = [("21,1,101,88.5,甲,13800001111,\n21,1,102,abc,乙,13800002222,\n", "row 3, column area_m2"),
             ("21,1,101,88.5,甲,13800001111,\n21,1,101,90,乙,13800002222,\n", "row 3, column room"),
             ("21,1,101,88.5,甲,13800001111,\n21,1,102,90,乙,13800001111,\n", "row 3, column owner_name"),
             ("21,1,101,88.5,,13800001111,\n", "row 2, column owner_name"),
             ("21,1,101,88.5,甲,hello,\n", "row 2, column phone"),
             ("21,1,101,88.5,甲,13800001111,yes\n", "row 2, column unsold"),
             ("21,x,101,88.5,甲,13800001111,\n", "row 2, column unit"),
             ("21,1,101,-3,甲,13800001111,\n", "row 2, column area_m2")]
    for body, where in cases:
        assert where in refused(app, write(tmp_path, body))
    assert "missing column(s) phone" in refused(app, write(tmp_path, "1,1,101,88,甲\n",
                                                           "building,unit,room,area_m2,owner_name\n"))
    assert homes_count(app) == 1059


def test_reimport_keeps_bindings_and_replace_removes_the_rest(app: Flask, peer: WeChatPeer,
                                                              tmp_path: Path) -> None:
    phone = "13800003333"
    cli(app, "import-households", write(tmp_path, f"5,2,1203,89.37,王五,{phone},\n"))
    assert "绑定成功" in (peer.say(f"绑定 5栋2单元1203 {phone[-4:]}", openid="oKeep") or "")
    path = write(tmp_path, f"5,2,1203,99.99,新名字,{phone},\n5,2,1204,60,乙,13800002222,\n")
    cli(app, "import-households", path)
    assert homes_count(app) == 1059
    with app.extensions["linli"].sessions() as session:
        home = find_home(session, "5", "2", "1203")
        assert (home.area_m2, home.owner.name) == (Decimal("99.99"), "新名字")
        resident = session.scalars(select(Resident).where(Resident.openid == "oKeep")).one()
        assert (resident.home_id, resident.verified) == (home.id, True)
    assert "1057 removed" in cli(app, "import-households", path, "--replace")
    assert homes_count(app) == 2
    with app.extensions["linli"].sessions() as session:
        assert session.scalars(select(Resident).where(Resident.openid == "oKeep")).one().verified


def test_the_register_keeps_no_phone_number(app: Flask, peer: WeChatPeer, tmp_path: Path) -> None:
    """Issue 18, item 10: owners' phones were stored in full. Now a keyed hash and the last four."""
    from sqlalchemy import text

    from models import Base
    path = write(tmp_path, "21,1,101,88.50,周大福,13800001111,\n")
    cli(app, "import-households", path)
    with app.extensions["linli"].sessions() as session:
        stored = " ".join(str(tuple(row)) for table in Base.metadata.sorted_tables
                          for row in session.execute(text(f"SELECT * FROM {table.name}")))
        first = session.scalars(select(Owner.id).where(Owner.name == "周大福")).one()
    assert "13800001111" not in stored and "800001111" not in stored
    assert "绑定成功" in (peer.say("绑定 21栋1单元101 1111", openid="oZhou") or "")  # the last four
    cli(app, "import-households", path)  # the same phone again is the same owner, found by its hash
    with app.extensions["linli"].sessions() as session:
        assert session.scalars(select(Owner.id).where(Owner.name == "周大福")).all() == [first]
