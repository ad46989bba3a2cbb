"""Binding a home: for the resident, and for the staff who confirm or refuse."""
from __future__ import annotations

BIND_NEED_HOME = "请发送完整房号来绑定，例如：绑定 5栋2单元1203 6789（6789为登记手机号后四位）。租户请发：绑定 5栋2单元1203 租户"
BIND_NO_SUCH_HOME = "没有找到 {home}，请核对楼栋、单元和房号后再试。"
BIND_VERIFIED = "绑定成功：您已认证为 {home} 的业主。"
BIND_PENDING_OWNER = "已提交绑定 {home}（业主），等待物业核实，核实后会通知您。"
BIND_WRONG_DIGITS = "手机号后四位与登记信息不符。已提交绑定 {home}，等待物业人工核实。"
BIND_PENDING_TENANT = "已提交绑定 {home}（租户），等待物业核实。租户可以报事、参与意见征集。"
BIND_ALREADY = "您已绑定 {home}，无需重复绑定。"
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
