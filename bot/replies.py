"""Every sentence a resident reads, in one place."""
from __future__ import annotations

CATEGORY_NAMES: dict[str, str] = {
    "elevator": "电梯", "fire_safety": "消防安全", "security": "治安门禁",
    "sanitation": "环境卫生", "greenery": "绿化", "lighting": "照明",
    "water": "水电管道", "facilities": "公共设施", "parking": "停车",
    "noise": "噪音扰民", "illegal_construction": "违章搭建",
    "property_service": "物业服务", "neighbor_dispute": "邻里纠纷",
    "assistance": "困难求助", "other": "其他",
}

def category_name(category: str | None) -> str:
    """Say a category in Chinese; a missing one is 其他."""
    return CATEGORY_NAMES.get(category or "other", CATEGORY_NAMES["other"])


STATE_NAMES: dict[str, str] = {
    "open": "待受理", "claimed": "处理中", "reopened": "重新处理中",
    "resolved": "已处理，待您评价", "closed": "已办结", "rejected": "已退回",
    "merged": "已合并",
}

WELCOME = (
    "欢迎来到邻里通！我是小区的办事助手，可以帮您：\n"
    "1. 报事报修：直接说问题和位置，如“3栋电梯坏了”\n"
    "2. 查进度：发“查询”或“查一下#12”\n"
    "3. 绑定房屋：发“绑定 5栋2单元1203 手机后四位”\n"
    "4. 提建议：如“建议在花园加几张椅子”\n"
    "5. 问市集：如“这个月市集几号”；发“订阅”可在市集前收到提醒和社区通知\n"
    "发“帮助”可随时查看。"
)
HELP = WELCOME.replace("欢迎来到邻里通！", "")
GREETING = "您好！有问题或建议直接发给我就行，比如“3栋电梯坏了”。发“帮助”看看我能做什么。"
THANKS = "不客气！有事随时找我。"
UNKNOWN = "抱歉，这个我还帮不上忙。如果是小区里的问题，请说清是什么问题、在哪里，比如“5栋2单元楼道灯不亮”。发“帮助”看看我能做什么。"
SORRY = "抱歉，系统刚才出了点问题，您的消息已收到，请稍后再发一次。"
TOO_LONG = "消息太长了（超过{limit}字），请分成几条简短说明问题和位置。"
EMPTY_TEXT = "没有收到文字内容，请直接描述问题和位置。"
VOICE_UNRECOGNISED = "没听清这段语音，请用文字再说一遍，或重新录一段。"
UNSUPPORTED = "暂时只能处理文字、语音、图片和位置消息。请用文字描述问题和位置。"

TICKET_OPENED = "已为您登记工单 #{number}（{category}，{place}）。{next_step}回复“查询”可随时查看进展。"
SUGGESTION_OPENED = "谢谢您的建议！已登记为 #{number}，会转给物业和业委会研究，处理结果会公示。回复“查询”可随时查看进展。"
NEXT_STEP_URGENT = "这是紧急情况，已同时通知网格员和物业值班人员，会在{response}内响应。如有人员受伤或起火，请立即拨打119/120。"
NEXT_STEP_NORMAL = "已转给所在网格员和物业，会在{response}内响应，{resolve}内处理完。"
ASK_PLACE = "收到：{category}问题。请问具体在哪里？比如“3栋2单元”或“地下车库B区”。也可以发送位置。（10分钟内回复有效）"
PLACE_EXPIRED = "刚才的报修等待位置超过10分钟，已作废。请重新描述问题和位置。"
REPORT_CANCELLED = "好的，刚才那条报修已取消。"

PHOTO_ATTACHED = "照片已补充到工单 #{number}，处理人员会看到。"
PHOTO_ASK = "收到照片。请用一句话说明照片里是什么问题、在哪里，我来登记。"
PHOTO_KEPT = "照片收到了。请先回复“是”一起跟进已有的工单，或回复“不是”另外登记，照片会一并附上。"
LOCATION_NO_REPORT = "收到您的位置。请再用文字说明是什么问题，我来登记。"

