"""What the workbench's admin pages (名册, 设置) say: labels, notices and import problems."""

from __future__ import annotations

import re
from collections.abc import Mapping

SECTION_LABELS: Mapping[str, str] = {
    "regions": "区域",
    "stations": "联络站",
    "deputies": "代表",
    "leaves": "请假",
    "staff": "工作人员",
    "departments": "部门",
    "scenes": "二维码场景",
    "places": "地点",
    "calendar": "日历",
}
FIELD_LABELS: Mapping[str, str] = {
    "name": "姓名/名称",
    "dingtalk_user_id": "钉钉ID",
    "wecom_user_id": "企业微信ID",
    "level": "层级",
    "phone": "手机号",
    "stations": "联络站",
    "duty": "值班",
    "active": "在任",
    "region": "所属区域",
    "parent": "上级区域",
    "station": "联络站",
    "address": "地址",
    "deputy": "代表",
    "from": "开始",
    "to": "结束",
    "substitute": "代理代表",
    "aliases": "别名",
    "sla": "办理时限",
}
IMPORT_ACTIONS: Mapping[str, str] = {"create": "新增", "update": "修改", "unchanged": "不变"}
LEVEL_LABELS: Mapping[str, str] = {"city": "市级", "county": "县级", "township": "乡镇级"}
WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

ADMIN_NO_FILE = "请选择要上传的文件。"
ADMIN_ROSTER_TYPE = "请上传 .xlsx、.csv 或 .yaml 格式的名册文件（与命令行导入相同）。"
ADMIN_CALENDAR_TYPE = "请上传 .yaml 格式的日历文件（格式见 docs/calendar.md）。"
ADMIN_PREVIEW_EXPIRED = "该预览已失效（已导入、已取消或超过30分钟），请重新上传文件。"
ADMIN_LEAVE_DATES = "请填写正确的请假开始和结束日期（YYYY-MM-DD）。"
ADMIN_NOTHING_CHANGED = "文件与现有数据一致，确认导入也不会有任何改动。"


def admin_too_big(limit_kb: int) -> str:
    """The upload was larger than the limit."""
    return f"文件过大，请上传不超过 {limit_kb} KB 的文件。"


def admin_unreadable(detail: str) -> str:
    """The file could not be read at all (not a workbook, wrong encoding ...)."""
    return f"文件无法读取，未导入任何内容：{explain_problem(detail)}。请检查文件后重新上传。"


def admin_refused(count: int) -> str:
    """Summary above the table of a refused file's problems."""
    return f"文件中有 {count} 处问题，未导入任何内容，数据库没有改动。请按下表逐行修改后重新上传。"


def admin_imported(created: int, updated: int, unchanged: int) -> str:
    """Confirmation after a directory import was written."""
    return f"导入完成：新增 {created} 条，修改 {updated} 条，{unchanged} 条不变。已记入审计。"


def admin_calendar_imported(years: str) -> str:
    """Confirmation after a calendar import was written."""
    return f"日历已导入：{years}。已记入审计。"


def admin_leave_saved(name: str) -> str:
    """Confirmation of a leave set on the deputy page."""
    return f"已更新{name}代表的请假安排，派单将按新的安排执行。已记入审计。"


# The validators (storage.directory, storage.calendar) speak English for the CLI; the page
# shows the original next to one of these Chinese explanations when a pattern is known.
_EXPLAINED: tuple[tuple[str, str], ...] = (
    (r"is already used by", "与已登记的人员重复（同一钉钉ID或手机号只能属于一人）"),
    (r"is also used by", "与文件中另一行重复"),
    (r"duplicate: ", "此人已在名册中（钉钉ID或手机号相同），请使用原编号或留空编号"),
    (r"\bduplicate ", "文件中重复出现"),
    (r"\bambiguous", "与多名已登记代表相符，请填写编号"),
    (r"unknown station", "联络站不存在，请填写正确的联络站编号或名称"),
    (r"not one of this deputy's stations", "值班站点不是该代表所属的联络站"),
    (r"must not be empty", "该项不能为空"),
    (r"needs ", "新增时缺少必填项"),
    (r": required", "缺少必填项"),
    (r"no header row", "找不到表头：表格需要“姓名”或“编号”列"),
    (r"not a readable \.xlsx", "不是有效的 Excel（.xlsx）文件"),
    (r"neither UTF-8 nor GBK", "CSV 编码无法识别，请另存为 UTF-8 或 GBK"),
    (r"not valid YAML", "YAML 格式有误"),
    (r"no `calendar:` section", "文件中没有 calendar: 部分"),
    (r"ends before it starts", "结束日期早于开始日期"),
    (r"cannot substitute for themselves", "代理代表不能是本人"),
    (r"overlaps the (stored )?leave", "与该代表已有的请假时间重叠"),
    (r"unknown (key|column)", "有无法识别的列或键"),
    (r"unknown deputy", "代表不存在"),
    (r"is already stored with the", "该日期已属于另一年份的安排，请同时重新导入该年份"),
)


def explain_problem(reason: str) -> str:
    """A Chinese explanation of a validator's problem, or a general hint."""
    for pattern, chinese in _EXPLAINED:
        if re.search(pattern, reason):
            return chinese
    return "请按原文提示检查该行"
