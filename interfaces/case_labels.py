"""The case document's words in English and Chinese: headings, terms, and each entry's summary.

An English summary comes with every entry (application/case_files/entries.summary_of); in Chinese
the common facts are said here, and any other falls back to the English line.
"""
from __future__ import annotations

from typing import Any

LANGUAGES = ("en", "zh")

_LABELS = {
    "en": {
        "title": "Case file", "scope": "Scope", "order": "Order", "customer": "Customer", "ticket": "Ticket",
        "tenant": "Shop (tenant)", "as_of": "Reflects the log as of", "as_of_now": "(now, when it was made)",
        "as_of_requested": "(the moment asked for)", "generated": "Made at", "tickets": "Tickets",
        "conversations": "Conversations", "customers": "Customers", "timeline": "Timeline", "time": "Time",
        "channel": "Channel", "actor": "Actor", "what": "What happened", "why": "Reason and cause",
        "event": "Event", "automatic": "automatic step", "caused_by": "caused by", "cause_outside": "cause outside this case",
        "decision": "What the step decided on", "subject": "Subject", "status": "Status", "priority": "Priority",
        "assignee": "Agent", "team": "Team", "orders": "Orders", "sla": "SLA outcome", "metric": "Clock",
        "outcome": "Outcome", "due": "Due", "missed_at": "Missed at", "stopped": "Stopped", "policy": "Policy",
        "judged": "Judged", "no_clocks": "no SLA clock", "escalations": "Escalations",
        "proof": "Verification", "algorithm": "Hash algorithm", "digest": "Case digest", "stream": "Stream",
        "head_version": "Head version", "head_hash": "Head hash", "checkpoint": "Checkpoint", "none": "none",
        "verify_line": "Check the JSON export of this case offline, with no database:",
        "covered": "Covered", "not_covered": "Not covered", "events": "events", "entries": "entries",
        "empty": "Nothing in this case by this moment.", "merged_into": "merged into",
    },
    "zh": {
        "title": "案卷", "scope": "范围", "order": "订单", "customer": "顾客", "ticket": "工单",
        "tenant": "店铺（租户）", "as_of": "反映日志截至", "as_of_now": "（生成时的当前时刻）",
        "as_of_requested": "（所请求的时刻）", "generated": "生成时间", "tickets": "工单",
        "conversations": "会话", "customers": "顾客", "timeline": "时间线", "time": "时间",
        "channel": "渠道", "actor": "操作者", "what": "发生了什么", "why": "原因与起因",
        "event": "事件", "automatic": "自动步骤", "caused_by": "起因", "cause_outside": "起因不在本案卷中",
        "decision": "该步骤依据的信息", "subject": "主题", "status": "状态", "priority": "优先级",
        "assignee": "客服", "team": "团队", "orders": "订单", "sla": "SLA 结果", "metric": "计时项",
        "outcome": "结果", "due": "截止", "missed_at": "超时于", "stopped": "停止于", "policy": "策略",
        "judged": "判定方式", "no_clocks": "无 SLA 计时", "escalations": "升级",
        "proof": "核验", "algorithm": "哈希算法", "digest": "案卷摘要", "stream": "事件流",
        "head_version": "末版本", "head_hash": "末哈希", "checkpoint": "检查点", "none": "无",
        "verify_line": "无需数据库即可离线核验本案卷的 JSON 导出：",
        "covered": "已覆盖", "not_covered": "未覆盖", "events": "个事件", "entries": "条记录",
        "empty": "截至该时刻，本案卷没有内容。", "merged_into": "已合并至",
    },
}

_TERMS_ZH = {
    "new": "新建", "open": "处理中", "pending": "等待顾客", "on_hold": "挂起", "solved": "已解决", "closed": "已关闭",
    "low": "低", "normal": "普通", "high": "高", "urgent": "紧急",
    "met": "达标", "missed": "超时", "running": "计时中", "paused": "已暂停",
    "integrator": "渠道接入", "agent": "客服", "policy": "策略", "system": "系统",
    "ticket": "工单", "conversation": "会话", "customer": "顾客",
    "first_reply": "首次回复", "next_reply": "后续回复", "periodic_update": "定期更新", "resolution": "解决",
    "warning": "预警", "breach": "超时",
}


def labels(lang: str) -> dict[str, str]:
    return _LABELS[lang]


def term(value: Any, lang: str) -> str:
    text = "" if value is None else str(value)
    return _TERMS_ZH.get(text, text) if lang == "zh" else text.replace("_", " ")


def localized_summary(entry: dict[str, Any], lang: str) -> str:
    if lang != "zh":
        return entry["summary"]
    data, channel = entry["data"], entry.get("channel") or ""

    def t(value: Any) -> str:
        return term(value, "zh")

    match entry["type"]:
        case "Ticket.Opened":
            return f"在{channel}创建工单：{data.get('subject')}（优先级{t(data.get('priority'))}）"
        case "Conversation.InboundMessageReceived":
            order = f"（订单 {data['order_id']}）" if data.get("order_id") else ""
            return f"顾客在{channel}留言{order}：{data.get('text')}"
        case "Ticket.CustomerMessageAdded":
            return f"顾客消息加入工单（{channel}）"
        case "Ticket.ReplySent":
            return f"公开回复（{channel}）：{data.get('text')}"
        case "Conversation.OutboundMessageSent":
            return f"回复已发送（{channel}）：{data.get('text')}"
        case "Ticket.NoteAdded" | "Conversation.InternalNoteAdded":
            return f"内部备注：{data.get('text')}"
        case "Ticket.StatusChanged":
            return f"状态 {t(data.get('from_status'))} → {t(data.get('to_status'))}"
        case "Ticket.PriorityChanged":
            return f"优先级 {t(data.get('from_priority'))} → {t(data.get('to_priority'))}"
        case "Ticket.CategoryChanged":
            return f"分类设为 {data.get('category')}"
        case "Ticket.Assigned":
            return f"分配给客服 {data.get('agent_id')}" + (f"（团队 {data['team_id']}）" if data.get("team_id") else "")
        case "Ticket.Unassigned":
            return f"取消分配客服 {data.get('agent_id')}"
        case "Ticket.TransferredToTeam":
            return f"转交团队 {data.get('team_id')}"
        case "Ticket.Queued":
            return "排队：暂无可接单的客服"
        case "Ticket.Escalated":
            levels = "、".join(t(level) for level in data.get("levels") or [])
            return f"SLA {t(data.get('metric'))}（第 {data.get('cycle')} 轮）达到{levels}"
        case "Ticket.OrderLinked":
            return f"关联订单 {data.get('order_id')}"
        case "Ticket.ConversationLinked" | "Conversation.LinkedToTicket":
            return "会话与工单关联"
        case "Ticket.MergedInto":
            return f"合并至工单 {data.get('target_ticket_id')}"
        case "Ticket.TicketMergedIn":
            return f"工单 {data.get('source_ticket_id')} 并入"
        case "Ticket.Rated":
            return f"评分 {data.get('score')}/5" + (f"：{data['comment']}" if data.get("comment") else "")
        case "Conversation.Started":
            return f"在{channel}开始会话"
        case "Customer.Registered":
            return "顾客登记" + (f"：{data['display_name']}" if data.get("display_name") else "")
    return entry["summary"]
