"""Where Thai text may break across lines: between words, as PyThaiNLP segments them.

Thai is written without spaces, so a browser breaks it where its own dictionary (ICU's, in
Chromium) allows; that dictionary splits compounds people read as one word ("โรง|พยาบาล",
"เจ้า|หน้าที่", "หน่วย|บริการ") and `word-break: keep-all` does not apply to Thai (measured
in Chromium 156; its Intl.Segmenter splits the same way). PyThaiNLP's newmm tokenizer with its
word list, plus this service's own compounds, keeps them whole; pages mark each word
unbreakable and allow a break only between words (:func:`markup`).
"""

from __future__ import annotations

import os
import re
import threading
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from pythainlp.util import Trie

# PyThaiNLP otherwise creates ~/pythainlp-data when first used, which fails in the systemd
# units (ProtectHome=yes): only its bundled word list is read, nothing is downloaded.
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")
os.environ.setdefault("PYTHAINLP_OFFLINE", "1")

# Words of this service that PyThaiNLP's list lacks (checked against pythainlp 5.4).
DOMAIN_WORDS = frozenset({"หน่วยบริการ", "คิวอาร์โค้ด", "ริชเมนู", "รพ.สต.", "ส่งเสริมสุขภาพ", "บัตรประชาชน"})
_THAI_RUN = re.compile(r"[\u0e00-\u0e7f]+(?:\.[\u0e00-\u0e7f]+)*\.?")
MAX_TEXT = 5000  # longer texts are left to the browser


_loading = threading.Lock()


def dictionary(extra: frozenset[str] = frozenset()) -> Trie:
    """PyThaiNLP's word list, this service's compounds and ``extra`` words (the chat
    assistant's), built once per set of words (about a second and 75 MB; several on a busy
    machine), also when a warm-up thread and a first message ask at the same time."""
    with _loading:
        return _built(extra)


@cache
def _built(extra: frozenset[str]) -> Trie:
    from pythainlp.corpus import thai_words
    from pythainlp.util import dict_trie

    return dict_trie(set(thai_words()) | DOMAIN_WORDS | extra)


def warm_up() -> None:
    """Build the dictionary in the background, so that the first page needing it need not."""
    threading.Thread(target=dictionary, name="thaiwords-warm-up", daemon=True).start()


def has_thai(text: str) -> bool:
    return _THAI_RUN.search(text) is not None


def segments(text: str) -> list[str]:
    """The text cut into pieces that together give it back: Thai runs into words, everything
    else (Latin, digits, spaces, URLs, punctuation) as it stands between them."""
    if len(text) > MAX_TEXT or not _THAI_RUN.search(text):
        return [text]
    return list(_segments(text))


@lru_cache(maxsize=4096)  # pages show the same texts again and again (a chat's history)
def _segments(text: str) -> tuple[str, ...]:
    from pythainlp.tokenize import word_tokenize

    pieces: list[str] = []
    last = 0
    for run in _THAI_RUN.finditer(text):
        if run.start() > last:
            pieces.append(text[last : run.start()])
        pieces.extend(
            word_tokenize(
                run.group(), custom_dict=dictionary(), engine="newmm", keep_whitespace=True
            )
        )
        last = run.end()
    if last < len(text):
        pieces.append(text[last:])
    return tuple(pieces)


def is_thai_word(piece: str) -> bool:
    """Whether a piece is a Thai word of more than one character (kept on one line)."""
    return len(piece) > 1 and _THAI_RUN.fullmatch(piece) is not None


def markup(text: str) -> Markup:
    """The text as HTML: each Thai word in <span class="w"> (styled `white-space: nowrap`) and
    a <wbr> between words, so lines break between words only."""
    out = []
    for piece in segments(text):
        if is_thai_word(piece):
            out.append(f'<span class="w">{escape(piece)}</span><wbr>')
        else:
            out.append(str(escape(piece)))
    return Markup("".join(out))  # noqa: S704 - every piece is escaped above
