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
}
FIELDS: tuple[str, ...] = tuple(FIELD_COLUMNS)
DATE_FIELDS: frozenset[str] = frozenset({"created", "first_response", "resolved", "closed", "updated"})
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
}


def normalize_header(name: str) -> str:
    """A header name for comparison: lower case, no spaces, underscores, dashes, dots or brackets."""
    return re.sub(r"[\s_\-./()（）\[\]:：#]+", "", name.strip().lstrip("\ufeff")).lower()


_ALIAS_TO_FIELD: dict[str, str] = {normalize_header(a): f for f, names in HEADER_ALIASES.items() for a in names}


def field_for_header(name: str) -> str | None:
    """The ticket field a column header most likely holds, or ``None``."""
    return _ALIAS_TO_FIELD.get(normalize_header(name))


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
