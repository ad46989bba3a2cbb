"""The register of homes: importing it from CSV (guessing a home's phone digits: models/binding.py)."""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.estate import Building, Estate, Home, Owner, Resident, Unit, phone_hash
from models.votes import withdraw

COLUMNS = ("building", "unit", "room", "area_m2", "owner_name", "phone")
NUMBER = re.compile(r"^[0-9]{1,16}$")
PHONE = re.compile(r"^\+?[0-9]{7,15}$")
AREA = re.compile(r"^[0-9]{1,8}(\.[0-9]{1,2})?$")


class RegisterError(ValueError):
    """A register file that cannot be imported; the message names the row and column.

    `line`, `column` and `reason` (a key of REASONS) say the same for a page to put in words.
    """

    def __init__(self, message: str, *, line: int = 1, column: str = "", value: str = "",
                 reason: str = "file") -> None:
        super().__init__(message)
        self.line, self.column, self.value, self.reason = line, column, value, reason


# reason -> what is wrong, in the operator's words (the console shows these)
REASONS = {
    "header": "缺少列：{value}；表头应为 building,unit,room,area_m2,owner_name,phone[,unsold]",
    "number": "“{value}”不是数字（应写 5、2、1203 这样的数字）",
    "area": "“{value}”不是面积（平方米，最多两位小数，如 89.37）",
    "unsold": "“{value}”应为 1（未售）或 0／留空",
    "phone": "“{value}”不是手机号",
    "empty": "不能为空",
    "pair": "业主姓名和手机号要一起填写",
    "duplicate": "“{value}”这户已在第 {other} 行出现",
    "owner": "手机号 {value} 已属于第 {other} 行的另一位业主；一个手机号只对应一位业主",
    "empty_file": "文件里没有任何住户",
    "file": "{value}",
}


@dataclass(frozen=True)
class Row:
    """One checked line of the register."""

    line: int
    building: str
    unit: str
    room: str
    area: Decimal
    owner_name: str
    phone: str
    unsold: bool


@dataclass(frozen=True)
class Imported:
    """What an import did."""

    created: int
    updated: int
    removed: int
    owners: int


def read(text: str) -> list[Row]:
    """Check a whole register file; raise RegisterError on the first bad row."""
    rows, errors = check(text)
    if errors:
        raise errors[0]
    return rows


def check(text: str) -> tuple[list[Row], list[RegisterError]]:
    """Check a whole register file: its good rows, and every bad row's error, in file order."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(name or "").strip() for name in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [RegisterError(f"row 1 (header): missing column(s) {', '.join(missing)}; "
                                  f"expected {','.join(COLUMNS)}[,unsold]", column="header",
                                  value=",".join(missing), reason="header")]
    reader.fieldnames = header
    rows: list[Row] = []
    errors: list[RegisterError] = []
    seen: dict[tuple[str, str, str], int] = {}
    names: dict[str, tuple[str, int]] = {}
    for line, raw in enumerate(reader, start=2):
        try:
            row = _row(line, {k: unicodedata.normalize("NFKC", v or "").strip()
                              for k, v in raw.items() if k is not None})
            _unique(row, seen, names)
        except RegisterError as err:
            errors.append(err)
            continue
        rows.append(row)
    if not rows and not errors:
        errors.append(RegisterError("the file has no homes", reason="empty_file"))
    return rows, errors


def _unique(row: Row, seen: dict[tuple[str, str, str], int], names: dict[str, tuple[str, int]]) -> None:
    """Raise when the row's home is listed twice, or its phone belongs to another name."""
    place, line = (row.building, row.unit, row.room), row.line
    if place in seen:
        raise RegisterError(f"row {line}, column room: {'-'.join(place)} "
                            f"is already on row {seen[place]}", line=line, column="room",
                            value="-".join(place), reason=f"duplicate:{seen[place]}")
    seen[place] = line
    if row.phone and names.setdefault(row.phone, (row.owner_name, line))[0] != row.owner_name:
        first = names[row.phone]
        raise RegisterError(f"row {line}, column owner_name: phone {row.phone} belongs to "
                            f"{first[0]} on row {first[1]}; one phone is one owner", line=line,
                            column="owner_name", value=row.phone, reason=f"owner:{first[1]}")


