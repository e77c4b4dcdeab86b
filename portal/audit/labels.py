"""The audit log in Chinese: each action as a sentence, each before/after as a readable change.

``sentence(entry)`` → "刘晓燕 提交销号：完成征迁交地"; ``changes(entry)`` →
[("状态", "推进中", "待销号"), …] for the keys whose values differ. Codes the
portal stores (statuses, cards, roles, stages, states) are shown by their
labels; an action or key without a label is shown as it is stored, so a
new action is never hidden.
"""

from __future__ import annotations

import json
from typing import Any

ACTIONS = {
    "auth.login": "登录", "auth.logout": "退出登录",
    "node.create": "新增节点", "node.update": "修改节点", "node.delete": "删除节点",
    "node.start": "开始推进", "node.unstart": "退回未启动", "node.submit": "提交销号",
    "node.verify": "审核销号", "node.reject": "退回销号申请", "node.reopen": "重新打开节点",
    "progress.create": "填报进展", "evidence.create": "上传佐证材料", "evidence.delete": "删除佐证材料",
    "evidence.kind": "更改佐证材料类型",
    "card.green": "记绿牌", "card.yellow": "记黄牌", "card.red": "记红牌",
    "card.manual_yellow": "手动记黄牌", "card.manual_red": "手动记红牌", "card.manual_green": "手动记绿牌",
    "card.withdraw": "撤销红黄绿牌",
    "recommitment.file": "申请重新承诺", "recommitment.approved": "同意重新承诺",
    "recommitment.rejected": "不同意重新承诺",
    "interview.propose": "提议约谈", "interview.schedule": "安排约谈", "interview.reschedule": "调整约谈安排",
    "interview.notice": "签发约谈通知", "interview.hold": "记录约谈纪要", "interview.close": "办结约谈",
    "interview.cancel": "取消约谈",
    "project.create": "新增项目", "project.update": "修改项目", "project.delete": "删除项目",
    "project.links": "调整项目联络员与联动单位", "project.carry": "结转至下一年度",
    "node.links": "调整节点联动单位",
    "investment.report": "填报月度完成投资", "investment.correct": "更正月度完成投资",
    "unit.create": "新增单位", "unit.update": "修改单位", "unit.delete": "删除单位", "unit.alias": "登记单位别名",
    "unit.aliases": "调整单位别名", "unit.robot": "设置单位工作群机器人",
    "league.create": "新增联赛", "league.update": "修改联赛", "league.delete": "删除联赛",
    "category.create": "新增项目类别", "category.update": "修改项目类别", "category.delete": "删除项目类别",
    "theme.create": "新增时光轴主题", "theme.update": "修改时光轴主题", "theme.delete": "删除时光轴主题",
    "user.create": "新增用户", "user.update": "修改用户", "user.roles": "调整用户角色",
    "user.password_change": "修改密码", "user.password_reset": "重置密码", "user.preferences": "修改提醒设置",
    "policy.save": "保存计分规则", "calendar.save": "保存工作日历", "calendar.delete": "删除工作日历条目",
    "setting.go_live": "设置启用日期", "setting.documents": "设置公文版式", "setting.seal": "设置印章图片", "setting.reminder_kinds": "设置站外提醒类型",
    "setting.channel_email": "设置电子邮件渠道", "setting.channel_wecom": "设置企业微信群机器人",
    "setting.channel_dingtalk": "设置钉钉群机器人", "setting.channel_sms": "设置短信网关",
    "sweep.run": "执行超期检查", "sweep.start": "手动启动超期检查",
    "document.draft_bulletin": "起草通报", "document.edit_bulletin": "修改通报导语和备注", "document.publish_requested": "申请印发通报",
    "document.publish_bulletin": "印发通报", "document.publish_ranking": "发布排名",
    "document.publish_notice": "签发通知",
    "ledger.import": "导入台账", "ledger_mapping.create": "保存台账列对应", "orgchart.import": "导入组织架构",
    "delivery.resend": "重发提醒",
    "problem.raise": "提出问题", "problem.escalate": "逐级上报问题", "problem.answer": "答复问题",
    "problem.resolve": "标记问题已解决", "problem.confirm": "确认问题解决", "problem.reopen": "重新打开问题",
    "problem.meeting": "问题列入会议议题",
    "assignment.hand_out": "交办事项", "assignment.sign": "签收交办事项", "assignment.report": "反馈交办事项",
    "meeting.create": "召集会议", "meeting.minutes": "记录会议纪要", "meeting.decide": "会议议定交办",
    "document.publish_assignment": "签发督办通知单", "document.publish_minutes": "印发会议纪要", "delivery.test": "发送测试消息", "demo.load": "载入演示数据",
}

