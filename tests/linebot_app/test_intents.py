"""The assistant's intent table: real-style Thai phrasings (typos, particles, English mixed in,
spaces or none) and the intent each must reach, through the real tokenizer; and the phrasings
that must not reach one (a keyword inside another word, a negated verb)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from linebot_app.assistant import INTENT_NAMES, intent_of, words

PHRASINGS: dict[str, str] = {
    # Their own rights.
    "สิทธิ์ของฉันคืออะไร": "my_rights",
    "สิทธิของฉันคืออะไรคะ": "my_rights",
    "สิทธิ์ของผมคืออะไรครับ": "my_rights",
    "สิทธของฉัน": "my_rights",
    "ผมใช้สิทธิ์อะไรอยู่ครับ": "my_rights",
    "หนูอยากรู้สิทธิ์ตัวเองค่ะ": "my_rights",
    "เช็คสิทธิ์ให้หน่อยค่ะ": "my_rights",
    "เช็กสิทธิหน่อยจ้า": "my_rights",
    "ตรวจสอบสิทธิ์หน่อยนะ": "my_rights",
    "ขอดูสิทธิการรักษา": "my_rights",
    "สิทธิ์ของแม่คืออะไร": "my_rights",
    "สิทธิ์ลูกยังอยู่ไหม": "my_rights",
    "my rights": "my_rights",
    "check my right": "my_rights",
    "สิทธิ์ บัตรทอง ของฉัน": "my_rights",
    # Today's codes (or their own latest).
    "รหัสวันนี้ของฉัน": "codes_today",
    "รหัสวันนี้": "codes_today",
    "รหัสของวันนี้ค่ะ": "codes_today",
    "code วันนี้": "codes_today",
    "Code วันนี้ครับ": "codes_today",
    "โค้ดวันนี้": "codes_today",
    "โค๊ดวันนี้ของผม": "codes_today",
    "authen code วันนี้": "codes_today",
    "authencodeวันนี้": "codes_today",
    "รหัสเมื่อกี้": "codes_today",
    "โค้ดล่าสุด": "codes_today",
    "ขอดูรหัสวันนี้หน่อย": "codes_today",
    "ขอรหัสวันนี้": "codes_today",  # shows today's, or says how to ask for one
    "รหัสของฉัน": "codes_today",
    "ขอดูรหัสของแม่": "codes_today",
    "my code today": "codes_today",
    "today code": "codes_today",
    "ออเทนวันนี้": "codes_today",
    # Change of unit.
    "อยากเปลี่ยนหน่วยบริการ": "unit_change",
    "อยากเปลี่ยนหน่วยบริการค่ะ": "unit_change",
    "เปลี่ยน หน่วยบริการ": "unit_change",
    "ขอย้ายโรงบาล": "unit_change",
    "ย้ายโรงพยาบาลได้ไหม": "unit_change",
    "ย้ายสิทธิ์บัตรทอง": "unit_change",
    "ย้ายสิทธิ์ไปรพ.ใกล้บ้าน": "unit_change",
    "เปลี่ยนสิทธิ์": "unit_change",
    "เปลี่ยน รพ.สต.": "unit_change",
    "เปลี่ยนคลินิก": "unit_change",
    "change hospital": "unit_change",
    "ต้องการเปลี่ยนหน่วยปฐมภูมิ": "unit_change",
    "อยากย้ายหน่วยบริการจ้า": "unit_change",
    # Thanks.
    "ขอบคุณครับ": "thanks",
    "ขอบคุณค่ะ": "thanks",
    "ขอบคุณมากค่ะ": "thanks",
    "ขอบคุณณณณ": "thanks",
    "ขอบคุนครับ": "thanks",
    "ขอบใจนะ": "thanks",
    "ขอบใจจ้า": "thanks",
    "แต๊งกิ้ว": "thanks",
    "thank you": "thanks",
    "Thanks!": "thanks",
    "thx": "thanks",
    "โอเคค่ะ": "thanks",
    "ok ครับ": "thanks",
    # Withdrawal, in the words people use.
    "ไม่ต้องการใช้บริการแล้ว ลบข้อมูลของฉัน": "withdraw",
    "ไม่ต้องการใช้บริการแล้ว": "withdraw",
    "ลบข้อมูลของฉัน": "withdraw",
    "ลบข้อมูลของฉันด้วยค่ะ": "withdraw",
    "ลบข้อมูลผมออกให้หมด": "withdraw",
    "ขอลบข้อมูล": "withdraw",
    "ลบบัญชี": "withdraw",
    "ลบแอคเคาท์": "withdraw",
    "ถอนความยินยอม": "withdraw",
    "ขอถอนความยินยอมค่ะ": "withdraw",
    "ยกเลิกความยินยอม": "withdraw",
    "ยกเลิกการใช้งาน": "withdraw",
    "ยกเลิกบริการ": "withdraw",
    "เลิกใช้บริการ": "withdraw",
    "ไม่อยากใช้บริการนี้แล้ว": "withdraw",
    "ยกเลิกการลงทะเบียน": "withdraw",
    "delete my data": "withdraw",
    "withdraw consent": "withdraw",
    "unsubscribe line": "withdraw",
    "ลบประวัติการขอรหัส": "withdraw",
    # A family member out.
    "ลบสมาชิกในครอบครัว": "family_remove",
    "ลบข้อมูลลูก": "family_remove",
    "ลบแม่ออกจากรายชื่อ": "family_remove",
    "remove family member": "family_remove",
    "อยากเพิ่มลูกค่ะ": "family_add",
    "เพิ่มคนในครอบครัว": "family_add",
    "เพิ่มแม่ด้วยครับ": "family_add",
    "add family member": "family_add",
    "ไม่ต้องการเพิ่มสมาชิกแล้ว": "unknown",
    # The questions the assistant knew before, asked differently.
    "Authen Code คืออะไร": "what_is",
    "authen code": "what_is",
    "ออเทนโค้ดคืออะไรครับ": "what_is",
    "รหัส authen ใช้ทำอะไร": "what_is",
    "นี่คืออะไร": "what_is",
    "วิธีลงทะเบียน": "register",
    "สมัครยังไงคะ": "register",
    "ลงทะเบียนให้แม่ทำยังไง": "register",
    "register": "register",
    "วิธีขอรหัส": "request",
    "ขอรหัสยังไงครับ": "request",
    "ทำไงถึงจะได้รหัส": "request",
    "ผมอยากได้รหัส": "request",
    "ขอรหัสของฉันหน่อย": "request",
    "ขอรหัสให้ลูก": "request",
    "สแกนคิวอาร์ไม่ได้": "request",
    "แสกนไม่ได้": "request",
    "scan qr": "request",
    "สิทธิการรักษา คืออะไร": "rights",
    "สิทธิการรักษา": "rights",
    "บัตรทองคืออะไร": "rights",
    "เบอร์ติดต่อ": "hotline",
    "สายด่วน 1330": "hotline",
    "ขอคุยกับเจ้าหน้าที่": "hotline",
    "เบอร์ สปสช": "hotline",
    "ความยินยอมคืออะไร": "consent",
    "pdpa": "consent",
    "ประวัติการขอรหัสของฉัน": "history",
    "ดูย้อนหลัง": "history",
    "ข้อมูลของฉัน": "my_data",
    "ข้อมูลส่วนตัวของผม": "my_data",
    "สวัสดีครับ": "greeting",
    "หวัดดีค่ะ": "greeting",
    "hello": "greeting",
    # Must NOT reach an intent: a keyword inside another word, a negated verb, off topic.
    "ไม่ต้องการลบข้อมูล": "unknown",
    "อย่าลบข้อมูลนะ": "unknown",
    "กลบข้อมูล": "unknown",
    "ลบล้างความผิด": "unknown",
    "ตลบหลัง": "unknown",
    "ผลบวก": "unknown",
    "ฝนตกไหมวันนี้": "unknown",
    "ไม่ยินยอม": "unknown",
    "ไม่เข้าใจ": "unknown",
    "หิวข้าว": "unknown",
    "555": "unknown",
    "เปลี่ยนเบอร์โทร": "unknown",
    "ไม่ต้องการเปลี่ยนหน่วยบริการ": "unknown",
    "ยกเลิกนัด": "unknown",
    "รหัสผ่านwifi": "unknown",  # a password: "รหัส" is a piece of another word
    "สิทธิมนุษยชน": "unknown",  # one word: not a right of the scheme
    "บริการดีมาก": "unknown",
}


def test_the_table_is_large_and_names_real_intents() -> None:
    assert len(PHRASINGS) >= 100
    assert set(PHRASINGS.values()) <= INTENT_NAMES
    assert INTENT_NAMES - set(PHRASINGS.values()) == set()  # every intent is exercised


@pytest.mark.parametrize(("phrasing", "intent"), PHRASINGS.items())
def test_each_phrasing_reaches_its_intent(phrasing: str, intent: str) -> None:
    assert intent_of(phrasing) == intent, words(phrasing)


def test_words_not_substrings() -> None:
    # "ลบ" (delete) is a word of "ลบข้อมูล" but only a piece of these.
    for text in ("กลบ", "ตลบ", "ลบล้าง"):
        assert "ลบ" not in words(text)
    assert words("อยากเปลี่ยนหน่วยบริการ") == ["อยาก", "เปลี่ยน", "หน่วยบริการ"]
    assert words("ขอโค้ดออเทนหน่อยจ้า") == ["ขอ", "โค้ด", "ออเทน", "หน่อย", "จ้า"]
    assert words("ครับบบบ") == ["ครับ"]  # a held key is one letter


def test_nothing_is_written_or_fetched_outside_the_package(tmp_path: Path) -> None:
    """As under the systemd units (ProtectHome=yes): no home to write a data folder to."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHAINLP")}
    script = "from linebot_app.assistant import intent_of; print(intent_of('ลบข้อมูลของฉัน'))"
    for home in (tmp_path, Path("/proc/no-home")):
        done = subprocess.run(
            [sys.executable, "-c", script],
            env={**env, "HOME": str(home)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert (done.returncode, done.stdout.strip()) == (0, "withdraw"), done.stderr
    assert list(tmp_path.iterdir()) == []