NO_TICKETS = "您还没有报过问题。直接告诉我问题和位置就能登记，比如“3栋电梯坏了”。"
TICKET_LIST_HEAD = "您最近的工单："
TICKET_LINE = "#{number} {category}｜{place}｜{state}｜{date}"
TICKET_NOT_FOUND = "没有找到您的工单 #{number}，请核对编号。发“查询”可看您的全部工单。"
TICKET_DETAIL = "工单 #{number}（{category}，{place}）：{state}。\n登记于 {created}，最近更新 {updated}。"

BIND_NEED_HOME = "请发送完整房号来绑定，例如：绑定 5栋2单元1203 6789（6789为登记手机号后四位）。租户请发：绑定 5栋2单元1203 租户"
BIND_NO_SUCH_HOME = "没有找到 {home}，请核对楼栋、单元和房号后再试。"
BIND_VERIFIED = "绑定成功：您已认证为 {home} 的业主。"
BIND_PENDING_OWNER = "已提交绑定 {home}（业主），等待物业核实，核实后会通知您。"
BIND_WRONG_DIGITS = "手机号后四位与登记信息不符。已提交绑定 {home}，等待物业人工核实。"
BIND_PENDING_TENANT = "已提交绑定 {home}（租户），等待物业核实。租户可以报事、参与意见征集。"
BIND_ALREADY = "您已绑定 {home}，无需重复绑定。"

SUBSCRIBED = "已订阅市集和社区通知，活动前会提醒您。发“退订”可随时取消。"
UNSUBSCRIBED = "已退订，不再给您推送提醒和通知。工单进展仍会告诉您。发“订阅”可重新开启。"
RATE_NO_TICKET = "谢谢反馈！您目前没有待评价的工单。"

CANCEL_WORDS = ("取消", "算了", "不报了", "不用了")
THANKS_MARKERS = ("谢",)
UNITS = ((86400, "天"), (3600, "小时"), (60, "分钟"), (1, "秒"))


def duration(seconds: int) -> str:
    """Say a duration the way people do: 30分钟, 24小时, 3天."""
    for size, name in UNITS:
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{name}"
    return f"{seconds}秒"

TENANT_MARKERS = ("租户", "租客", "租的", "租房")

# ---- staff side ----------------------------------------------------------
LEVEL_NAMES = {"grid": "网格", "property": "物业", "estate": "小区", "community": "社区",
               "street": "街道"}
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
                "me_too": "同一问题跟进"}
ACTORS = {"system": "系统", "resident": "居民"}
NOT_STAFF = "您不是登记的工作人员，不能操作工单。如需登记，请联系物业管理员。"
STAFF_HELP_HEAD = "可用指令："  # then each command's usage (bot/commands.py)
STAFF_NO_TICKET = "没有找到工单 #{number}，请核对编号。"
STAFF_BAD_STATE = "工单 #{number} 当前状态是「{state}」，不能{action}。"
STAFF_NEED_TEXT = "请写上{what}，例如：{example}"
STAFF_TAKEN = "工单 #{number} 已由{name}接单。"
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

# ---- what residents hear about their tickets -----------------------------
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
RATE_WORDS = (("基本满意", 3), ("不满意", 1), ("满意", 5))  # longest first: 不满意 contains 满意
DISSATISFIED = ("不满意", "没修好", "没有修好", "没解决", "没有解决", "又坏", "还是坏", "还没好",
                "没弄好", "差评")
ADD_WORDS = ("补充", "回复")  # a resident answering a staff reply with 回复 #N adds to it
# a whole answer to the look back's "现在还好吗？" that means it is not
LOOK_BACK_NO = ("没有", "没好", "不好", "还没好", "没有好", "不行", "没修好")
SUGGESTION_CATEGORY = "建议"

