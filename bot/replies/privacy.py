"""Personal information (PIPL): what the bot holds about a resident, and erasing it."""
from __future__ import annotations

PRIVACY_HOME = "绑定房屋：{home}（{role}，{state}）"
PRIVACY_NO_HOME = "绑定房屋：没有"
PRIVACY_VERIFIED = "已核验"
PRIVACY_UNVERIFIED = "待工作人员确认"
PRIVACY_SUBSCRIBED = {True: "已订阅", False: "未订阅"}
PRIVACY_SUMMARY = ("邻里通保存的您的信息：\n"
                   "- {home}\n"
                   "- 市集和通知提醒：{subscribed}\n"
                   "- 工单：您报了{reported}件，跟进别人报的{followed}件\n"
                   "- 投票：{ballots}张选票\n"
                   "- 聊天记录：{messages}条消息\n"
                   "- 照片：{photos}张（处理人员可以查看；工单公示后，公示清单上会显示去掉拍摄地点的照片）\n"
                   "- 开始使用：{since}\n"
                   "您的手机号和门牌号只给负责处理的工作人员看，不会发到居民群或公示清单。"
                   "如需删除，请发“删除我的信息”。")
PRIVACY_WITHDRAWS = "您在还没结束的表决{votes}里投的票会被撤回，不再计入结果（截止前可以重新绑定后再投）。\n"
PRIVACY_ERASE_ASK = ("确定要删除您在邻里通的个人信息吗？\n"
                     "将删除：房屋绑定、提醒订阅、聊天内容、您发的照片、还没发出的消息，以后也不再向您推送工单进展。\n"
                     "{withdraw}"
                     "将保留（去掉您的身份、手机号和门牌号）：您报过的工单，以及已结束表决的选票，"
                     "这是小区公示和表决结果依法需要的。\n"
                     "确定请在10分钟内回复“确认删除”；不删请回复“取消”。")
PRIVACY_ERASE_AGAIN = ("您24小时内已经删除过一次个人信息，每天最多删除一次。"
                       "如需再次删除，请在 {when} 之后发“删除我的信息”。")
PRIVACY_ERASE_CANCELLED = "好的，已取消，您的信息保持不变。"
PRIVACY_NOTHING_TO_CONFIRM = "现在没有等待确认的删除。如需删除您的信息，请先发“删除我的信息”。"
PRIVACY_ERASED = ("已删除您的个人信息。保留的{tickets}件工单和{ballots}张已结束表决的选票已匿名处理，"
                  "撤回了{withdrawn}张进行中表决的选票。\n"
                  "以后再给我发消息，就当是第一次使用；需要时可以重新绑定房屋。")
