"""Personal data in residents' comments: mainland mobile numbers and resident ID numbers.

An anonymous evaluation must not store a way to reach or name the person who answered, even
when they type it themselves. A comment carrying a mobile number (1[3-9] and nine more
digits, optionally after +86) or an 18-digit resident ID number (居民身份证号码, GB 11643, with a
valid date of birth and check digit) is refused with a message saying why — in any spacing,
with hyphens or dots between the digits, or in full-width digits. A campaign may instead
choose to mask such numbers and store the rest of the comment (`personal_data = "mask"`).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

MODES = ("refuse", "mask")
SEPARATORS = set(" \t\r\n-–—_.·‧,，、/()（）") | {"\u3000", "\u00a0"}
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
MOBILE = re.compile(r"(?<![0-9X])(?:0?86)?(1[3-9][0-9]{9})(?![0-9X])")
ID_NUMBER = re.compile(r"(?<![0-9X])([1-9][0-9]{16}[0-9X])(?![0-9X])")


def _digits(text: str) -> tuple[str, list[int]]:
    """The text's digits (and X) with separators between them dropped, and where each came from;
    any other character becomes a boundary."""
    out, where = [], []
    for index, char in enumerate(text):
        folded = unicodedata.normalize("NFKC", char).upper()
        if len(folded) == 1 and (folded.isdigit() and folded.isascii() or folded == "X"):
            out.append(folded)
            where.append(index)
        elif char in SEPARATORS or folded in SEPARATORS:
            continue
        else:
            out.append("|")
            where.append(index)
    return "".join(out), where


def valid_id_number(number: str) -> bool:
    """An 18-character resident ID number with a real date of birth and the right check digit."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if not dt.date(1900, 1, 1) <= born <= dt.date.today():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS))
    return ID_CHECK[total % 11] == number[17]


def find(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) in the original text of each mobile or ID number found."""
    digits, where = _digits(text)
    found, taken = [], set()
    for match in ID_NUMBER.finditer(digits):
        if valid_id_number(match.group(1)):
            found.append(("id_number", where[match.start(1)], where[match.end(1) - 1] + 1))
            taken.update(range(match.start(1), match.end(1)))
    for match in MOBILE.finditer(digits):
        if not taken.intersection(range(match.start(), match.end())):
            found.append(("mobile", where[match.start()], where[match.end() - 1] + 1))
    return sorted(found, key=lambda f: f[1])


def mask(text: str) -> str:
    """The text with every digit of each number found replaced by ＊."""
    chars = list(text)
    for _kind, start, end in find(text):
        for index in range(start, end):
            folded = unicodedata.normalize("NFKC", chars[index]).upper()
            if folded.isdigit() or folded == "X":
                chars[index] = "*"
    return "".join(chars)
