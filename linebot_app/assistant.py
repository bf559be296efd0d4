"""A small Thai assistant: knows what a message asks for, and never leaves a user in silence.

A message is cut into Thai words with PyThaiNLP's ``newmm`` tokenizer (its default dictionary
plus this module's own words: ออเทน, โค้ด, หน่วยบริการ, common typos), so a keyword matches a
whole word and never a piece of another one ("ลบ" is not in "กลบ" or "ลบล้าง"). Each word maps
to the concepts it stands for (``CONCEPTS``); an intent (``INTENTS``) is one or more sets of
concepts a message must all hold, checked in order, the first match winning. A negation right
before a verb ("ไม่ต้องการลบ ...") takes that verb's concepts away.

The answers that read the person's own data (their rights, today's codes) are given by
`linebot_app.chat_assistant`; the general ones are here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from authencode import thaiwords
from linebot_app import messages
from linebot_app.messages import HOTLINE, Json

if TYPE_CHECKING:
    from pythainlp.util import Trie

ANSWERS_TH = {
    "what_is": (
        "Authen Code (รหัสยืนยันการเข้ารับบริการ) คือรหัสที่ยืนยันว่าท่านมาเข้ารับบริการ"
        "ที่หน่วยบริการจริงในวันนั้น หน่วยบริการใช้รหัสนี้ในการเบิกค่าบริการจาก สปสช. "
        "ท่านไม่ต้องเสียค่าใช้จ่ายในการขอรหัส\n"
        "ขอรหัสได้ 2 ทาง: เสียบบัตรประจำตัวประชาชนที่จุดบริการ หรือสแกน QR Code "
        "ของหน่วยบริการผ่าน LINE นี้"
    ),
    "register": (
        "วิธีลงทะเบียน (ครั้งแรก)\n"
        "1. เพิ่มเพื่อน LINE นี้\n"
        "2. อ่านและกดยอมรับข้อตกลงการให้ความยินยอม\n"
        "3. กรอกเลขประจำตัวประชาชน 13 หลัก และเบอร์โทรศัพท์มือถือ "
        '(พิมพ์ "ลงทะเบียน" เพื่อลงทะเบียนในแชทนี้ได้เลย)\n'
        'เพิ่มสมาชิกในครอบครัวได้สูงสุด 5 คน ที่เมนู "ครอบครัว" หรือพิมพ์ "เพิ่มสมาชิก"'
    ),
    "request": (
        "วิธีขอรหัสเข้ารับบริการ\n"
        '1. เมื่อถึงหน่วยบริการ กดเมนู "ขอรหัสเข้ารับบริการ"\n'
        "2. สแกน QR Code ของหน่วยบริการ\n"
        "3. เลือกบุคคลที่มารับบริการ แล้วแสดงรหัส Authen Code ที่ได้ให้เจ้าหน้าที่\n"
        'สแกนด้วยตัวสแกน QR ของ LINE แล้วส่งลิงก์ที่ได้มาในแชทนี้ก็ได้ (พิมพ์ "ขอรหัส")\n'
        "ต้องลงทะเบียนและให้ความยินยอมก่อนจึงจะขอรหัสได้"
    ),
    "rights": (
        "สิทธิการรักษาพยาบาล คือสิทธิที่ใช้เบิกค่ารักษา เช่น สิทธิหลักประกันสุขภาพแห่งชาติ "
        "(บัตรทอง, UCS) สิทธิข้าราชการ (OFC) สิทธิประกันสังคม (SSS) "
        'หากไม่มีสิทธิใดเลยจะเป็น "สิทธิว่าง"\n'
        'ตรวจสอบสิทธิของท่านได้ที่เมนู "ตรวจสอบสิทธิ" (หลังลงทะเบียน) '
        f"หรือโทรสายด่วน สปสช. {HOTLINE}"
    ),
    "hotline": f"สายด่วน สปสช. {HOTLINE} เปิดบริการ 24 ชั่วโมง (โทรฟรี)",
    "greeting": ("สวัสดีค่ะ น้องพร้อมช่วยตอบคำถามเรื่องรหัสเข้ารับบริการ (Authen Code) เลือกหัวข้อด้านล่างได้เลยค่ะ"),
    "thanks": "ยินดีค่ะ หากมีคำถามเพิ่มเติม พิมพ์ถามหรือเลือกหัวข้อด้านล่างได้เลยนะคะ",
    "unknown": (
        f"ขออภัยค่ะ น้องยังไม่เข้าใจคำถามนี้ กรุณาเลือกหัวข้อด้านล่าง หรือโทรสายด่วน สปสช. {HOTLINE} (24 ชั่วโมง)"
    ),
}

# Words by the concept they stand for (folded: lower case). Thai words here are added to the
# tokenizer's dictionary too, so that each comes out as one word.
# fmt: off
CONCEPTS: dict[str, frozenset[str]] = {
    name: frozenset(words)
    for name, words in {
        "self": (
            "ฉัน", "ผม", "หนู", "ดิฉัน", "ดิชั้น", "ชั้น", "เรา", "ตัวเอง", "ตนเอง", "เค้า",
            "กระผม", "my", "me", "mine", "i",
        ),
        "family": (
            "สมาชิก", "ครอบครัว", "ลูก", "บุตร", "พ่อ", "แม่", "สามี", "ภรรยา", "เมีย", "แฟน",
            "ญาติ", "ปู่", "ย่า", "ตา", "ยาย", "หลาน", "family", "member",
        ),
        "code": (
            "รหัส", "โค้ด", "โค๊ด", "โคด", "code", "codes", "authen", "authencode", "ออเทน",
            "ออเธน", "ออเท็น",
        ),
        "today": ("วันนี้", "today", "ล่าสุด", "เมื่อกี้", "เมื่อกี๊", "latest"),
        "history": ("ประวัติ", "ประวัติการ", "ย้อนหลัง", "history", "ที่เคยขอ"),
        "view": (
            "ดู", "ขอดู", "เช็ค", "เช็ก", "เชค", "ตรวจ", "ตรวจสอบ", "แสดง", "check", "show", "see",
        ),
        "ask": ("ขอ", "อยากได้", "ต้องการ", "get", "request"),
        "how": ("วิธี", "ยังไง", "อย่างไร", "ไง", "how"),
        "rights": (
            "สิทธิ", "สิทธิ์", "สิทธ", "สิท", "สิด", "บัตรทอง", "30บาท", "right", "rights",
        ),
        "change": ("เปลี่ยน", "ย้าย", "โอน", "แก้", "change", "move", "transfer", "switch"),
        "unit": (
            "หน่วยบริการ", "หน่วย", "ปฐมภูมิ", "โรงพยาบาล", "โรงบาล", "โรบาล", "รพ", "รพ.",
            "รพ.สต.", "สถานพยาบาล", "อนามัย", "สถานีอนามัย", "คลินิก", "hospital", "clinic",
            "unit", "pcu",
        ),
        "withdraw": ("ถอน", "เพิกถอน", "ยกเลิก", "withdraw", "revoke", "cancel"),
        "consent": ("ความยินยอม", "ยินยอม", "consent", "pdpa"),
        "quit": (
            "เลิกใช้", "ถอนตัว", "เลิก", "ไม่ต้องการ", "ไม่อยาก", "ไม่เอา", "ไม่ใช้", "หยุดใช้",
            "unsubscribe", "quit", "stop",
        ),
        "service": (
            "ใช้", "บริการ", "ใช้บริการ", "ใช้งาน", "การใช้งาน", "ไลน์", "line", "service",
            "บัญชี", "แอคเคาท์", "แอคเคาต์", "account",
        ),
        "delete": ("ลบ", "ลบทิ้ง", "delete", "erase", "remove"),
        "add": ("เพิ่ม", "add"),
        "data": (
            "ข้อมูล", "ข้อมูลส่วนตัว", "ประวัติ", "ประวัติการ", "บัญชี", "แอคเคาท์", "แอคเคาต์",
            "data", "account",
        ),
        "register": ("ลงทะเบียน", "สมัคร", "register", "signup"),
        "hotline": (
            HOTLINE, "สายด่วน", "ติดต่อ", "เจ้าหน้าที่", "hotline", "call", "คอลเซ็นเตอร์", "สปสช",
            "สปสช.",
        ),
        "scan": ("สแกน", "แสกน", "scan", "qr", "qrcode", "คิวอาร์"),
        "what": ("อะไร", "what"),
        "is": ("คือ", "is"),
        "thanks": (
            "ขอบคุณ", "ขอบคุน", "ขอบคุ", "ขอบใจ", "ขอบพระคุณ", "แต๊งกิ้ว", "แตงกิ้ว", "thank",
            "thanks", "thx", "tq", "ty", "โอเค", "ok", "okay",
        ),
        "hello": ("สวัสดี", "หวัดดี", "ดีจ้า", "hello", "hi"),
    }.items()
}
# fmt: on

# A word that turns the next word's meaning around ("ไม่ต้องการลบข้อมูล": nothing to delete).
NEGATIONS = frozenset({"ไม่", "ไม่ต้องการ", "ไม่อยาก", "ไม่ได้", "อย่า", "ห้าม", "don't", "dont", "not"})
# Concepts a negation takes away from the word that follows it.
NEGATABLE = frozenset({"delete", "withdraw", "change", "quit", "consent", "add"})


@dataclass(frozen=True)
class Intent:
    """What a message asks for: any one of ``rules`` (concepts the message must all hold),
    unless the message holds one of ``unless``."""

    name: str
    rules: tuple[frozenset[str], ...]
    unless: frozenset[str] = frozenset()


def _intent(name: str, *rules: str, unless: str = "") -> Intent:
    """An intent from rules written as "concept+concept" (and ``unless`` as "a b")."""
    return Intent(
        name,
        tuple(frozenset(rule.split("+")) for rule in rules),
        frozenset(unless.split()),
    )


# Checked in order: the first intent with a matching rule wins.
INTENTS: tuple[Intent, ...] = (
    _intent("family_remove", "delete+family"),
    _intent("family_add", "add+family"),
    _intent(
        "withdraw",
        "withdraw+consent",
        "quit+service",
        "quit+register",
        "withdraw+register",
        "withdraw+service",
        "delete+data",
        "delete+register",
        "delete+self",
    ),
    _intent("consent", "consent"),
    _intent("unit_change", "change+unit", "change+rights"),
    _intent("request", "ask+code", "how+code", "scan", unless="view history today"),
    _intent("history", "history"),
    _intent("codes_today", "code+today", "code+self", "code+family"),
    _intent("my_rights", "rights+self", "rights+view", "rights+family"),
    _intent("my_data", "data+self"),
    _intent("hotline", "hotline"),
    _intent("register", "register"),
    _intent("rights", "rights"),
    _intent("what_is", "code", "what+is"),
    _intent("thanks", "thanks"),
    _intent("greeting", "hello"),
)
INTENT_NAMES = frozenset(intent.name for intent in INTENTS) | {"unknown"}

_REPEATS = re.compile(r"(.)\1{2,}")  # "ครับบบบ", "ขอบคุณณณ": one is enough


@cache
def _dictionary() -> Trie:
    """PyThaiNLP's word list with the service's words and this module's (built once)."""
    ours = {word for words in CONCEPTS.values() for word in words if not word.isascii()}
    return thaiwords.dictionary(frozenset(ours | NEGATIONS))


