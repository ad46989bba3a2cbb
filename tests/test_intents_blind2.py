"""The second blind set (tests/intents_blind2.jsonl, written from RULES.md before the engine was read) and
the general rules it led to."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from intents import Engine
from tests.intent_scoring import score

BLIND_SET = Path(__file__).resolve().parent / "intents_blind2.jsonl"
# Reached after tuning: intent 0.997, category 0.994, home 1.000, urgent F1 1.000 (before: 0.930 / 0.896 /
# 1.000 / 0.905). The floors sit a little below, so that a regression fails.
FLOORS = {"intent": 0.98, "category": 0.97, "home": 0.98, "urgent_f1": 0.95}


def test_blind2_floors(engine: Engine) -> None:  # noqa: F811
    """The engine keeps its figures on the second set of messages written without looking at it."""
    scores = score(engine, BLIND_SET)
    low = {k: round(v, 3) for k, v in scores.items() if v < FLOORS[k]}
    assert not low, f"below the floors {FLOORS}: {low}"


def test_blind2_is_well_formed() -> None:
    """300 distinct messages with every contract field; category only on reports, urgent only on reports."""
    rows = [json.loads(line) for line in BLIND_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 300
    assert len({r["text"] for r in rows}) == 300
    keys = {"text", "intent", "category", "building", "unit", "room", "urgent", "ticket", "vote", "choice", "rating"}
    assert all(set(r) == keys for r in rows)
    assert all((r["category"] is not None) == (r["intent"] == "report") for r in rows)
    assert not any(r["urgent"] and r["intent"] != "report" for r in rows)


# (text, intent, category, urgent) — none of these is a line of either blind set.
RULES: list[tuple[str, str, str | None, bool]] = [
    # Follow-ups in other words: 上个礼拜/上回, 有下文没, 好久来, "报了N个问题", "我还有几个单子".
    ("上星期投诉的噪音 有下文没有", "query_status", None, False),
    ("上回反映的电梯异响 有结果没", "query_status", None, False),
    ("前天报的那个下水道 师傅好久来修", "query_status", None, False),
    ("我报了两个问题 都没人回复", "query_status", None, False),
    ("我还有哪些单子没处理", "query_status", None, False),
    # A cancellation stays a follow-up even when it says the thing got fixed.
    ("#12 不用来了 我自己修好了", "query_status", None, False),
    ("那个单子取消掉 楼下已经弄好了", "query_status", None, False),
    # Work marked as done that was never done is judged; bare sloppiness rates only with no problem named.
    ("工单33 显示已处理 其实根本没人来", "rate", None, False),
    ("系统说已经完成了 但是根本没修", "rate", None, False),
    ("师傅来了就敷衍一下就走了", "rate", None, False),
    ("保洁打扫敷衍了事 楼梯上全是灰", "report", "sanitation", False),
    # Other intents in other words.
    ("现在能投的有哪些", "vote_list", None, False),
    ("我想接收业委会的公告", "subscribe", None, False),
    ("我家802 5栋1单元", "bind", None, False),
    ("你能帮我干些什么", "help", None, False),
    ("投诉要写什么格式", "help", None, False),
    ("保安室电话是好多", "unknown", None, False),
    ("你们物业好久上班", "unknown", None, False),
    ("专业开锁 上门服务 随叫随到", "unknown", None, False),
    ("电饭锅坏了 市集能修不", "market", None, False),
    ("可以多开几个出入口不", "suggest", None, False),
    ("阿姨们早上好", "greeting", None, False),
    ("各位街坊新年快乐", "greeting", None, False),
    # Fees of every kind, named by what they pay for, and staff asleep on duty: the property company.
    ("垃圾费凭啥子涨价", "report", "property_service", False),
    ("二次供水费是啥子", "report", "property_service", False),
    ("门卫值班的时候一直在玩手机 人进来都不晓得", "report", "property_service", False),
    ("值班的门卫在睡觉 叫不醒", "report", "property_service", False),
    ("婆婆睡着了叫不醒 呼吸好弱", "report", "assistance", True),
    # A lamp said to be faulty is lighting whatever carries it; the lift car's own light stays elevator.
    ("小区门口招牌的灯闪个不停", "report", "lighting", False),
    ("电梯里头的灯一直闪", "report", "elevator", False),
    # What sticks out or encloses a corridor is illegal construction, unless an escape route is blocked.
    ("阳台的防盗笼伸出去好长一截 挡到楼下采光", "report", "illegal_construction", False),
    ("楼梯间被人装了道铁门 楼梯都被他占了", "report", "illegal_construction", False),
    ("楼道里被人装了个门 安全出口出不去了", "report", "fire_safety", False),
    ("单元门口的地被挖了个大坑 也没围起来", "report", "facilities", False),
    # What a household pushes into a neighbour's space, and a neighbour's animal: a dispute; its mess: sanitation.
    ("楼上那家的晾衣杆伸到我家阳台上头 滴水", "report", "neighbor_dispute", False),
    ("对门家的鸡天天早上打鸣", "report", "neighbor_dispute", False),
    ("隔壁的狗天天在楼道里拉屎", "report", "sanitation", False),
    ("楼下那棵树的枝丫伸到我家窗户了", "report", "greenery", False),
    # The sound of a quarrel is noise; water rushing at a home is water.
    ("隔壁装修的吵架声 电钻声 吵死了", "report", "noise", False),
    ("二楼那家的空调外机吵死了", "report", "noise", False),
    # Prunings dumped and left: sanitation.
    ("修剪下来的树枝堆在单元门口 好几天了", "report", "sanitation", False),
    ("落叶扫成堆了 就是没人收", "report", "sanitation", False),
    # Devices that slow or stop vehicles: parking; what hits something only locates the damage.
    ("停车场的限高杆被撞歪了", "report", "parking", False),
    ("有辆三轮车把路灯撞歪了", "report", "lighting", False),
    ("挖掘机把水管挖断了 水到处冒", "report", "water", False),
    # Injuries, impaired sight, living alone: assistance; a wheelchair that cannot pass: a blocked way.
    ("我奶奶腰闪了 下不了楼 能不能帮忙买点菜上来", "report", "assistance", False),
    ("我爸眼睛看不见 家里就他一个 水龙头坏了 能不能请人来帮忙", "report", "assistance", False),
    ("有辆车堵在门口 轮椅过不去", "report", "parking", False),
    # Gas: 沼气, a smell at a meter or pipe; a tyre losing air is no gas leak and no estate fault.
    ("楼道里一股沼气味", "report", "fire_safety", True),
    ("燃气管那里有股味道 是不是漏了", "report", "fire_safety", True),
    ("车胎漏气了 附近哪里能补", "unknown", None, False),
    # Blows struck or a weapon out decide security over a quarrel named first, and are urgent.
    ("两个人在吵架 有一个提起斧头冲过去了!!", "report", "security", True),
    ("楼下两家人吵起来了 现在动手了!!", "report", "security", True),
    ("邻居跟我吵架 差点动手", "report", "neighbor_dispute", False),
    # A break-in under way however phrased; things hanging in mid-air can fall now.
    ("有人正在撬隔壁那户的防盗门!!", "report", "security", True),
    ("昨天有人在撬我家的门", "report", "security", False),
    ("招牌吊在半空中晃 下面人来人往", "report", "facilities", True),
    # Wild animals that nobody keeps.
    ("小区里有黄鼠狼 把鸡咬死了", "report", "other", False),
]


@pytest.mark.parametrize(("text", "intent", "category", "urgent"), RULES)
def test_general_rule(engine: Engine, text: str, intent: str, category: str | None, urgent: bool) -> None:  # noqa: F811
    """Each general rule added after the second blind estimate, on phrasings outside both blind sets."""
    got = engine.parse(text)
    assert (got.intent, got.category, got.urgent) == (intent, category, urgent)
