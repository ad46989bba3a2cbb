"""What residents read about their tickets: their list, what staff did, rating, the look back."""
from __future__ import annotations

NO_TICKETS = "您还没有报过问题。直接告诉我问题和位置就能登记，比如“3栋电梯坏了”。"
TICKET_LIST_HEAD = "您最近的工单："
TICKET_LINE = "#{number} {category}｜{place}｜{state}｜{date}"
TICKET_NOT_FOUND = "没有找到您的工单 #{number}，请核对编号。发“查询”可看您的全部工单。"
TICKET_DETAIL = "工单 #{number}（{category}，{place}）：{state}。\n登记于 {created}，最近更新 {updated}。"
RESIDENT_CLAIMED = "您的工单 #{number}（{category}）已由{name}受理，正在处理。"
RESIDENT_REPLY = "关于工单 #{number}，{name}回复：{text}\n如需补充，请发“补充 #{number} 内容”。"
RESIDENT_RESOLVED = ("您的工单 #{number}（{category}）已处理完成{note}。请为这次处理打分：回复1-5分，"
                     "或“满意”“基本满意”“不满意”。如果没修好，请回复“没修好”。")
RESIDENT_ESCALATED = "您的工单 #{number} 已转交{level}一级处理，请耐心等待。"
RESIDENT_REJECTED = "您的工单 #{number} 未能受理，原因：{reason}。如有疑问，请重新描述问题。"
RESIDENT_MERGED = "您反映的问题 #{other} 与 #{number} 是同一件事，已合并处理，之后的进展会按 #{number} 通知您。"
RESIDENT_REOPENED = "收到，工单 #{number} 已重新打开，已通知处理人员尽快返工。"
RESIDENT_RATED = "谢谢您的评价（{stars}），工单 #{number} 已办结。"
RESIDENT_ADDED = "已把您的补充转给工单 #{number} 的处理人员。"
RATE_NO_TICKET = "谢谢反馈！您目前没有待评价的工单。"
RESIDENT_CLIMBED = "您的工单 #{number} {reason}，已按规定提交{level}一级督办。"
LOOK_BACK = ("回头看：您反映的 #{number}（{category}，{place}）处理完已经{days}天了，现在还好吗？"
             "一切正常请回复“好了”；如果又坏了，请回复“又坏了”，我们会重新处理。")
LOOK_BACK_OK = "谢谢您的回复！有问题随时找我。"
