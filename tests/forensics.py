"""A hostile reader's tools for the files SQLite leaves: the main file and its write-ahead log,
read byte by byte without SQLite (as someone with a copy of the instance folder would).

Format: https://www.sqlite.org/fileformat2.html — a 100-byte header, then pages; a B-tree page
has an 8- or 12-byte header and an array of 2-byte cell offsets; cells hold records (a header
of serial types, then the values). The WAL is a 32-byte header, then frames of a 24-byte
header and one page image; a frame whose second word is not zero ends a commit.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

LEAF_TABLE, LEAF_INDEX, INTERIOR_TABLE, INTERIOR_INDEX = 13, 10, 5, 2


def varint(data: bytes, pos: int) -> tuple[int, int]:
    """A SQLite varint at pos: (value, position after it)."""
    value = 0
    for i in range(9):
        byte = data[pos + i]
        if i == 8:
            return (value << 8) | byte, pos + 9
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos + i + 1
    raise ValueError("bad varint")


def record(payload: bytes) -> list:
    """Decode a record: a list of its values (text decoded, numbers as int/float)."""
    header_size, pos = varint(payload, 0)
    types = []
    while pos < header_size:
        t, pos = varint(payload, pos)
        types.append(t)
    values, body = [], header_size
    for t in types:
        if t == 0:
            values.append(None)
            continue
        if 1 <= t <= 6:
            n = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}[t]
            values.append(int.from_bytes(payload[body:body + n], "big", signed=True))
        elif t == 7:
            values.append(struct.unpack(">d", payload[body:body + 8])[0])
            n = 8
        elif t in (8, 9):
            values.append(t - 8)
            n = 0
        elif t >= 12:
            n = (t - 12) // 2
            raw = payload[body:body + n]
            values.append(raw.decode("utf-8", "replace") if t % 2 else raw)
        else:
            raise ValueError(f"serial type {t}")
        body += n
    return values


@dataclass
class Cell:
    """One cell of a leaf page: where it lies and the record it holds."""

    page: int
    offset: int
    values: list


def page_size(header: bytes) -> int:
    size = struct.unpack(">H", header[16:18])[0]
    return 65536 if size == 1 else size


def leaf_cells(page: bytes, number: int) -> list[Cell]:
    """Every decodable cell of a leaf page (table or index); [] for any other page."""
    base = 100 if number == 1 else 0
    kind = page[base]
    if kind not in (LEAF_TABLE, LEAF_INDEX):
        return []
    count = struct.unpack(">H", page[base + 3:base + 5])[0]
    cells = []
    for i in range(count):
        offset = struct.unpack(">H", page[base + 8 + 2 * i:base + 10 + 2 * i])[0]
        try:
            size, pos = varint(page, offset)
            if kind == LEAF_TABLE:
                _rowid, pos = varint(page, pos)
            cells.append(Cell(number, offset, record(page[pos:pos + size])))
        except (ValueError, IndexError, struct.error):
            continue  # a payload spilling to an overflow page: not needed here
    return cells


def main_file_pages(path: Path) -> dict[int, bytes]:
    """The pages of a database file, by page number (1-based)."""
    data = path.read_bytes()
    size = page_size(data[:100])
    return {n + 1: data[n * size:(n + 1) * size] for n in range(len(data) // size)}


def freelist_pages(path: Path) -> list[int]:
    """The numbers of every free page (trunk and leaf) of a database file."""
    data = path.read_bytes()
    size = page_size(data[:100])
    trunk = struct.unpack(">I", data[32:36])[0]
    free = []
    while trunk:
        page = data[(trunk - 1) * size:trunk * size]
        free.append(trunk)
        nxt, count = struct.unpack(">II", page[:8])
        free += [struct.unpack(">I", page[8 + 4 * i:12 + 4 * i])[0] for i in range(count)]
        trunk = nxt
    return free


def wal_commits(path: Path) -> list[dict[int, bytes]]:
    """The WAL replayed commit by commit: for each commit, the pages it wrote."""
    if not path.exists():
        return []
    data = path.read_bytes()
    if len(data) < 32:
        return []
    size = struct.unpack(">I", data[8:12])[0]
    commits, current, pos = [], {}, 32
    while pos + 24 + size <= len(data):
        number, commit_size = struct.unpack(">II", data[pos:pos + 8])
        current[number] = data[pos + 24:pos + 24 + size]
        pos += 24 + size
        if commit_size:
            commits.append(current)
            current = {}
    return commits


def is_token(values: list) -> bool:
    """A ballot_token record: hash (64 hex), campaign, batch, serial, redeemed."""
    return len(values) == 5 and isinstance(values[0], str) and len(values[0]) == 64 and values[4] in (0, 1)


def is_response(values: list) -> bool:
    """A response record: id (32 hex), campaign, unit, questionnaire, category, channel, day."""
    return len(values) == 7 and isinstance(values[0], str) and len(values[0]) == 32 and values[5] in ("online", "paper")


def replay_pairs(wal: Path) -> dict[str, set[str]]:
    """Attack 1: pair each token redeemed in a commit with the responses new in that commit."""
    seen_redeemed, seen_responses, pairs = set(), set(), {}
    for pages in wal_commits(wal):
        redeemed, responses = set(), set()
        for number, page in pages.items():
            for cell in leaf_cells(page, number):
                if is_token(cell.values) and cell.values[4] == 1:
                    redeemed.add(cell.values[0])
                elif is_response(cell.values):
                    responses.add(cell.values[0])
        new_tokens, new_responses = redeemed - seen_redeemed, responses - seen_responses
        if len(new_tokens) == 1 and new_responses:
            pairs[next(iter(new_tokens))] = new_responses
        seen_redeemed |= redeemed
        seen_responses |= responses
    return pairs


def cells_in_file_order(path: Path, keep) -> list[Cell]:
    """Attack 2: the cells whose record keep() accepts, by page and then by place in the page
    (a page fills from its end, so the highest offset was written first)."""
    cells = []
    for number, page in main_file_pages(path).items():
        cells += sorted((c for c in leaf_cells(page, number) if keep(c.values)), key=lambda c: -c.offset)
    return cells
