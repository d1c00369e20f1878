"""The ticket fields an import fills, the names users give them, and how statuses map onto butterfly's four.

A *field* is what ``--map field=column`` names (``id``, ``customer``, ``created`` …); each is stored in one
column of the ``ticket`` table.
"""

from __future__ import annotations

import re

# user-facing field name -> ticket column (order = the order of values in a prepared row)
FIELD_COLUMNS: dict[str, str] = {
    "id": "external_id",
    "customer": "customer",
    "organization": "organization",
    "subject": "subject",
    "description": "description",
    "category": "category",
    "subcategory": "subcategory",
    "tags": "tags",
    "status": "status",
    "priority": "priority",
    "channel": "channel",
    "group": "group_name",
    "assignee": "assignee",
    "problem_id": "problem_id",
    "created": "created_at",
    "first_response": "first_response_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
    "updated": "updated_at",
    # named fields some helpdesks have (Freshdesk/Zendesk requester, Jira project or GitHub repository, Jira
    # resolution, Zendesk satisfaction, ServiceNow counts and made_sla)
    "requester": "requester",
    "project": "project",
    "resolution": "resolution",
    "satisfaction": "satisfaction",
    "reopen_count": "reopen_count",
    "reassignment_count": "reassignment_count",
    "made_sla": "made_sla",
}
FIELDS: tuple[str, ...] = tuple(FIELD_COLUMNS)
DATE_FIELDS: frozenset[str] = frozenset({"created", "first_response", "resolved", "closed", "updated"})
INT_FIELDS: frozenset[str] = frozenset({"reopen_count", "reassignment_count"})
BOOL_FIELDS: frozenset[str] = frozenset({"made_sla"})
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "是", "✓"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "否"})


def number_text(value: str) -> str | None:
    """A count cell as canonical text (``''`` if empty), or ``None`` if it is not a whole number."""
    text = value.strip()
    if not text:
        return ""
    if text.endswith(".0"):
        text = text[:-2]
    if text.isdigit() and len(text) <= 9:  # an integer column: at most a billion
        return str(int(text))
    return None


def bool_text(value: str) -> str | None:
    """A yes/no cell as ``'1'``/``'0'`` (``''`` if empty), or ``None`` if it is neither."""
    text = value.strip().lower()
    if not text:
        return ""
    if text in TRUE_WORDS:
        return "1"
    if text in FALSE_WORDS:
        return "0"
    return None


REQUIRED_FIELDS: tuple[str, ...] = ("id",)

# other names accepted for a field in --map and mapping files (the ticket column names and a few synonyms)
FIELD_SYNONYMS: dict[str, str] = {
    **{column: field for field, column in FIELD_COLUMNS.items()},
    "external_id": "id",
    "group_name": "group",
    "problem": "problem_id",
    "first_response_at": "first_response",
}

# header names recognised by the auto-mapping, compared after normalize_header(); English and Chinese
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "id": (
        "id",
        "ticketid",
        "ticketnumber",
        "ticketno",
        "number",
        "no",
        "key",
        "issuekey",
        "caseid",
        "casenumber",
        "incidentid",
        "工单号",
        "工单编号",
        "工单id",
        "编号",
        "单号",
        "案件编号",
        "工單號",
        "工單編號",
        "編號",
    ),
    "customer": (
        "customer",
        "customername",
        "client",
        "clientname",
        "requester",
        "requestername",
        "caller",
        "callerid",
        "contact",
        "reporter",
        "客户",
        "客户名称",
        "客户名",
        "顾客",
        "报告人",
        "提交人",
        "客戶",
        "客戶名稱",
        "顧客",
    ),
    "organization": (
        "organization",
        "organisation",
        "organizationname",
        "company",
        "companyname",
        "account",
        "accountname",
        "公司",
        "组织",
        "企业",
        "組織",
        "企業",
    ),
    "subject": ("subject", "title", "summary", "shortdescription", "标题", "主题", "问题", "標題", "主旨", "問題"),
    "description": (
        "description",
        "body",
        "details",
        "content",
        "problemdescription",
        "描述",
        "问题描述",
        "详情",
        "内容",
        "問題描述",
        "詳情",
        "內容",
    ),
    "category": (
        "category",
        "type",
        "tickettype",
        "issuetype",
        "分类",
        "类别",
        "类型",
        "问题分类",
        "分類",
        "類別",
        "類型",
    ),
    "subcategory": ("subcategory", "subtype", "子分类", "二级分类", "子類別", "子分類"),
    "tags": ("tags", "tag", "labels", "label", "标签", "標籤"),
    "status": ("status", "state", "ticketstatus", "incidentstate", "状态", "工单状态", "狀態"),
    "priority": ("priority", "urgency", "优先级", "紧急程度", "優先級", "優先順序"),
    "channel": ("channel", "source", "via", "contacttype", "渠道", "来源", "來源", "管道"),
    "group": ("group", "groupname", "team", "assignmentgroup", "queue", "组", "处理组", "团队", "組", "團隊"),
    "assignee": (
        "assignee",
        "agent",
        "assignedto",
        "owner",
        "handler",
        "处理人",
        "负责人",
        "受理人",
        "客服",
        "處理人",
        "負責人",
    ),
    "problem_id": ("problemid", "problem", "问题单", "問題單"),
    "created": (
        "created",
        "createdat",
        "createdate",
        "createdtime",
        "created_on",
        "opened",
        "openedat",
        "requested",
        "创建时间",
        "创建日期",
        "提交时间",
        "建立时间",
        "建立時間",
        "創建時間",
        "提交時間",
    ),
    "first_response": (
        "firstresponse",
        "firstresponseat",
        "firstresponsetime",
        "firstreplyat",
        "firstreplytime",
        "firstrespondedat",
        "首次响应时间",
        "首次回复时间",
        "首响时间",
        "首次回覆時間",
        "首次回應時間",
    ),
    "resolved": (
        "resolved",
        "resolvedat",
        "resolvedtime",
        "resolutiondate",
        "solved",
        "solvedat",
        "解决时间",
        "解决日期",
        "解決時間",
    ),
    "closed": ("closed", "closedat", "closedtime", "closeddate", "关闭时间", "关闭日期", "結案時間", "關閉時間"),
    "updated": ("updated", "updatedat", "lastupdated", "modified", "modifiedat", "更新时间", "更新時間"),
    "requester": (),  # "requester" columns fill customer; --map requester=COLUMN names it
    "project": ("project", "projectkey", "repository", "repo", "项目", "項目"),
    "resolution": ("resolution", "resolutioncode", "closecode", "解决结果", "解決結果"),
    "satisfaction": ("satisfaction", "satisfactionrating", "csat", "满意度", "滿意度"),
    "reopen_count": ("reopencount", "reopens", "重开次数", "重開次數"),
    "reassignment_count": ("reassignmentcount", "reassignments", "转派次数", "轉派次數"),
    "made_sla": ("madesla", "slamet", "withinsla"),
}


