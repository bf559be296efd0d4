"""Handling one webhook event inside its own transaction: effects and replies together."""

from __future__ import annotations

import logging

from linebot.v3.webhooks import (
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)

from authencode.errors import DomainError
from authencode.models import LineAccount
from authencode.services import consent, conversations, line_accounts
from linebot_app import assistant, chat, chat_assistant, commands, messages
from linebot_app.chat_messages import refusal
from linebot_app.context import EventContext
from linebot_app.messages import Json
from linebot_app.outbox import enqueue_reply

log = logging.getLogger(__name__)


def handle_event(ctx: EventContext, event: object) -> None:
    """Apply one parsed event; the caller owns the transaction (commit or roll back)."""
    if isinstance(event, UnfollowEvent):
        user_id = _user_id(event)
        if user_id:
            line_accounts.unfollow(ctx.session, user_id)
        return
    if isinstance(event, FollowEvent):
        _on_follow(ctx, event)
    elif isinstance(event, MessageEvent):
        _on_message(ctx, event)
    elif isinstance(event, PostbackEvent):
        _on_postback(ctx, event)
    # Other events (join, leave, beacon, unsend, ...) need no answer: ignored on purpose.


def _user_id(event: object) -> str | None:
    source = getattr(event, "source", None)
    if isinstance(source, UserSource):
        return source.user_id
    return None  # groups and rooms are not served: the service is one person's account


def _reply(
    ctx: EventContext, event: object, user_id: str, out: list[Json], *, sync_rich_menu: bool = False
) -> None:
    enqueue_reply(
        ctx.session,
        user_id,
        getattr(event, "reply_token", None),
        out,
        sync_rich_menu=sync_rich_menu,
        token_at=getattr(event, "timestamp", None),
    )


def _on_follow(ctx: EventContext, event: FollowEvent) -> None:
    user_id = _user_id(event)
    if not user_id:
        return
    account, _created = line_accounts.follow(ctx.session, user_id)
    unblocked = bool(event.follow and event.follow.is_unblocked)
    consented = consent.is_current(account.consent_version)
    # A member coming back gets the member menu again (the worker links it).
    _reply(
        ctx,
        event,
        user_id,
        messages.welcome(unblocked=unblocked, consented=consented),
        sync_rich_menu=consented,
    )


def _on_message(ctx: EventContext, event: MessageEvent) -> None:
    user_id = _user_id(event)
    if not user_id:
        return
    # Locked: this user's events are applied one after another (chat dialogues).
    account, _ = line_accounts.get_or_create_account(ctx.session, user_id, lock=True)
    if not isinstance(event.message, TextMessageContent):
        # Stickers, photos, locations...: a friendly nudge rather than silence.
        _reply(ctx, event, user_id, assistant.answer("greeting"))
        return
    chat_answer = chat.handle_text(ctx, account, event.message.text)
    if chat_answer is not None:
        _reply(ctx, event, user_id, chat_answer)
        return
    _reply(ctx, event, user_id, chat_assistant.reply(ctx, account, event.message.text))


def _on_postback(ctx: EventContext, event: PostbackEvent) -> None:
    user_id = _user_id(event)
    if not user_id:
        return
    # Locked: this user's events are applied one after another (chat dialogues).
    account, _ = line_accounts.get_or_create_account(ctx.session, user_id, lock=True)
    data = (event.postback.data or "")[: messages.MAX_POSTBACK_DATA]
    was_member = consent.is_current(account.consent_version)
    try:
        out = _postback_answer(ctx, account, data)
    except DomainError as error:
        out = _refusal(error)
    # Consent given or withdrawn: the worker switches the rich menu before the answer arrives.
    now_member = consent.is_current(account.consent_version)
    _reply(ctx, event, user_id, out, sync_rich_menu=now_member != was_member)


def _postback_answer(ctx: EventContext, account: LineAccount, data: str) -> list[Json]:
    session = ctx.session
    parts = data.split(":")
    if parts[0] == "consent":
        action = parts[1] if len(parts) > 1 else "show"
        if action == "accept" and len(parts) == 3:
            consent.accept(session, account, parts[2])
            return messages.consent_accepted(ctx.settings)
        if action == "decline" and len(parts) == 3:
            consent.decline(session, account, parts[2])
            return messages.consent_declined()
        if data == messages.PB_WITHDRAW_ASK:
            if not account.has_consented:
                raise DomainError("CONSENT_NOT_GIVEN")
            return messages.withdraw_confirm()
        if data == messages.PB_WITHDRAW_CONFIRM:
            consent.withdraw(session, account)
            conversations.finish_all(session, account)  # answers typed so far go too
            return messages.withdrawn()
        if data == messages.PB_WITHDRAW_CANCEL:
            return messages.withdraw_cancelled()
        return messages.consent_prompt()
    if parts[0] == "menu" and len(parts) == 2:
        return _menu_answer(ctx, account, parts[1])
    if parts[0] == "chat":
        return chat.handle_postback(ctx, account, parts[1:])
    if parts[0] == "own":
        return chat.handle_own_postback(ctx, account, parts[1:])
    log.info("unknown postback ignored (account %s)", account.id)
    return assistant.answer("unknown")


def _menu_answer(ctx: EventContext, account: LineAccount, item: str) -> list[Json]:
    command = commands.of_menu_item(item)
    if command is None:
        return assistant.answer("unknown")
    return chat.run_command(ctx, account, command)  # as if typed: consent comes first


def _refusal(error: DomainError) -> list[Json]:
    if error.code == "CONSENT_VERSION_STALE":
        return [messages.text(error.message_th), *messages.consent_prompt()]
    if error.code == "CONSENT_ALREADY_GIVEN":
        return messages.domain_error(f'{error.message_th} หากต้องการถอนความยินยอม พิมพ์ "ถอนความยินยอม"')
    return refusal(error)
