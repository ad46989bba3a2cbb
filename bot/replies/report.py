"""Reporting a problem or a suggestion: its number, where it is, photos, the same problem open."""
from __future__ import annotations

TICKET_OPENED = "已为您登记工单 #{number}（{category}，{place}）。{next_step}回复“查询”可随时查看进展。"
SUGGESTION_OPENED = "谢谢您的建议！已登记为 #{number}，会转给物业和业委会研究，处理结果会公示。回复“查询”可随时查看进展。"
NEXT_STEP_URGENT = "这是紧急情况，已同时通知网格员和物业值班人员，会在{response}内响应。如有人员受伤或起火，请立即拨打119/120。"
NEXT_STEP_NORMAL = "已转给所在网格员和物业，会在{response}内响应，{resolve}内处理完。"
ASK_PLACE = "收到：{category}问题。请问具体在哪里？比如“3栋2单元”或“地下车库B区”。也可以发送位置。（10分钟内回复有效）"
PLACE_EXPIRED = "刚才的报修等待位置超过10分钟，已作废。请重新描述问题和位置。"
REPORT_CANCELLED = "好的，刚才那条报修已取消。"
PHOTO_ATTACHED = "照片已补充到工单 #{number}，处理人员会看到。"
PHOTO_ASK = "收到照片。请用一句话说明照片里是什么问题、在哪里，我来登记。"
PHOTO_NOT_IMAGE = ("您为工单 #{number} 发来的文件不是图片，没能保存。"
                   "请直接发送照片（JPG、PNG 等图片格式），处理人员就能看到。")
PHOTO_TOO_LARGE = ("您为工单 #{number} 发来的照片超过 {limit}MB，没能保存。"
                   "请发送 {limit}MB 以内的照片（发送时不要勾选“原图”）。")
PHOTO_KEPT = "照片收到了。请先回复“是”一起跟进已有的工单，或回复“不是”另外登记，照片会一并附上。"
LOCATION_NO_REPORT = "收到您的位置。请再用文字说明是什么问题，我来登记。"
DUPLICATE_OFFER = ("已有同类问题 #{number}（{category}，{place}）正在处理。回复“是”一起跟进，处理进展都会通知您；"
                   "如果不是同一件事，回复“不是”，我另外登记。")
DUPLICATE_FOLLOWED = "好的，您已一起跟进 #{number}，处理进展会通知您。"
URGENT_OPENED_ASK_PLACE = ("情况紧急，已登记工单 #{number}（{category}），并立即通知了网格员和物业值班人员。"
                           "请马上告诉我具体位置，比如“3栋2单元”，我转给他们。如有人员受伤或起火，请立即拨打119/120。")
PLACE_ADDED = "已把位置“{place}”补充到工单 #{number}，处理人员马上能看到。"
URGENT_ADDED = "已把您的话转给工单 #{number} 的处理人员。还请告诉我具体位置，比如“3栋2单元”。"
URGENT_FOLLOWED = ("情况紧急，已有居民报告了同一件事：#{number}（{category}，{place}），工作人员正在处理，"
                   "已告诉他们您也报告了。您已一起跟进 #{number}，进展会通知您。如有人员受伤或起火，请立即拨打119/120。")
