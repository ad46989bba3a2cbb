"""The intent engine: normalisation, homes, slots, the API the dialogue reads, the CLI and properties."""
from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intents import Engine, Parse
from intents.engine import CONTRACT_KEYS
from intents.homes import find_home, find_place
from intents.numerals import cn_to_int, int_to_cn
from intents.lexicon import INTENTS

PROJECT = Path(__file__).resolve().parent.parent
DEV_SET = PROJECT / "intents" / "data" / "dev.jsonl"
CATEGORIES = {"elevator", "fire_safety", "security", "sanitation", "greenery", "lighting", "water",
              "facilities", "parking", "noise", "illegal_construction", "property_service",
              "neighbor_dispute", "assistance", "other"}
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(("run", "value"), [
    ("三", 3), ("十", 10), ("十二", 12), ("二十", 20), ("二十一", 21), ("一百零八", 108),
    ("一二零四", 1204), ("一二〇四", 1204), ("五零一", 501), ("两", 2), ("一千二百零四", 1204)])
def test_cn_to_int(run: str, value: int) -> None:
    """Chinese numerals read positionally or digit by digit."""
    assert cn_to_int(run) == value


@given(st.integers(min_value=0, max_value=9999))
def test_numerals_round_trip(value: int) -> None:
    """Writing a number in Chinese and reading it back gives the number."""
    assert cn_to_int(int_to_cn(value)) == value
    assert cn_to_int(int_to_cn(value, positional=False)) == value


@pytest.mark.parametrize(("text", "home"), [
    ("3栋2单元501", ("3", "2", "501")),
    ("3幢2单元501室", ("3", "2", "501")),
    ("三栋二单元五零一", ("3", "2", "501")),
    ("7-1-302", ("7", "1", "302")),
    ("B区5栋", ("5", None, None)),
    ("3号楼", ("3", None, None)),
    ("十二号楼", ("12", None, None)),
    ("3单元一楼的车棚", (None, "3", None)),
    ("5-2的信箱", ("5", "2", None)),
    ("我家住１５幢二单元一二〇四", ("15", "2", "1204")),
    ("26楼的灯坏了", (None, None, None)),
    ("负三楼车位B-215被占", (None, None, None)),
    ("打了110也没用", (None, None, None)),
    ("8栋到9栋中间", ("8", None, None)),
    ("我是A区3栋的 2单元2203", ("3", "2", "2203")),
    ("我家1502漏水", (None, None, "1502")),
])
def test_find_home(text: str, home: tuple) -> None:
    """Homes in their many written forms; floors, parking codes and phone numbers are no homes."""
    assert find_home(text) == home


homes = st.tuples(st.integers(1, 40), st.integers(1, 9), st.integers(1, 33), st.integers(1, 8))


@given(homes, st.sampled_from(["{b}栋{u}单元{r}", "{b}幢{u}单元{r}室", "{b}-{u}-{r}", "{b}号楼{u}单元 {r}",
                               "绑定 {b}栋{u}单元{r} 6789"]))
def test_home_formats_property(home: tuple[int, int, int, int], form: str) -> None:
    """Every written form of a home, in ASCII or full-width digits, reads back the same."""
    b, u, floor, door = home
    room = floor * 100 + door
    want = (str(b), str(u), str(room))
    text = form.format(b=b, u=u, r=room)
    assert find_home(text) == want
    assert find_home(text.translate(FULL_WIDTH)) == want


@given(homes)
def test_home_in_chinese_numerals_property(home: tuple[int, int, int, int]) -> None:
    """Homes written wholly in Chinese numerals read back as digits."""
    b, u, floor, door = home
    room = floor * 100 + door
    text = f"{int_to_cn(b)}栋{int_to_cn(u)}单元{int_to_cn(room, positional=False)}"
    assert find_home(text) == (str(b), str(u), str(room))


