"""The scrubber that hides phones, rooms and e-mails in words published on the board."""
from __future__ import annotations

import pytest

from models.board import SCRUB_MASKS
from models.board import scrub

MASKS = SCRUB_MASKS
PHONE, ROOM, EMAIL, NAME = MASKS["phone"], MASKS["room"], MASKS["email"], MASKS["name"]


def clean(text: str) -> str:
    return scrub(text, MASKS)


@pytest.mark.parametrize(("text", "expected"), [
    # phones, however written
    ("电话13912345678", f"电话{PHONE}"),
    ("打139-1234-5678找我", f"打{PHONE}找我"),
    ("手机 139 1234 5678", f"手机 {PHONE}"),
    ("+86 13912345678", f"{PHONE}"),
    ("座机023-68881234", f"座机{PHONE}"),
    ("１３９１２３４５６７８", PHONE),  # full-width digits
    # rooms and units: the building stays, anything finer goes
    ("3栋2单元501漏水", f"3栋{ROOM}{ROOM}漏水"),
    ("5栋2单元1203室", f"5栋{ROOM}{ROOM}室"),
    ("我住7-1-302", f"我住{ROOM}"),
    ("三栋二单元五零一", f"三栋{ROOM}{ROOM}"),
    ("1203的业主", f"{ROOM}的业主"),
    ("12 03 房", f"{ROOM} 房"),
    # e-mail
    ("发到 wang.li@example.com 谢谢", f"发到 {EMAIL} 谢谢"),
    # nothing personal: unchanged
    ("3栋电梯坏了，困了2个人", "3栋电梯坏了，困了2个人"),
    ("十二栋门口路灯不亮", "十二栋门口路灯不亮"),
    ("中心花园的座椅坏了", "中心花园的座椅坏了"),
])
def test_scrub_hides_phones_rooms_and_emails(text: str, expected: str) -> None:
    assert clean(text) == expected


def test_scrubbed_text_keeps_no_run_of_three_digits() -> None:
    text = "3栋2单元501，电话139 1234 5678，备用 0２３-6888 1234，房间一二零三，邮箱a@b.cn"
    out = clean(text)
    digits = [c for c in out if c.isdigit()]
    assert len(digits) <= 1 and "3栋" in out
    assert "一二零三" not in out and "a@b.cn" not in out


def test_registered_names_are_hidden_longest_first() -> None:
    out = scrub("找张秀英或者张秀，别找王五", MASKS, ["张秀", "张秀英"])
    assert out == f"找{NAME}或者{NAME}，别找王五"