# ---- follow-through: deadlines, escalation, look-back, digest ------------
OVERDUE_RESPONSE = "超时未受理"
OVERDUE_RESOLVE = "超时未办结"
STAFF_WARNING = "提醒：工单 #{number}（{category}，{place}）将于{due}到期，请抓紧处理；办完请回复“完成 #{number}”。"
STREET_REMINDER = "**工单 #{number} 仍未办结**（已到街道一级，每日提醒）\n{card}"
RESIDENT_CLIMBED = "您的工单 #{number} {reason}，已按规定提交{level}一级督办。"
LOOK_BACK = ("回头看：您反映的 #{number}（{category}，{place}）处理完已经{days}天了，现在还好吗？"
             "一切正常请回复“好了”；如果又坏了，请回复“又坏了”，我们会重新处理。")
LOOK_BACK_YES = ("好了", "好的", "挺好", "挺好的", "还好", "很好", "没问题", "正常", "一切正常", "好着呢",
                 "现在好了", "没坏", "没有坏", "没再坏", "可以", "不错")
LOOK_BACK_OK = "谢谢您的回复！有问题随时找我。"
DIGEST_HEAD = "**每日工单简报**（{date}）\n> 新增：{new}\n> 未办结：{open}\n> 超时：{overdue}\n> 昨日办结：{resolved}"
DIGEST_OVERDUE_HEAD = "超时工单（最久的在前）："
DIGEST_LINE = "- #{number} {category}｜{place}｜{level}｜超时{late}"
DUPLICATE_OFFER = ("已有同类问题 #{number}（{category}，{place}）正在处理。回复“是”一起跟进，处理进展都会通知您；"
                   "如果不是同一件事，回复“不是”，我另外登记。")
DUPLICATE_FOLLOWED = "好的，您已一起跟进 #{number}，处理进展会通知您。"
YES_WORDS = ("是", "是的", "对", "对的", "嗯", "好", "好的", "跟进", "一起跟进", "要得", "可以")
NO_WORDS = ("不是", "不对", "不是一回事", "另外登记", "单独登记", "不一样")


def duration_rough(late: object) -> str:
    """Say roughly how long: 2天, 5小时, 40分钟."""
    seconds = int(late.total_seconds())  # type: ignore[attr-defined]
    for size, name in UNITS[:3]:
        if seconds >= size:
            return f"{seconds // size}{name}"
    return "不到1分钟"

# ---- votes and binding ----------------------------------------------------
ROLE_NAMES = {"owner": "业主", "tenant": "租户"}
BIND_TRIES_LEFT = "（再错{left}次，该房屋的手机号验证将锁定24小时）"
BIND_LOCKED = ("{home} 的手机号后四位已连续输错多次，为保护业主信息，验证已锁定到 {until}。"
               "如确是本人，请联系物业人工核实。")
BIND_NOT_STAFF = "只有登记的工作人员才能确认或拒绝绑定。绑定自己的房屋请发：绑定 5栋2单元1203 手机后四位"
BIND_REQUEST = ("**绑定申请** {home}（{role}）申请编号 {number}\n"
                "回复“确认绑定 {home} #{number}”通过，或“拒绝绑定 {home} #{number} 原因”")
BIND_CONFIRMED = "您绑定 {home}（{role}）的申请已核实通过。"
BIND_REFUSED = "您绑定 {home} 的申请未通过核实{reason}。如有疑问请联系物业。"
STAFF_BIND_HELP = "请写明房号，例如：确认绑定 5栋2单元1203，或：拒绝绑定 5栋2单元1203 原因"
STAFF_BIND_NONE = "{home} 没有待核实的绑定申请。"
STAFF_BIND_WHICH = "{home} 有多个待核实的申请（编号 {numbers}），请写明编号，例如：确认绑定 {home} #{first}"
STAFF_BIND_CONFIRMED = "已确认 {home} 的绑定（{role}，申请编号 {number}），已通知居民。"
STAFF_BIND_REFUSED = "已拒绝 {home} 的绑定（申请编号 {number}），已通知居民。"

KIND_NAMES = {"consultation": "意见征集", "owners_ordinary": "业主共同决定·一般事项",
              "owners_major": "业主共同决定·重大事项"}