def test_find_place() -> None:
    """The place phrase joins building, unit and the first place noun."""
    assert find_place("3栋电梯又坏了") == "3栋电梯"
    assert find_place("地下车库积水很深") == "地下车库"
    assert find_place("7栋2单元楼道灯不亮") == "7栋2单元楼道"
    assert find_place("好吵") is None
    assert find_place("电梯坏了") is None  # which lift? every building has one


@pytest.mark.parametrize(("text", "slots"), [
    ("投票 #3 同意", {"vote": 3, "choice": "agree"}),
    ("#4 选2", {"vote": 4, "choice": "2"}),
    ("第六项 不同意", {"vote": 6, "choice": "oppose"}),
    ("#9 先投同意 算了改投弃权", {"vote": 9, "choice": "abstain"}),
    ("投第三个方案 表决编号十一", {"vote": 11, "choice": "3"}),
    ("＃12 进展如何", {"ticket": 12}),
    ("工单号44 加急", {"ticket": 44}),
    ("15号的市集几点开始", {"ticket": None}),
    ("★★★★☆", {"rating": 4}),
    ("打两颗星", {"rating": 2}),
    ("十分满意", {"rating": None}),
    ("一星都不想给", {"rating": 1}),
    ("4分 4分 4分", {"rating": 4}),
])
def test_slot_rules(engine: Engine, text: str, slots: dict) -> None:
    """Tickets, vote numbers, choices and ratings are read by rules, whatever the model makes of the text."""
    got = engine.reader.read(text)
    assert {name: getattr(got, name) for name in slots} == slots


@pytest.mark.parametrize(("text", "slots"), [
    ("投票 #3 同意", {"intent": "vote", "vote": 3, "choice": "agree", "ticket": None}),
    ("#5 反对", {"intent": "vote", "vote": 5, "ticket": None}),
    ("查一下#12", {"intent": "query_status", "ticket": 12, "vote": None}),
    ("5分", {"intent": "rate", "rating": 5}),
    ("绑定 5栋2单元1203 6789", {"intent": "bind", "building": "5", "unit": "2", "room": "1203"}),
])
def test_slots_follow_the_intent(engine: Engine, text: str, slots: dict) -> None:
    """A clear message gets its intent, and the slots that intent carries (#N is a vote in a vote)."""
    got = engine.parse(text)
    assert {name: getattr(got, name) for name in slots} == slots


@pytest.mark.parametrize(("text", "kept", "not_read_as"), [
    ("明天坐轻轨进站的时候打电话", "进站", "进展"),
    ("早上草坪上全是露水了", "露水", "漏水"),
    ("小区门口购物也方便", "购物", "物业"),
    ("我今天不走了 在家等师傅", "不走", "坏了"),
    ("快递员从东门进来的", "东门", "门禁"),
])
def test_no_word_is_rewritten_across_words(engine: Engine, text: str, kept: str, not_read_as: str) -> None:
    """Typos and dialect are read only where a variant is whole words: everyday words stay what they are."""
    words = engine.reader.words(engine.normalise(text))
    joined = "".join(words)
    assert kept in joined and not_read_as not in joined
    assert engine.normalise(text).replace(" ", "") == joined.replace(" ", "")


def test_variants_read_where_they_are_whole_words(engine: Engine) -> None:
    """A misspelling or dialect word that stands as its own word is read as the canonical word."""
    assert "物业" in engine.reader.words(engine.normalise("物也不管"))
    assert "没有" in engine.reader.words(engine.normalise("莫得人管"))


@pytest.mark.parametrize("text", ["1" * 16000, "⑳" * 16000, "#" + "9" * 5000 + "号楼" * 3000,
                                  "3栋" + "1" * 9000 + "单元"])