FIELDS = {
    "co_units": "联动单位", "contacts": "联络员", "month": "月份", "nodes": "节点", "project_id": "项目", "kind": "类型", "completed": "本年累计完成投资（万元）",
    "status": "状态", "card": "牌", "title": "名称", "name": "名称", "deadline": "完成时限",
    "committed_deadline": "承诺完成时间", "new_deadline": "承诺完成时间", "standard": "完成标准", "weight": "权重",
    "unit_id": "责任单位", "responsible_user_id": "责任人", "reason": "原因", "comment": "意见", "state": "状态",
    "submitted_at": "提交时间", "closed_at": "销号时间", "scheduled_for": "约谈时间", "place": "地点",
    "interviewer_name": "约谈人", "interviewer_id": "约谈人", "minutes": "纪要", "bring": "需携带材料",
    "notice_document_id": "约谈通知", "body": "内容", "percent": "进度", "node_id": "节点", "colour": "颜色",
    "points": "分值", "roles": "角色", "units_in_charge": "分管单位", "display_name": "姓名", "username": "用户名",
    "phone": "电话", "email": "电子邮箱", "is_active_account": "账号启用", "is_active": "启用",
    "notify_channels": "提醒方式", "notify_digest": "每日汇总", "notify_quiet": "短信免打扰",
    "short_name": "简称", "league_id": "联赛", "head_name": "主要负责人", "sort_order": "排序",
    "code": "项目编号", "category_id": "项目类别", "theme_id": "时光轴主题", "year": "年度", "stage": "项目阶段",
    "lead_leader_id": "包保领导", "lead_unit_id": "牵头单位", "investment_total": "总投资", "description": "说明",
    "investment_planned": "年度计划投资", "investment_completed": "已完成投资", "start_date": "开工日期",
    "end_date": "完工日期", "effective_from": "生效日期", "kinds": "提醒类型", "channel": "渠道", "host": "地址",
    "secret": "加签密钥", "aliases": "别名", "cards": "关联牌", "trigger": "约谈原因", "address": "地址",
    "attempts": "尝试次数", "last_error": "最近错误", "day": "日期", "is_workday": "是否工作日", "note": "备注",
}

VALUES = {
    "status": {"todo": "未启动", "doing": "推进中", "review": "待销号", "done": "已销号"},
    "card": {"none": "无", "green": "绿牌", "yellow": "黄牌", "red": "红牌"},
    "colour": {"green": "绿牌", "yellow": "黄牌", "red": "红牌"},
    "state": {"proposed": "待安排", "scheduled": "已安排", "held": "已约谈", "closed": "已办结", "cancelled": "已取消",
              "pending": "待审定", "approved": "已同意", "rejected": "不同意", "failed": "失败", "sent": "已发送",
              "draft": "草稿", "published": "已印发"},
    "roles": {"admin": "管理员", "supervisor": "督查人员", "leader": "领导", "unit_staff": "单位经办人",
              "contact": "项目联络员"},
    "stage": {"signed": "已签约", "started": "已开工", "building": "在建", "completed": "已竣工", "producing": "已投产",
              "performing": "已达产"},
    "notify_channels": {"email": "电子邮件", "wecom": "企业微信", "dingtalk": "钉钉", "sms": "短信"},
}


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)


def field_label(key: str) -> str:
    return FIELDS.get(key, key)


def value_text(key: str, value: Any) -> str:
    """A stored value as people read it: labels for codes, 是/否, lists joined, "—" for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    labels = VALUES.get(key, {})
    if isinstance(value, list):
        return "、".join(labels.get(str(v), str(v)) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if key.endswith("_at") or key == "scheduled_for":
        text = text.replace("T", " ")[:16]
    return labels.get(text, text)


def sentence(entry) -> str:
    """"刘晓燕 提交销号：完成征迁交地" (the summary after a colon when there is one)."""
    who = entry.actor_name or "系统"
    what = action_label(entry.action)
    return f"{who} {what}：{entry.summary}" if entry.summary else f"{who} {what}"


def changes(entry) -> list[tuple[str, str, str]]:
    """(field, before, after) for each key whose value changed; a creation lists its values after "—"."""
    before, after = entry.before or {}, entry.after or {}
    keys = [k for k in after if before.get(k) != after.get(k)] + [k for k in before if k not in after]
    return [(field_label(k), value_text(k, before.get(k)), value_text(k, after.get(k))) for k in keys]