CHOICE_NAMES = {"agree": "同意", "oppose": "反对", "abstain": "弃权"}
VOTE_STATES = {"scheduled": "未开始", "open": "进行中", "closed": "已截止"}
VOTE_EXAMPLE_PLAIN = "投票 #{number} 同意（或 反对、弃权）"
VOTE_EXAMPLE_CANDIDATES = "投票 #{number} 选1（或 弃权）"
VOTE_OPTION_LINE = "{n}. {label}"
VOTE_OPENED = "【{kind}】#{number} {title}\n{options}\n截止：{closes}\n请回复：{example}。截止前可以改投，以最后一次为准。"
VOTE_REMINDER = "提醒：#{number} {title} 将于 {closes} 截止，您家还没有投票。请回复：{example}"
VOTE_RESULT = "#{number} {title} 已截止。\n{summary}"
VOTE_TURNOUT = "参与：面积 {area_share}（{voted_area}/{eligible_area} m²），人数 {head_share}（{voted_heads}/{eligible_heads}）"
VOTE_QUORUM_MET = "达到法定参与比例（面积和人数均不少于2/3）"
VOTE_QUORUM_MISSED = "未达到法定参与比例（面积和人数均须不少于2/3）"
VOTE_TALLY_LINE = "{label}：{heads}户/人，{area} m²（人数占参与的 {head_share}，面积占 {area_share}）"
VOTE_OUTCOME = "结果：{outcome}"
VOTE_PASSED = "通过"
VOTE_FAILED = "未通过"
VOTE_INVALID = "参与不足，表决不成立"
VOTE_ELECTED = "通过：{labels}"
VOTE_NO_WINNER = "没有选项获得通过"
VOTE_PLURALITY = "得票最多：{label}"
VOTE_TIE = "没有唯一得票最多的选项"
VOTE_REVOKE = "业主认为决定侵害其合法权益的，可在 {date} 前请求人民法院撤销（民法典第二百八十条）。"
VOTE_COVERS = "这一票代表您名下 {count} 套房屋（合计 {area} m²），计为一人。"
VOTE_COVERS_DEVELOPER = "这一票代表开发商全部未售房屋（{count} 套，合计 {area} m²），计为一人。"
VOTE_RECORDED = "已记录：#{number} {title}，您家选择「{choice}」。{covers}{closes} 截止前可以改投。"
VOTE_CHANGED = "已改投：#{number} {title}，您家的选择由「{previous}」改为「{choice}」，以最后一次为准。{covers}"
VOTE_SAME = "#{number} 您家已经选了「{choice}」，无需重复投票。"
VOTE_NONE_OPEN = "目前没有正在进行的投票。发“最近有什么表决”可查看结果。"
VOTE_WHICH = "现在有 {count} 个投票在进行，请写明编号，例如“{example}”：\n{lines}"
VOTE_UNKNOWN = "没有找到投票 #{number}，请核对编号。发“最近有什么表决”可查看。"
VOTE_NOT_OPEN = "投票 #{number} 还没开始，{opens} 开始。"
VOTE_CLOSED = "投票 #{number} 已于 {closes} 截止，不能再投或改投了。"
VOTE_NEED_CHOICE = "请说明您的选择，例如：{example}\n{options}"
VOTE_BAD_CHOICE = "#{number} 没有这个选项。可选：\n{options}\n例如：{example}"
VOTE_TENANT = "#{number} 是业主共同决定的事项，依法由业主表决，租户不能参加。租户可以参加意见征集。"
VOTE_BIND_FIRST = "投票前请先绑定房屋：发“绑定 5栋2单元1203 手机后四位”。"
VOTE_VERIFY_FIRST = ("#{number} 是业主共同决定的事项，只有认证的业主可以投票。您的绑定还在等待核实；"
                     "发“绑定 房号 登记手机号后四位”可立即认证。")