def test_long_texts_are_cut_and_digit_runs_collapsed(engine: Engine, text: str) -> None:
    """Hostile lengths parse (issue 18: once 29 s for 16,000 digits): the engine reads 1,000 characters,
    and no run of more than 12 digits."""
    from intents.normalize import MAX_CHARS, MAX_DIGITS
    norm = engine.normalise(text)
    assert len(norm) <= MAX_CHARS
    assert max((len(run) for run in re.findall(r"\d+", norm)), default=0) <= MAX_DIGITS
    got = engine.parse(text)
    assert got.intent in INTENTS
    assert got.ticket is None or got.ticket < 10 ** MAX_DIGITS


def test_as_dict_has_exactly_the_contract_keys(engine: Engine) -> None:
    """as_dict carries the contract's keys, confidence and ask included, no more."""
    data = engine.parse("3栋2单元电梯又坏了").as_dict()
    assert tuple(data) == CONTRACT_KEYS
    assert data["place"] == "3栋2单元电梯"
    assert (data["building"], data["unit"]) == ("3", "2")
    assert isinstance(data["confidence"], float) and isinstance(data["ask"], bool)


def test_alternatives_rank_the_likeliest_readings(engine: Engine) -> None:
    """Up to three readings, likeliest first, the first being the intent; probabilities add up to one."""
    got = engine.parse("电梯修好了没")
    assert 1 <= len(got.alternatives) <= 3
    assert got.alternatives[0] == (got.intent, got.confidence)
    assert [p for _, p in got.alternatives] == sorted((p for _, p in got.alternatives), reverse=True)
    assert abs(sum(got.scores.values()) - 1.0) < 0.01
    assert set(got.scores) == set(INTENTS)


def test_confidence_and_ask(engine: Engine) -> None:
    """A clear message is surer than a vague one; ask is exactly "unsure and not urgent"."""
    clear = engine.parse("3栋电梯又坏了 快来修")
    vague = engine.parse("嗯 那个")
    assert 0.0 <= vague.confidence < clear.confidence <= 1.0
    assert clear.ask is False
    threshold = engine.model.thresholds["ask"]
    for text in ("嗯 那个", "3栋电梯又坏了 快来修", "电梯里有人 门打不开", "那个事情", "楼上"):
        got = engine.parse(text)
        assert got.ask == (not got.urgent and got.confidence < threshold)


def test_urgent_is_never_asked(engine: Engine) -> None:
    """Urgency never waits on a question."""
    got = engine.parse("电梯卡在半中间 里头还有人在喊救命")
    assert got.urgent and got.intent == "report" and not got.ask


def test_expect_rate_reads_a_verdict_after_a_done_notice(engine: Engine) -> None:
    """After "完成" asks for a rating, "修好了 谢谢" is a rating; "谢谢" alone stays thanks."""
    assert engine.parse("修好了 谢谢", expect="rate").intent == "rate"
    assert engine.parse("谢谢", expect="rate").intent == "greeting"


def test_expect_answers(engine: Engine) -> None:
    """Yes/no after a duplicate question, an option number after a clarifying one."""
    assert engine.parse("是的", expect="duplicate").answer == "yes"
    assert engine.parse("不是 是另外一个", expect="duplicate").answer == "no"
    assert engine.parse("2", expect="choice").answer == "2"
    assert engine.parse("第二个", expect="choice").answer == "2"
    assert engine.parse("2", expect="choice").ask is False
    assert engine.parse("是的").answer is None
    with pytest.raises(ValueError):
        engine.parse("是的", expect="weather")


def test_expect_place_reads_an_answer_to_where(engine: Engine) -> None:
    """Asked where, a bare home is the report's place, not a home to bind."""
    got = engine.parse("7栋2单元", expect="place")
    assert got.intent == "report" and (got.building, got.unit) == ("7", "2")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_never_crashes_and_labels_are_valid(engine: Engine, text: str) -> None:
    """Any unicode text parses into a valid label set."""
    got = engine.parse(text)
    assert isinstance(got, Parse)
    assert got.intent in INTENTS
    assert (got.category in CATEGORIES) if got.intent == "report" else got.category is None
    assert got.urgent is False or got.intent == "report"
    assert got.rating is None or got.intent == "rate"
    assert got.choice is None or got.intent == "vote"
    assert 0.0 <= got.confidence <= 1.0
    assert not (got.ask and got.urgent)
    json.dumps(got.as_dict(), ensure_ascii=False)