def normalize_header(name: str) -> str:
    """A header name for comparison: lower case, no spaces, underscores, dashes, dots or brackets."""
    return re.sub(r"[\s_\-./()（）\[\]:：#]+", "", name.strip().lstrip("\ufeff")).lower()


_ALIAS_TO_FIELD: dict[str, tuple[str, int]] = {
    normalize_header(a): (f, rank) for f, names in HEADER_ALIASES.items() for rank, a in enumerate(names)
}


def field_for_header(name: str) -> str | None:
    """The ticket field a column header most likely holds, or ``None``."""
    found = _ALIAS_TO_FIELD.get(normalize_header(name))
    return found[0] if found else None


def alias_rank(name: str) -> list[tuple[str, int]]:
    """``[(field, rank)]`` for a header that names a field; rank 0 is the field's own name, higher ranks are
    looser synonyms (``ticket_type`` for category ranks below ``category``)."""
    found = _ALIAS_TO_FIELD.get(normalize_header(name))
    return [found] if found else []


def canonical_field(name: str) -> str | None:
    """The field a user means by ``name`` in ``--map`` or a mapping file (``None`` if unknown)."""
    key = name.strip().lower().replace("-", "_")
    if key in FIELD_COLUMNS:
        return key
    return FIELD_SYNONYMS.get(key)


# -- statuses -------------------------------------------------------------------------------------------------

STATUSES: tuple[str, ...] = ("open", "pending", "resolved", "closed")

# generic CSV/JSON: lower-cased, stripped value -> butterfly status
STATUS_ALIASES: dict[str, str] = {
    **{s: s for s in STATUSES},
    "new": "open",
    "active": "open",
    "in progress": "open",
    "in_progress": "open",
    "inprogress": "open",
    "assigned": "open",
    "reopened": "open",
    "todo": "open",
    "to do": "open",
    "新建": "open",
    "新": "open",
    "待处理": "open",
    "处理中": "open",
    "进行中": "open",
    "已分配": "open",
    "重新打开": "open",
    "打开": "open",
    "开启": "open",
    "待處理": "open",
    "處理中": "open",
    "進行中": "open",
    "hold": "pending",
    "on hold": "pending",
    "on-hold": "pending",
    "waiting": "pending",
    "waiting on customer": "pending",
    "awaiting customer": "pending",
    "awaiting user info": "pending",
    "挂起": "pending",
    "等待中": "pending",
    "等待客户": "pending",
    "待回复": "pending",
    "暂停": "pending",
    "掛起": "pending",
    "等待客戶": "pending",
    "待回覆": "pending",
    "solved": "resolved",
    "done": "resolved",
    "fixed": "resolved",
    "completed": "resolved",
    "已解决": "resolved",
    "已处理": "resolved",
    "已完成": "resolved",
    "完成": "resolved",
    "已解決": "resolved",
    "已處理": "resolved",
    "close": "closed",
    "archived": "closed",
    "cancelled": "closed",
    "canceled": "closed",
    "已关闭": "closed",
    "关闭": "closed",
    "已关单": "closed",
    "已取消": "closed",
    "已結案": "closed",
    "已關閉": "closed",
    "關閉": "closed",
    "結案": "closed",
}