VOTE_LIST_OPEN = "正在进行的投票："
VOTE_LIST_LINE = "#{number} {title}（{kind}）截止 {closes}{mine}"
VOTE_LIST_MINE = "｜您家已选「{choice}」"
VOTE_LIST_RECENT = "最近的结果："
VOTE_LIST_RESULT = "#{number} {title}：{outcome}"
VOTE_LIST_EMPTY = "目前没有投票。"
VOTE_LIST_HINT = "发“第N项表决结果”看详情。"
VOTE_DETAIL = "#{number} {title}（{kind}）\n状态：{state}，{opens} 至 {closes}\n{summary}{mine}"
VOTE_DETAIL_MINE = "\n您家的选择：「{choice}」"
STAFF_CONSULT_HELP = ("发起意见征集请写：发起征集 标题 截止 YYYY-MM-DD HH:MM [选项甲,选项乙]，"
                      "例如：发起征集 中心花园改造方案 截止 2026-12-10 18:00 方案一,方案二")
STAFF_CONSULT_PAST = "截止时间 {closes} 已经过了，请写一个将来的时间。"
STAFF_CONSULT_OPTIONS = "选项至少要两个且不能重复；不写选项就是 同意/反对/弃权。"
STAFF_CONSULT_OPENED = "已发起意见征集 #{number}：{title}，{closes} 截止，已通知住户和住户群。"


# ---- market and notices
WEEKDAYS = "一二三四五六日"
MARKET_NEXT = ("下一次便民市集：{date}（周{weekday}）{hours}，地点：{place}。\n"
               "服务项目：{services}。{subscribe}")
MARKET_SUBSCRIBE_HINT = "发“订阅”可在市集前一晚和当天早上收到提醒。"
MARKET_NONE = "近期没有安排便民市集，有新安排会通知大家。"
MARKET_OFFERED = "有的，{date}（周{weekday}）{hours}的市集上有{service}，地点：{place}。"
MARKET_NOT_OFFERED = ("这次市集暂时没有{service}。{date}的市集有：{services}。"
                      "如有需要可以发“建议 …”告诉我们。")
MARKET_SERVICE_LIST_SEP = "、"
# words a resident may use for a service -> the service's name in [market].services
MARKET_SERVICE_WORDS = {
    "家电维修": ("家电", "电器", "空调", "冰箱", "洗衣机", "电视", "热水器", "油烟机", "维修", "修理"),
    "法律咨询": ("法律", "律师", "打官司", "纠纷咨询"),
    "磨刀配钥匙": ("磨刀", "钥匙", "剪刀"),
    "义诊": ("义诊", "看病", "医生", "血压", "血糖", "体检"),
}
MARKET_ASKED_SERVICE = r"(?:有没有|有无|能不能|可以|有)([^，。？?！!吗呢的]{2,8}?)(?:的)?(?:吗|呢|没有|不|？|\?|$)"
MARKET_NOT_A_SERVICE = ("市集", "集市", "没", "活动", "几号", "时间", "地方", "哪里", "什么")
MARKET_REMINDER_EVENING = ("【市集提醒】明天（{date}，周{weekday}）{hours}在{place}有便民市集，"
                           "服务项目：{services}。发“退订”可不再接收提醒。")
MARKET_REMINDER_MORNING = ("【市集提醒】今天{hours}在{place}有便民市集，"
                           "服务项目：{services}。发“退订”可不再接收提醒。")
MARKET_REMINDER_ADVANCE = ("【市集预告】下一次便民市集：{date}（周{weekday}）{hours}，地点：{place}，"
                           "服务项目：{services}。发“退订”可不再接收提醒。")
NOTICE = "【社区通知】{text}"
STAFF_NOTICE_HELP = "发全体通知请写：通知 全体 通知内容，例如：通知 全体 周六上午9点停水检修"
STAFF_NOTICE_SENT = "通知已排队发送：{residents}位订阅居民，{groups}个群。"
NOTICE_AUDIENCE_ALL = "全体"


# ---- the chat simulator (/sim): what its page and API say
SIM_OFF = "聊天模拟器未开启。管理员可在配置文件中写入 [sim] enabled = true 后重启服务。"
SIM_BAD_IDENTITY = "请先在左侧选择一位居民或工作人员。"
SIM_EMPTY = "请输入要发送的文字。"
SIM_UNSTORABLE = "消息里有无法保存的字符，请删掉后再发。"
SIM_BAD_REQUEST = "请求格式不对，请刷新页面后重试。"
SIM_NOT_JSON = "只接受 JSON 格式的请求（Content-Type: application/json）。"
SIM_CROSS_SITE = "只接受本站页面发出的请求。"


