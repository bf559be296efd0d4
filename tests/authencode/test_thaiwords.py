"""Thai line breaks between words: the pieces give the text back, compounds stay whole, and
the HTML escapes everything."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from authencode import thaiwords


def test_compounds_people_read_as_one_word_stay_whole() -> None:
    text = "กรุณาแสดงรหัสแก่เจ้าหน้าที่ที่โรงพยาบาลส่งเสริมสุขภาพตำบล หน่วยบริการประจำ รพ.สต.บ้านตัวอย่าง"
    pieces = thaiwords.segments(text)
    assert "".join(pieces) == text
    for word in ("เจ้าหน้าที่", "โรงพยาบาล", "ส่งเสริมสุขภาพ", "หน่วยบริการ", "รพ.สต."):
        assert word in pieces, word
    assert all(thaiwords.is_thai_word(p) for p in ("โรงพยาบาล", "รพ.สต."))
    assert not any(thaiwords.is_thai_word(p) for p in (" ", "PP0000000042", "ก", "https://x"))


def test_latin_digits_and_links_pass_through() -> None:
    text = "รหัส PP0000000042 ดูที่ https://example.com/a?b=ค&c=1 ครับ"
    pieces = thaiwords.segments(text)
    assert "".join(pieces) == text
    assert any("https://example.com/a?b=" in p for p in pieces)
    assert thaiwords.segments("no Thai here") == ["no Thai here"]


def test_markup_escapes_and_marks_words() -> None:
    html = str(thaiwords.markup('<script>alert("โรงพยาบาล")</script>'))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<span class="w">โรงพยาบาล</span><wbr>' in html


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("กขคงจโรงพยาบาลเแ่้๊ะา. a1<&\n"), max_size=80))
def test_any_text_comes_back_whole(text: str) -> None:
    assert "".join(thaiwords.segments(text)) == text
