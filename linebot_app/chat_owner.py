"""The person's own say in the chat: who has linked me, approvals, "this was not me".

Postbacks ``own:...`` come from the notices and requests linebot_app.notify pushes to a
person's verified own account, and from the "ใครเชื่อมโยงฉัน" list. Each one is checked
again by the core against the account that taps it (authencode.services.person_say,
link_approvals): data copied from someone else's chat does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from linebot.v3.messaging import ConfirmTemplate, PostbackAction, TemplateMessage

from authencode.models import LineAccount
from authencode.services import link_approvals, person_say
from linebot_app import messages, notify
from linebot_app.messages import Json

if TYPE_CHECKING:
    from linebot_app.context import EventContext

PB_UNLINK = "own:unlink:{link_id}"
LINKED_BY_TITLE_TH = "บัญชี LINE ที่เชื่อมโยงกับท่าน ({count} รายการ)"
LINKED_BY_NONE_TH = "ยังไม่มีบัญชี LINE อื่นเชื่อมโยงกับท่านค่ะ"
LINKED_BY_ROW_TH = '{n}. {account} เป็น "{relation}" ระดับ: {level} ตั้งแต่ {since}'
LINKED_BY_FOOTER_TH = "กดปุ่มด้านล่างเพื่อยกเลิกการเชื่อมโยง หรือจัดการที่ลิงก์นี้\n{url}"
CONFIRM_UNLINK_TH = "ยืนยันการยกเลิกการเชื่อมโยงของ{account} ({relation}) หรือไม่"
UNLINKED_TH = "ยกเลิกการเชื่อมโยงของ{account} ({relation}) เรียบร้อยแล้วค่ะ"
KEPT_TH = "ไม่ได้ยกเลิกการเชื่อมโยงค่ะ"
APPROVED_TH = "อนุมัติแล้วค่ะ บัญชี LINE นั้นขอรหัสเข้ารับบริการแทนท่านได้แล้ว"
DECLINED_TH = "ไม่อนุมัติ ระบบยกเลิกคำขอเชื่อมโยงนี้แล้วค่ะ"
MAX_UNLINK_BUTTONS = messages.MAX_QUICK_REPLY_ITEMS - 1


def _unlink_label(n: int) -> str:
    return f"ยกเลิกรายการที่ {n}"


def linked_by(ctx: EventContext, account: LineAccount) -> list[Json]:
    """Every other account's link to the holder (relation, level, since), with a removal
    button each; only for the holder's verified own account (raises otherwise)."""
    links = person_say.linked_by(ctx.session, account)
    page = messages.liff_url(ctx.settings, "/linked-by")
    if not links:
        return [messages.text(LINKED_BY_NONE_TH, messages.menu_quick_reply())]
    lines = [LINKED_BY_TITLE_TH.format(count=len(links))]
    for n, link in enumerate(links, start=1):
        lines.append(
            LINKED_BY_ROW_TH.format(
                n=n,
                account=notify.OTHER_ACCOUNT_TH,
                relation=notify.relation_th(link),
                level=notify.LEVELS_TH.get(link.level, link.level),
                since=notify.since_th(link),
            )
        )
    lines.append(LINKED_BY_FOOTER_TH.format(url=page))
    # Open requests can be answered here too (the request's own quick replies go away as
    # soon as another message arrives).
    asked = {a.link_id: a.id for a in link_approvals.open_for(ctx.session, account)}
    buttons = [
        messages.postback(f"อนุมัติรายการที่ {n}", notify.PB_APPROVE.format(approval_id=asked[link.id]))
        for n, link in enumerate(links, start=1)
        if link.id in asked
    ]
    buttons += [
        messages.postback(_unlink_label(n), PB_UNLINK.format(link_id=link.id))
        for n, link in enumerate(links, start=1)
    ]
    buttons = buttons[:MAX_UNLINK_BUTTONS]
    return [
        messages.text("\n".join(lines), messages.quick_replies(*buttons, messages.ask("ครอบครัว")))
    ]


def _done(body: str) -> list[Json]:
    return [messages.text(body, messages.quick_replies(messages.ask(notify.LINKED_BY_COMMAND)))]


def approve(ctx: EventContext, account: LineAccount, approval_id: str) -> list[Json]:
    """``own:approve:<id>``; raises DomainError (answered as a Thai refusal)."""
    outcome = link_approvals.approve(ctx.session, approval_id, account, now=ctx.now())
    # Approving another account as oneself moves the person there: both are told.
    notify.self_link_reclaimed(ctx.session, outcome.link, outcome.displaced_account_ids)
    return _done(APPROVED_TH)


def decline(ctx: EventContext, account: LineAccount, approval_id: str) -> list[Json]:
    """``own:decline:<id>``; raises DomainError."""
    closed = link_approvals.decline(ctx.session, approval_id, account, now=ctx.now())
    if closed is not None:
        notify.approval_ended(ctx.session, closed, expired=False)
    return _done(DECLINED_TH)


def not_me(ctx: EventContext, account: LineAccount, which: str, row_id: str) -> list[Json]:
    """``own:notme:a:<account id>`` or ``own:notme:c:<code id>``; raises DomainError."""
    if which not in ("a", "c"):
        return linked_by(ctx, account)
    ids = {"other_account_id": row_id} if which == "a" else {"code_id": row_id}
    result = person_say.not_me(ctx.session, account, now=ctx.now(), **ids)
    return _done(notify.not_me_done(result))


def unlink(ctx: EventContext, account: LineAccount, link_id: str, answer: str | None) -> list[Json]:
    """``own:unlink:<link id>[:yes|no]``: asks first, then ends another account's link."""
    link = next(
        (link for link in person_say.linked_by(ctx.session, account) if str(link.id) == link_id),
        None,
    )
    if link is None:
        return linked_by(ctx, account)
    relation = notify.relation_th(link)
    if answer is None:
        data = PB_UNLINK.format(link_id=link.id)
        confirm = TemplateMessage(
            alt_text="ยืนยันการยกเลิกการเชื่อมโยง (ยืนยัน / ไม่ยกเลิก)",
            template=ConfirmTemplate(
                text=CONFIRM_UNLINK_TH.format(account=notify.OTHER_ACCOUNT_TH, relation=relation),
                actions=[
                    PostbackAction(
                        label="ยืนยัน", data=f"{data}:yes", display_text="ยืนยันยกเลิกการเชื่อมโยง"
                    ),
                    PostbackAction(label="ไม่ยกเลิก", data=f"{data}:no", display_text="ไม่ยกเลิก"),
                ],
            ),
        )
        return [confirm.to_dict()]
    if answer != "yes":
        return _done(KEPT_TH)
    person_say.remove_link(ctx.session, account, link.id)
    return [
        messages.text(UNLINKED_TH.format(account=notify.OTHER_ACCOUNT_TH, relation=relation)),
        *linked_by(ctx, account),
    ]