@given(st.sampled_from(["3栋2单元的电梯坏了", "绑定 12栋1单元1203", "#7 进展如何", "工单29 4分"]))
def test_full_width_digits_change_nothing(engine: Engine, text: str) -> None:
    """Full-width digits parse like ASCII ones."""
    assert engine.parse(text.translate(FULL_WIDTH)).as_dict() | {"text": text} == engine.parse(text).as_dict()


def test_command_line() -> None:
    """`python -m intents` answers one JSON object per input line, loading neither scikit-learn nor numpy."""
    env = dict(os.environ)  # conftest points LINLI_CACHE_DIR at a temporary directory
    lines = "3栋电梯又坏了\n您好\n\n绑定 5栋2单元1203\n"
    proc = subprocess.run([sys.executable, "-c", CLI_WITHOUT_TRAINING_LIBS], input=lines.encode(),
                          capture_output=True, cwd=PROJECT, env=env, timeout=60, check=True)
    answers = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [a["intent"] for a in answers] == ["report", "greeting", "unknown", "bind"]
    assert all(tuple(a) == CONTRACT_KEYS for a in answers)
    assert answers[3]["room"] == "1203"
    assert answers[0]["ask"] is False


# Runs the contract's `python -m intents`, then fails if training libraries were imported on the way.
CLI_WITHOUT_TRAINING_LIBS = """
import runpy, sys
try:
    runpy.run_module("intents", run_name="__main__")
except SystemExit:
    pass
loaded = sorted(m for m in ("sklearn", "numpy", "scipy") if m in sys.modules)
assert not loaded, loaded
"""


# A little under what the engine reached on the dev set (intent 0.983, category 0.926, home 1.000,
# urgent F1 0.923 with 6,133 corpus lines); it never trains on these lines.
DEV_FLOORS = {"intent": 0.95, "category": 0.88, "home": 0.97, "urgent_f1": 0.80}


def test_dev_set(engine: Engine) -> None:
    """The shared dev set, scored as ../shared/tools/score_intents.py scores it, stays above its floors."""
    from tests.intent_scoring import score
    scores = score(engine, DEV_SET)
    low = {k: round(v, 3) for k, v in scores.items() if v < DEV_FLOORS[k]}
    assert not low, f"below the floors {DEV_FLOORS}: {low}"


def test_dev_set_is_no_training_line() -> None:
    """The dev set only scores: none of its messages is in the corpus."""
    dev = {json.loads(line)["text"] for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()}
    corpus = set()
    for path in sorted((PROJECT / "intents" / "data" / "corpus").glob("*.jsonl")):
        corpus |= {json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert len(dev) == 120 and not dev & corpus


@pytest.mark.parametrize(("text", "intent"), [("查询", "query_status"), ("查一下。", "query_status"),
                                              ("帮助", "help"), ("退订", "unsubscribe"), ("订阅!", "subscribe")])
def test_the_bots_own_commands_are_certain(engine: Engine, text: str, intent: str) -> None:
    """A message that is one of the commands the bot's replies teach takes that intent, surely."""
    got = engine.parse(text)
    assert (got.intent, got.confidence, got.ask) == (intent, 1.0, False)


def test_unseen_characters_do_not_dilute_a_danger(engine: Engine) -> None:
    """Markup or junk around a report (characters the models never saw) does not hide its urgency."""
    junk = "<img src=x onerror=\"document.title='pwned'\">" + "㐀㐁㐂㐃㐄" * 20
    plain = engine.parse("3栋电梯坏了，有人被困")
    padded = engine.parse(junk + "3栋电梯坏了，有人被困")
    assert plain.urgent and padded.urgent and padded.intent == "report"