# ---- the public board (清单化公示) and Open311 -------------------------------
ACTION_NAMES["published"] = "公示原话"
ACTION_NAMES["unpublished"] = "撤回公示"
STAFF_PUBLISHED = "工单 #{number} 的居民原话已公示（电话、房号和登记过的姓名已隐去）：{text}\n如需撤回，请发“撤回公示 #{number}”。"
STAFF_UNPUBLISHED = "工单 #{number} 的居民原话已从公示清单撤下。"
STAFF_PUBLISH_SAME = "工单 #{number} 的居民原话{state}，无需重复操作。"
PUBLISH_STATES = {True: "已经公示", False: "本来就没有公示"}
# on the board, resolved tickets wait for the resident's rating: no "您" on a public page
BOARD_STATE_NAMES = STATE_NAMES | {"resolved": "已处理，待评价"}
BOARD_OVERDUE = "已超时"
BOARD_SUGGESTION = "suggestion"  # the board's category code for suggestions (建议)
# what stands in for personal details in published words
SCRUB_MASKS = {"phone": "[电话已隐去]", "room": "[房号已隐去]", "email": "[邮箱已隐去]",
               "name": "[姓名已隐去]"}
BOARD_BAD = {
    "state": "没有“{value}”这种状态，请从“状态”下拉框里选择。",
    "category": "没有“{value}”这个类别，请从“类别”下拉框里选择。",
    "building": "本小区没有“{value}”栋，请从“楼栋”下拉框里选择。",
    "month": "月份“{value}”写得不对，请写成 2026-11 这样的年-月。",
    "size": "每页条数“{value}”不对，请写 1 到 {limit} 之间的整数。",
    "after": "翻页位置“{value}”不对，请回到第一页重新翻页。",
    "before": "翻页位置“{value}”不对，请回到第一页重新翻页。",
    "both": "不能同时向前和向后翻页，请回到第一页重新翻页。",
    "unknown": "不认识参数“{value}”，可用的筛选是 state、category、building、month。",
}

# Open311 GeoReport v2: our categories as services, our levels as agencies
OPEN311_GROUPS = {"设施设备": ("elevator", "lighting", "water", "facilities"),
                  "安全": ("fire_safety", "security"),
                  "环境秩序": ("sanitation", "greenery", "parking", "noise", "illegal_construction"),
                  "物业与邻里": ("property_service", "neighbor_dispute", "assistance", "other"),
                  "建议": ("suggestion",)}
OPEN311_KEYWORDS = {
    "elevator": "电梯,困人,异响", "fire_safety": "消防通道,灭火器,飞线充电",
    "security": "门禁,监控,高空抛物,陌生人", "sanitation": "垃圾,卫生,异味",
    "greenery": "绿化,毁绿种菜", "lighting": "路灯,楼道灯", "water": "积水,漏水,停水,管道",
    "facilities": "健身器材,座椅,墙砖脱落,门窗,游乐设施", "parking": "停车,车库,充电桩,占道",
    "noise": "噪音,装修扰民", "illegal_construction": "违建,私搭乱建",
    "property_service": "物业态度,收费", "neighbor_dispute": "邻里纠纷,宠物",
    "assistance": "独居老人,行动不便,求助", "other": "其他", "suggestion": "建议,意见",
}
OPEN311_DESCRIPTION = "小区{name}问题：{keywords}等。"
OPEN311_SUGGESTION = "对小区管理和设施的建议。"
OPEN311_AGENCIES = {"grid": "{estate}网格员", "property": "{estate}物业服务中心",
                    "estate": "{estate}党支部和业委会", "community": "{community}居委会",
                    "street": "{street}办事处"}
