"""A small Thai assistant: answers the common questions, and never leaves a user in silence."""

from __future__ import annotations

from dataclasses import dataclass

from linebot_app import messages
from linebot_app.messages import HOTLINE, Json

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
    "unknown": (
        f"ขออภัยค่ะ น้องยังไม่เข้าใจคำถามนี้ กรุณาเลือกหัวข้อด้านล่าง หรือโทรสายด่วน สปสช. {HOTLINE} (24 ชั่วโมง)"
    ),
}

# Checked in order: the first topic with a matching keyword wins.
KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("withdraw", ("ถอนความยินยอม", "ยกเลิกความยินยอม", "withdraw")),
    ("consent", ("ความยินยอม", "ยินยอม", "consent", "pdpa")),
    ("hotline", (HOTLINE, "สายด่วน", "ติดต่อ", "เบอร์โทร", "hotline", "call")),
    ("register", ("ลงทะเบียน", "สมัคร", "register")),
    ("request", ("ขอรหัส", "วิธีขอ", "สแกน", "qr", "request")),
    ("rights", ("สิทธิ", "บัตรทอง", "right")),
    ("what_is", ("authen", "คืออะไร", "รหัส", "what")),
    ("greeting", ("สวัสดี", "hello")),
)


@dataclass(frozen=True)
class Answer:
    topic: str
    messages: list[Json]


def topic_of(text: str) -> str:
    """The topic a user's text asks about, or "unknown"."""
    folded = " ".join(text.casefold().split())
    for topic, words in KEYWORDS:
        if any(word in folded for word in words):
            return topic
    return "unknown"


def answer(topic: str) -> list[Json]:
    """The Thai answer to a plain-question topic, with the question menu as quick replies."""
    return [
        messages.text(
            ANSWERS_TH.get(topic, ANSWERS_TH["unknown"]), messages.menu_quick_reply_json()
        )
    ]