def _row(line: int, cell: dict[str, str]) -> Row:
    def bad(column: str, why: str, reason: str) -> RegisterError:
        return RegisterError(f"row {line}, column {column}: {cell.get(column, '')!r} {why}",
                             line=line, column=column, value=cell.get(column, ""), reason=reason)

    for column in ("building", "unit", "room"):
        if not NUMBER.match(cell[column]):
            raise bad(column, "is not a number (write 5, 2, 1203)", "number")
    if not AREA.match(cell["area_m2"]) or Decimal(cell["area_m2"]) <= 0:
        raise bad("area_m2", "is not an area in m² with at most two decimals (e.g. 89.37)", "area")
    unsold = cell.get("unsold", "")
    if unsold not in ("", "0", "1"):
        raise bad("unsold", "must be 1 (unsold) or 0 / empty", "unsold")
    phone = re.sub(r"[\s-]", "", cell["phone"])
    if phone and not PHONE.match(phone):
        raise bad("phone", "is not a phone number", "phone")
    if unsold != "1":  # a sold home has an owner; the developer's may be left blank
        if not cell["owner_name"]:
            raise bad("owner_name", "is empty", "empty")
        if not phone:
            raise bad("phone", "is empty", "empty")
    if bool(cell["owner_name"]) != bool(phone):
        raise bad("phone" if cell["owner_name"] else "owner_name", "is needed with the other", "pair")
    try:
        area = Decimal(cell["area_m2"])
    except InvalidOperation:  # pragma: no cover - AREA has ruled it out
        raise bad("area_m2", "is not a number", "area") from None
    return Row(line, cell["building"], cell["unit"], cell["room"], area, cell["owner_name"],
               phone, unsold == "1")


def apply(session: Session, estate: Estate, rows: list[Row], *, replace: bool, now: datetime,
          key: bytes) -> Imported:
    """Write checked rows into the estate; homes keep their ids, so bindings stay.

    Owners are found by the keyed hash of their phone (`key`); the phone is not stored.
    """
    owners = _owners(session, rows, key)
    units = {(u.building.number, u.number): u for u in session.scalars(
        select(Unit).join(Building).where(Building.estate_id == estate.id))}
    homes = {(h.unit.building.number, h.unit.number, h.room): h for h in session.scalars(
        select(Home).join(Unit).join(Building).where(Building.estate_id == estate.id))}
    created = updated = 0
    for row in rows:
        home = homes.pop((row.building, row.unit, row.room), None)
        if home is None:
            home = Home(unit=_unit(session, estate, units, row.building, row.unit), room=row.room)
            session.add(home)
            created += 1
        else:
            updated += 1
        home.area_m2, home.unsold = row.area, row.unsold
        home.owner = owners[row.phone] if row.phone else None
    removed = len(homes) if replace else 0
    if replace:
        _remove(session, list(homes.values()), now)
    session.flush()
    return Imported(created, updated, removed, len(owners))


def _owners(session: Session, rows: list[Row], key: bytes) -> dict[str, Owner]:
    """Find or make each owner by the hash of their phone, with the name the file gives;
    return phone -> owner for this import only."""
    hashes = {row.phone: phone_hash(key, row.phone) for row in rows if row.phone}
    stored = {o.phone_hash: o for o in session.scalars(
        select(Owner).where(Owner.phone_hash.in_(set(hashes.values()))))}
    known: dict[str, Owner] = {}
    for row in rows:
        if not row.phone:
            continue
        owner = known.get(row.phone) or stored.get(hashes[row.phone])
        if owner is None:
            owner = Owner(phone_hash=hashes[row.phone], phone_tail=row.phone[-4:], name=row.owner_name)
            session.add(owner)
        known[row.phone] = owner
        owner.name = row.owner_name
    return known


def _unit(session: Session, estate: Estate, units: dict[tuple[str, str], Unit], building: str,
          unit: str) -> Unit:
    """The unit, made (with its building) when the estate does not have it yet."""
    if (building, unit) not in units:
        found = session.scalar(select(Building).where(Building.estate_id == estate.id,
                                                      Building.number == building))
        if found is None:
            found = Building(estate=estate, number=building)
            session.add(found)
        units[(building, unit)] = Unit(building=found, number=unit)
        session.add(units[(building, unit)])
    return units[(building, unit)]


def _remove(session: Session, homes: list[Home], now: datetime) -> None:
    """Drop homes no longer registered; whoever was bound to them is unbound."""
    for home in homes:
        for resident in session.scalars(select(Resident).where(Resident.home_id == home.id)):
            withdraw(session, resident.id, now)
            resident.home_id, resident.role, resident.verified = None, None, False
        session.delete(home)