OPEN311_NOTICE_URGENT = "紧急问题：{response}内响应，{resolve}内处理完。"
OPEN311_NOTICE_NORMAL = "{response}内响应，{resolve}内处理完。"
OPEN311_NOTES = "{state}（{level}一级处理）"
OPEN311_NOTES_MERGED = "已合并到 #{number} 一并处理"
OPEN311_ERRORS = {
    "api_key": "api_key 缺失或不正确。",
    "api_key_in_query": "api_key 不能放在网址里（网址会写进访问日志），请放在表单正文或 X-Api-Key 请求头中。",
    "disabled": "本站未开放 Open311 提交（未配置 [open311] api_key）。",
    "service_code": "service_code 缺失或不是本站的服务类别，请先查看 services.json。",
    "location": "请提供位置：address_string（如“3栋2单元”），或 lat 和 long。",
    "description": "请提供 description，说明是什么问题（不超过{limit}字）。",
    "too_long": "{field} 太长了（不超过{limit}字）。",
    "bad_number": "{field} 必须是数字。",
    "date": "{field} 不是 ISO 8601 时间（如 2026-11-28T10:00:00+08:00）。",
    "range": "end_date 不能早于 start_date，时间范围也不能超过90天。",
    "status": "status 只能是 open 或 closed（可用逗号分隔）。",
    "request_id": "service_request_id 必须是用逗号分隔的工单编号，最多{limit}个。",
    "not_found": "没有编号为 {value} 的工单。",
    "format": "本站只提供 JSON 格式，请把地址末尾的 .{format} 换成 .json。",
}


# ---- personal information (PIPL): seeing and erasing what the bot holds -------
# Matched against the message with spaces and punctuation removed.
PRIVACY_VIEW_PATTERN = (r"(?:请|麻烦)?(?:帮我)?(?:查看|查询|查一下|看看|看一下|显示)?我的(?:个人)?(?:信息|资料|数据)"
                        r"|(?:你们|邻里通|系统)(?:都)?(?:存|保存|记录|收集|掌握)?(?:了|着)?"
                        r"(?:我|我的)(?:哪些|什么|多少)(?:个人)?(?:信息|资料|数据)(?:吗|呢)?")
PRIVACY_ERASE_PATTERN = (r"(?:请|麻烦)?(?:帮我)?(?:删除|删掉|清除|清空|抹掉)(?:我的)?(?:全部|所有)?(?:个人)?"
                         r"(?:信息|资料|数据)|注销(?:我的)?(?:账号|账户|帐号|帐户)?")
PRIVACY_CONFIRM_WORDS = ("确认删除", "确定删除", "确认注销", "确定注销")
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
                   "- 开始使用：{since}\n"
                   "您的手机号和门牌号只给负责处理的工作人员看，不会发到居民群或公示清单。"
                   "如需删除，请发“删除我的信息”。")
PRIVACY_WITHDRAWS = "您在还没结束的表决{votes}里投的票会被撤回，不再计入结果（截止前可以重新绑定后再投）。\n"
PRIVACY_ERASE_ASK = ("确定要删除您在邻里通的个人信息吗？\n"
                     "将删除：房屋绑定、提醒订阅、聊天内容、还没发出的消息，以后也不再向您推送工单进展。\n"
                     "{withdraw}"
                     "将保留（去掉您的身份、手机号和门牌号）：您报过的工单，以及已结束表决的选票，"
                     "这是小区公示和表决结果依法需要的。\n"
                     "确定请在10分钟内回复“确认删除”；不删请回复“取消”。")
PRIVACY_ERASE_CANCELLED = "好的，已取消，您的信息保持不变。"
PRIVACY_NOTHING_TO_CONFIRM = "现在没有等待确认的删除。如需删除您的信息，请先发“删除我的信息”。"
PRIVACY_ERASED = ("已删除您的个人信息。保留的{tickets}件工单和{ballots}张已结束表决的选票已匿名处理，"
                  "撤回了{withdrawn}张进行中表决的选票。\n"
                  "以后再给我发消息，就当是第一次使用；需要时可以重新绑定房屋。")


# ---- faults
RATE_LIMITED = "您发消息太快了，请稍等一分钟再发。这段时间里发来的新消息暂时不会处理。"