def warm() -> None:
    """Build the dictionary now (a worker at start), not on a person's first message."""
    words("สวัสดี")


def words(text: str) -> list[str]:
    """The words of a message, folded, without spaces."""
    from pythainlp.tokenize import word_tokenize

    folded = _REPEATS.sub(r"\1", unicodedata.normalize("NFC", text).casefold())
    tokens = word_tokenize(folded, custom_dict=_dictionary(), engine="newmm", keep_whitespace=False)
    return [token.strip() for token in tokens if token.strip()]


def concepts(tokens: Iterable[str]) -> set[str]:
    """The concepts a message's words stand for; a negation drops the next word's verbs."""
    found: set[str] = set()
    negated = False
    for token in tokens:
        meant = {name for name, vocabulary in CONCEPTS.items() if token in vocabulary}
        if negated:
            meant -= NEGATABLE
        found |= meant
        negated = token in NEGATIONS
    return found


def intent_of(text: str) -> str:
    """The intent a user's text asks for (a name of INTENTS), or "unknown"."""
    held = concepts(words(text))
    for intent in INTENTS:
        if held & intent.unless:
            continue
        if any(rule <= held for rule in intent.rules):
            return intent.name
    return "unknown"


def answer(topic: str) -> list[Json]:
    """The Thai answer to a plain-question topic, with the question menu as quick replies."""
    return [
        messages.text(
            ANSWERS_TH.get(topic, ANSWERS_TH["unknown"]), messages.menu_quick_reply_json()
        )
    ]
