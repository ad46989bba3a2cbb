"""Market day and notices: the next market, a service asked about, reminders, 通知 全体."""
from __future__ import annotations

WEEKDAYS = "一二三四五六日"
MARKET_NEXT = ("下一次便民市集：{date}（周{weekday}）{hours}，地点：{place}。\n"
               "服务项目：{services}。{subscribe}")
MARKET_SUBSCRIBE_HINT = "发“订阅”可在市集前一晚和当天早上收到提醒。"
MARKET_NONE = "近期没有安排便民市集，有新安排会通知大家。"
MARKET_OFFERED = "有的，{date}（周{weekday}）{hours}的市集上有{service}，地点：{place}。"
MARKET_NOT_OFFERED = ("这次市集暂时没有{service}。{date}的市集有：{services}。"
                      "如有需要可以发“建议 …”告诉我们。")
MARKET_SERVICE_LIST_SEP = "、"
MARKET_REMINDER_EVENING = ("【市集提醒】明天（{date}，周{weekday}）{hours}在{place}有便民市集，"
                           "服务项目：{services}。发“退订”可不再接收提醒。")
MARKET_REMINDER_MORNING = ("【市集提醒】今天{hours}在{place}有便民市集，"
                           "服务项目：{services}。发“退订”可不再接收提醒。")
MARKET_REMINDER_ADVANCE = ("【市集预告】下一次便民市集：{date}（周{weekday}）{hours}，地点：{place}，"
                           "服务项目：{services}。发“退订”可不再接收提醒。")
NOTICE = "【社区通知】{text}"
STAFF_NOTICE_HELP = "发全体通知请写：通知 全体 通知内容，例如：通知 全体 周六上午9点停水检修"
STAFF_NOTICE_SENT = "通知已排队发送：{residents}位订阅居民，{groups}个群。"
