"""Which estate: the question the bot asks a resident not yet bound when several estates share it."""
from __future__ import annotations

ASK_ESTATE = "本号服务多个小区，请问您住在哪个小区？\n{choices}\n回复数字就行，也可以直接发送您的位置。"
ESTATE_LINE = "{number} {name}"
ESTATE_OUT_OF_RANGE = "请回复 1 到 {last} 之间的数字，或发送您的位置。"
ESTATE_CHOSEN = "好的，已记下您住在{name}。"
ESTATE_NO_PLACE = "暂时无法从位置判断您的小区，请回复小区前的数字。"
