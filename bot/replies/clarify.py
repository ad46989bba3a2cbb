"""When the bot is unsure what a resident means: the likeliest readings, as numbered choices."""
from __future__ import annotations

# Each reading in the resident's words (CONTRACT.md, "When the bot is unsure"); `unknown` is no choice.
READINGS = {
    "report": "报修、反映问题",
    "suggest": "给小区提建议",
    "query_status": "查询报修进度",
    "rate": "评价维修结果",
    "vote": "投票",
    "vote_list": "查看表决和结果",
    "market": "咨询便民市集",
    "subscribe": "订阅市集和社区通知",
    "unsubscribe": "退订提醒",
    "bind": "绑定房屋",
    "help": "了解我能做什么",
    "greeting": "只是打个招呼或道谢",
}
REPORT_READING = "报修、反映问题（{category}）"
CLARIFY = "我没太明白您的意思。您是想：\n{choices}\n回复数字就行；都不是的话，换个说法告诉我。"
CHOICE_LINE = "{number} {reading}"
CLARIFY_OUT_OF_RANGE = "请回复 1 到 {last} 之间的数字；都不是的话，换个说法告诉我。"
CLARIFY_CANCELLED = "好的。有事请直接告诉我，比如“3栋电梯坏了”。"
