"""What staff read: ticket cards and their history, answers to commands, warnings and the digest."""
from __future__ import annotations

NOT_STAFF = "您不是登记的工作人员，不能操作工单。如需登记，请联系物业管理员。"
STAFF_HELP_HEAD = "可用指令："  # then each staff command's help line (bot/commands.py)
URGENT_MARK = "【紧急】"
CARD = ("**工单 #{number}** {urgent}{category}\n"
        "> 地点：{place}\n> 内容：{text}\n{photos}"
        "> 时间：{created}\n> 首次响应截止：{due}\n"
        "回复“接单 #{number}”认领")
CARD_PHOTO = "> 照片：{links}\n"
ESCALATED_CARD = "**工单 #{number} 已升级到{level}**（原因：{reason}）\n{card}\n\n处理经过：\n{history}"
HISTORY_LINE = "- {when} {who}：{what}"
ACTION_NAMES = {"opened": "登记", "claimed": "接单", "replied": "回复", "resolved": "办结",
                "closed": "评价办结", "reopened": "重新打开", "rejected": "退回", "merged": "并入",
                "absorbed": "合并", "added": "补充", "photo": "补充照片", "warned": "到期提醒",
                "reminded": "每日督办", "look_back": "回头看", "look_back_ok": "回头看确认正常",
                "me_too": "同一问题跟进", "published": "公示原话", "unpublished": "撤回公示",
                "place": "补充位置", "recategorised": "改类", "withdrawn": "撤销（不是报修）",
                "reassigned": "转派"}
ACTORS = {"system": "系统", "resident": "居民"}
STAFF_NO_TICKET = "没有找到工单 #{number}，请核对编号。"
STAFF_NO_HOME = "没有找到 {home}，请核对楼栋、单元和房号。"
# refused before anything changes: the ticket, the home or the estate is not this staff member's
STAFF_NOT_YOUR_TICKET = ("工单 #{number} 不在您负责的楼栋、类别或层级内，未做任何改动。"
                         "如需处理，请联系负责的同事或上级。")
STAFF_NOT_YOUR_HOME = "{home} 不在您负责的范围内，未做任何改动。请由负责该楼栋的工作人员核实。"
STAFF_NOT_YOUR_LEVEL = "“{word}”只能由{levels}的工作人员使用，未做任何改动。"
STAFF_NOT_ESTATE_WIDE = "“{word}”面向全小区，只有负责全小区的工作人员可以使用，未做任何改动。"
STAFF_BAD_STATE = "工单 #{number} 当前状态是「{state}」，不能{action}。"
STAFF_NEED_TEXT = "请写上{what}，例如：{example}"
STAFF_TAKEN = "工单 #{number} 已由{name}接单。"
STAFF_HANDED = "已把工单 #{number} 转派给{name}，已告诉居民和{name}。"
STAFF_HANDED_ALREADY = "工单 #{number} 已经由{name}处理，未做改动。"
STAFF_HANDED_NOT_THEIRS = "{name}不负责工单 #{number} 的楼栋、类别或层级，不能转派给他（她）。"
STAFF_HANDED_TO_YOU = "{by}把工单 #{number} 转派给您处理：\n\n{card}\n\n处理完请回复「完成 #{number}」。"
STAFF_CLAIMED = "已接单 #{number}，已告诉居民由您处理。请在{due}前处理完。"
STAFF_REPLIED = "已把回复转给工单 #{number} 的居民。"
STAFF_RESOLVED = "工单 #{number} 已办结，已请居民评价。"
STAFF_ESCALATED = "工单 #{number} 已升级到{level}，已通知{level}的工作人员。"
STAFF_TOP_LEVEL = "工单 #{number} 已在街道一级，不能再升级。"
STAFF_REJECTED = "工单 #{number} 已退回，已告诉居民原因。"
STAFF_MERGED = "已把 #{other} 并入 #{number}，{count}位居民改为跟进 #{number}。"
STAFF_MERGE_SELF = "不能把工单并入它自己。"
STAFF_TODO_EMPTY = "您目前没有待办工单。"
STAFF_TODO_HEAD = "您的待办工单（{count}件，超时的在前）："
STAFF_TODO_LINE = "#{number} {urgent}{category}｜{place}｜{state}{overdue}"
OVERDUE_MARK = "｜已超时"
STAFF_REOPENED = "工单 #{number} 被居民退回重办：{text}"
STAFF_ADDITION = "工单 #{number} 的居民补充：{text}"
STAFF_PHOTO_ADDED = "工单 #{number} 的居民补充了照片：{link}"
STAFF_PUBLISHED = "工单 #{number} 的居民原话已公示（电话、房号和登记过的姓名已隐去）：{text}\n{photos}如需撤回，请发“撤回公示 #{number}”。"
STAFF_PUBLISHED_PHOTOS = "居民发的{count}张照片也一并公示（已去掉拍摄地点等信息），请确认照片里没有人脸、门牌或车牌。\n"
STAFF_UNPUBLISHED = "工单 #{number} 的居民原话已从公示清单撤下。"
STAFF_PUBLISH_SAME = "工单 #{number} 的居民原话{state}，无需重复操作。"
PUBLISH_STATES = {True: "已经公示", False: "本来就没有公示"}
OVERDUE_RESPONSE = "超时未受理"
OVERDUE_RESOLVE = "超时未办结"
STAFF_WARNING = "提醒：工单 #{number}（{category}，{place}）将于{due}到期，请抓紧处理；办完请回复“完成 #{number}”。"
STREET_REMINDER = "**工单 #{number} 仍未办结**（已到街道一级，每日提醒）\n{card}"
DIGEST_HEAD = "**每日工单简报**（{date}）\n> 新增：{new}\n> 未办结：{open}\n> 超时：{overdue}\n> 昨日办结：{resolved}"
DIGEST_OVERDUE_HEAD = "超时工单（最久的在前）："
DIGEST_LINE = "- #{number} {category}｜{place}｜{level}｜超时{late}"
STAFF_PLACE_GIVEN = "工单 #{number} 的居民补充：{text}"
STAFF_ALSO_REPORTED = "**工单 #{number}** {urgent}又有一位居民报告了同一件事：{text}\n（这位居民已一起跟进 #{number}，无需另外登记）"
STAFF_RECATEGORISED = "工单 #{number} 的类别已改为{category}（原为{before}），已记为一次识别纠正。"
STAFF_SAME_CATEGORY = "工单 #{number} 的类别已经是{category}，无需修改。"
STAFF_UNKNOWN_CATEGORY = "没有“{given}”这个类别。可选：{names}。例如：改类 #{number} 电梯"
STAFF_WITHDRAWN = "工单 #{number} 已撤销（不是报修），不计入超时、办结和满意度；已答复居民，并记为一次识别纠正。"
STAFF_PHOTOS = "工单 #{number} 的照片（链接{days}天内有效，过期后再发“照片 #{number}”）：\n{links}"
STAFF_PHOTOS_NONE = "工单 #{number} 没有保存下来的照片。"
STAFF_PHOTOS_NO_ADDRESS = "工单 #{number} 有{count}张照片，但服务器没有配置对外地址（[server] public_url），无法生成链接，请联系管理员。"
