"""The report categories: the one table of their codes, their Chinese names, and how the city
platform (Open311) groups and finds them. Everything else that names categories reads it
(tests/test_layout.py checks that nothing else lists them).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """A kind of problem: its code (stored on tickets), name, Open311 group and keywords."""

    code: str
    name: str
    group: str  # the Open311 service group
    keywords: str  # comma-separated, as Open311's services list gives them


CATEGORIES: tuple[Category, ...] = (
    Category("elevator", "电梯", "设施设备", "电梯,困人,异响"),
    Category("fire_safety", "消防安全", "安全", "消防通道,灭火器,飞线充电"),
    Category("security", "治安门禁", "安全", "门禁,监控,高空抛物,陌生人"),
    Category("sanitation", "环境卫生", "环境秩序", "垃圾,卫生,异味"),
    Category("greenery", "绿化", "环境秩序", "绿化,毁绿种菜"),
    Category("lighting", "照明", "设施设备", "路灯,楼道灯"),
    Category("water", "水电管道", "设施设备", "积水,漏水,停水,管道"),
    Category("facilities", "公共设施", "设施设备", "健身器材,座椅,墙砖脱落,门窗,游乐设施"),
    Category("parking", "停车", "环境秩序", "停车,车库,充电桩,占道"),
    Category("noise", "噪音扰民", "环境秩序", "噪音,装修扰民"),
    Category("illegal_construction", "违章搭建", "环境秩序", "违建,私搭乱建"),
    Category("property_service", "物业服务", "物业与邻里", "物业态度,收费"),
    Category("neighbor_dispute", "邻里纠纷", "物业与邻里", "邻里纠纷,宠物"),
    Category("assistance", "困难求助", "物业与邻里", "独居老人,行动不便,求助"),
    Category("other", "其他", "物业与邻里", "其他"),
)
# Suggestions have no category; the board and Open311 list them as one of their own.
SUGGESTION = Category("suggestion", "建议", "建议", "建议,意见")

CODES: tuple[str, ...] = tuple(c.code for c in CATEGORIES)
CATEGORY_NAMES: dict[str, str] = {c.code: c.name for c in CATEGORIES}
BY_CODE: dict[str, Category] = {c.code: c for c in (*CATEGORIES, SUGGESTION)}


def category_name(category: str | None) -> str:
    """Say a category in Chinese; a missing one is 其他."""
    return CATEGORY_NAMES.get(category or "other", CATEGORY_NAMES["other"])
