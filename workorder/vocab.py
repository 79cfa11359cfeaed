"""The work-order vocabularies: statuses, request types, urgencies, dispositions, roles (plain data)."""

from __future__ import annotations

__all__ = [
    "STATUSES",
    "OPEN_STATUSES",
    "FINAL_STATUSES",
    "REQUEST_TYPES",
    "URGENCIES",
    "CHANNELS",
    "DISPOSITIONS",
    "EMERGENCY_LINES",
    "SATISFACTION",
    "DISSATISFIED",
    "PEOPLE",
    "SYSTEM",
    "CITIZEN",
    "SUB_STATUSES",
    "SUB_OPEN",
    "DESIGNATION_REASONS",
]

STATUSES: dict[str, str] = {
    "draft": "草稿",
    "accepted": "已受理",
    "rejected": "不予受理",
    "merged": "已并单",
    "dispatched": "已派单待签收",
    "handling": "办理中",
    "return_review": "退单审核中",
    "replied": "已答复待审核",
    "callback": "待回访",
    "evaluation": "待评价",
    "closed": "已办结",
    "appeal_review": "申诉审核中",
    "archived": "已归档",
}
OPEN_STATUSES = frozenset(
    {"draft", "accepted", "dispatched", "handling", "return_review", "replied", "callback", "evaluation"}
)
FINAL_STATUSES = frozenset({"rejected", "merged", "closed", "archived", "appeal_review"})

REQUEST_TYPES: dict[str, str] = {
    "consult": "咨询",
    "help": "求助",
    "complaint": "投诉",
    "report": "举报",
    "suggestion": "意见建议",
    "praise": "表扬",
}
URGENCIES: dict[str, str] = {"normal": "一般", "urgent": "紧急", "critical": "特急"}
CHANNELS = ("phone", "web", "wechat", "app", "letter")

# 不予受理 disposition codes (Handan plan 二(二)2, Shanxi plan 三(一))
DISPOSITIONS: dict[str, str] = {
    "litigation": "须通过诉讼程序解决",
    "arbitration": "须通过仲裁程序解决",
    "discipline": "须通过纪检监察程序解决",
    "admin_review": "须通过行政复议程序解决",
    "info_disclosure": "须通过政府信息公开程序解决",
    "petition": "已进入信访渠道",
    "state_secret": "涉及国家秘密",
    "trade_secret": "涉及商业秘密",
    "privacy": "涉及个人隐私",
    "public_order": "违反社会公序良俗",
    "out_of_scope": "不在受理范围（涉军、中央垂直管理等）",
    "emergency": "紧急事项，转110/119/120/122",
    "unreasonable_repeat": "无理重复诉求",
}
EMERGENCY_LINES = ("110", "119", "120", "122")

# 5-level satisfaction; 1 is best
SATISFACTION: dict[int, str] = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
DISSATISFIED = frozenset({4, 5})

PEOPLE = frozenset({"agent", "dispatcher", "department", "supervisor", "admin"})
SYSTEM = "system"  # the background job
CITIZEN = "citizen"  # a citizen on the web channel (web/pages_citizen.py): rates their own order


# 县级承办: the status of a county's dispatch on to one of its departments (县→县直部门)
SUB_STATUSES: dict[str, str] = {
    "dispatched": "已转县直部门待签收",
    "handling": "县直部门办理中",
    "return_review": "县直部门退回待县级审核",
    "replied": "县直部门已答复待县级审核",
    "done": "县直部门已办结",
}
SUB_OPEN = frozenset({"dispatched", "handling", "return_review", "replied"})

# 首接负责制: why the center designates a lead unit (主办单位) that takes over from the first signer
DESIGNATION_REASONS: dict[str, str] = {
    "jurisdiction": "经核实属该单位职责",
    "joint_meeting": "联席会议决定",
    "first_unit_request": "首接单位申请，中心审核同意",
    "assigned_by_leadership": "领导交办",
}
