"""What a reminder says on each channel, in Chinese.

The in-portal notice (title, body, link) is the source; each channel gets it
in its own shape: an e-mail with a subject, text and HTML; robot markdown;
an SMS of at most 70 characters with the signature, cut with "…" so the link
back to the portal (when ``PORTAL_URL`` is set) always fits whole.
"""

from __future__ import annotations

from html import escape

from portal.notifications.channels import SMS_LIMIT, Message

CHANNEL_LABELS = {"email": "电子邮件", "wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人", "sms": "短信"}
# The same channels as a person chooses them on their settings page.
PERSONAL_LABELS = {"email": "电子邮件", "wecom": "企业微信工作群（@我）", "dingtalk": "钉钉工作群（@我）", "sms": "短信"}

# The subject line's prefix per kind of notice: what the reader scans for.
KIND_LABELS = {
    "node.due_soon": "到期预警",
    "card.yellow": "黄牌",
    "card.red": "红牌",
    "recommitment.filed": "重新承诺待审",
    "recommitment.decided": "重新承诺结果",
    "node.rejected": "销号退回",
    "interview.proposed": "约谈提议",
    "interview.scheduled": "约谈安排",
    "interview.cancelled": "约谈取消",
    "document.bulletin": "通报",
    "document.ranking": "排名",
    "test": "测试消息",
    "digest": "每日汇总",
    "recommitment.overdue": "重新承诺待审（催办）",
}


def absolute(link: str, portal_url: str) -> str:
    """The link as a reader outside the portal can open it, or "" when the portal's address is not set."""
    if not link or not portal_url:
        return ""
    if link.startswith(("http://", "https://")):
        return link
    return portal_url.rstrip("/") + "/" + link.lstrip("/")


def message(kind: str, title: str, body: str = "", link: str = "", *, portal_url: str = "", office: str = "",
            sms_sign: str = "") -> dict[str, Message]:
    """The notice as each channel says it: ``{"email": …, "robot": …, "sms": …}``."""
    label = KIND_LABELS.get(kind, "提醒")
    url = absolute(link, portal_url)
    subject = f"【{label}】{title}"[:200]
    lines = [title] + ([body] if body else []) + ([f"查看：{url}"] if url else [])
    signature = f"—— {office}（节点工作平台）" if office else "—— 节点工作平台"
    text = "\n\n".join(lines + [signature])
    html_parts = [f"<p><strong>{escape(title)}</strong></p>"]
    if body:
        html_parts.append(f"<p>{escape(body)}</p>")
    if url:
        html_parts.append(f'<p><a href="{escape(url, quote=True)}">在平台中查看</a></p>')
    html_parts.append(f'<p style="color:#666">{escape(signature)}</p>')
    markdown = f"**{label}**：{title}" + (f"\n\n{body}" if body else "") + (f"\n\n[在平台中查看]({url})" if url else "")
    return {
        "email": Message(subject=subject, text=text, html="\n".join(html_parts)),
        "robot": Message(subject=subject, text="\n".join([f"【{label}】{title}"] + ([url] if url else [])),
                         markdown=markdown),
        "sms": Message(subject=subject, text=sms_text(f"【{label}】{title}", url, sms_sign)),
    }


def digest(items, day, *, short: bool = False, portal_url: str = "") -> tuple[str, str]:
    """The morning digest of ``items`` (deliveries): (title, body), grouped by kind, oldest first.

    ``short`` (SMS): the counts only, the body empty; the link to the bell is added by ``message``.
    """
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(item.kind, []).append(item)
    counts = "、".join(f"{KIND_LABELS.get(kind, '提醒')}{len(rows)}" for kind, rows in groups.items())
    title = f"{day.month}月{day.day}日共{len(items)}条提醒"
    if short:
        return f"{title}：{counts}", ""
    lines = []
    for kind, rows in groups.items():
        lines.append(f"{KIND_LABELS.get(kind, '提醒')}（{len(rows)}条）")
        for row in rows:
            url = absolute(row.link, portal_url)
            lines.append(f"· {row.subject}" + (f"  {url}" if url else ""))
        lines.append("")
    return title, "\n".join(lines).strip()


def sms_text(text: str, url: str = "", sign: str = "") -> str:
    """At most SMS_LIMIT characters: the signature, the text cut with "…" if it must be, the link whole."""
    tail = f" {url}" if url else ""
    room = SMS_LIMIT - len(sign) - len(tail)
    if room < 8:  # a link too long to leave room for the message: the message matters more
        tail, room = "", SMS_LIMIT - len(sign)
    if len(text) > room:
        text = text[: room - 1] + "…"
    return f"{sign}{text}{tail}"
