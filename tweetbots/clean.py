"""Clean raw posts by the original's rules, count them for the card, balance users.

The rules (shared/reference/huggingtweets.md), applied per post in this order:

1. HTML entities decoded, all of them, with `html.unescape` semantics (one pass:
   `&amp;lt;` becomes `&lt;`). The original decoded only `&amp;`, `&lt;`, `&gt;`; decoding
   the rest is a deliberate improvement and does not change the card's counts.
2. Links removed exactly as the original removed them (`remove_links`).
3. Whitespace collapsed: every run of whitespace (what `str.split()` splits on: spaces,
   newlines, tabs, the Unicode spaces) becomes one space; leading and trailing stripped.
4. Posts with fewer than 3 counted words are "short" and dropped (`clean_and_count`).

Speed. Rules 1-3 and the word count run on the Arrow UTF-8 buffer with numpy, in slices
of rows on a thread per core (numpy releases the GIL): entities `&amp; &lt; &gt; &quot;
&#39;` are decoded in place, a link's bytes become whitespace (or, for a link glued to the
word before it and followed by one space, are deleted with that space), and each
whitespace run becomes one space or nothing. Rows the byte rules cannot settle for certain
(any other `&`; a link inside a link; a glued link whose space the original's later
patterns might take) go through `html.unescape` and `remove_links` in Python. Measured on
the 2-core dev machine, the whole-buffer alternatives (Python `re`/`str.split` over joined
text, pyarrow RE2 and split kernels) were each about as slow as the per-row loop they would
replace; this is about 19x faster than that loop written with the original's patterns
(`bench/clean.py --posts 200000`, lightly loaded 2-core machine; 11.5x under a load of 7).
"""

import html
import logging
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, model_validator

log = logging.getLogger(__name__)
T = TypeVar("T")

MIN_WORDS = 3
MIN_CHARS = 6000
WARN_CHARS = 40000

# Rows handled per numpy pass: big enough to amortise call overhead, small enough that the
# temporaries stay in cache and memory stays flat whatever the input size. Public: tests
# shrink it so that a few rows cross chunk boundaries.
CHUNK_ROWS = 16_384

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

_SPACE, _NEWLINE, _AMPERSAND, _COLON, _AT, _HASH = (ord(c) for c in " \n&:@#")
# Joining two words can spell a new link only across a word ending in a letter of `https`
# and one starting with the rest of `http:`/`https:`.
_LINK_TAIL_BYTES = np.frombuffer(b"htps", np.uint8)
_LINK_HEAD_BYTES = np.frombuffer(b"tps:", np.uint8)
# UTF-8 of the non-ASCII characters `str.isspace()` accepts (U+0085, U+00A0, U+1680,
# U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), as big-endian integers.
_TWO_BYTE_SPACES = np.array([0xC285, 0xC2A0])
_THREE_BYTE_SPACES = np.array(
    [0xE19A80, *range(0xE28080, 0xE2808B), 0xE280A8, 0xE280A9, 0xE280AF, 0xE2819F, 0xE38080]
)


class CleanStats(BaseModel):
    """The card's data table for one user."""

    downloaded: int
    retweets: int
    short: int
    kept: int

    @model_validator(mode="after")
    def _counts_add_up(self) -> "CleanStats":
        if self.short != self.downloaded - self.retweets - self.kept:
            raise ValueError("short must equal downloaded - retweets - kept")
        return self


class NotEnoughTextError(ValueError):
    """A user has too little text left after cleaning to train on."""


# -- rules 1-3 ------------------------------------------------------------------------


# The original's link patterns in its order: for `http:`, then for `https:`, the link with
# the space before it, with the space after it, after a newline with the space after it,
# after a newline, alone; each applied to the whole text. `\S` is Unicode-aware, as there.
_ORIGINAL_LINK_PATTERNS = tuple(
    re.compile(pattern.format(scheme))
    for scheme in ("http:", "https:")
    for pattern in (" {}\\S+", "{}\\S+ ", "\n{}\\S+ ", "\n{}\\S+", "{}\\S+")
)


def remove_links(text: str) -> str:
    """Rule 2 exactly as the original applied it: its five patterns per scheme, in order.

    A link is `http:` or `https:` (lower case) plus at least one non-whitespace character,
    up to the next whitespace; it may start inside a word. What happens to the whitespace
    around it follows from the order of the patterns. Once whitespace is collapsed:

        "see https://t.co/x here"    -> "see here"
        "https://t.co/x\\nhi there"  -> "hi there"
        "a http://x https://y b"     -> "a b"
        "see:https://x.y/z tiny rain" -> "see:tiny rain"  (glued: the space after goes too)
        "(https://x.y) and more"     -> "(and more"
        "foohttp:bar baz"            -> "foobaz"
        "a http: b"                  -> "a http: b"       (nothing after `http:`: no link)
        "HTTPS://X.Y yes"            -> unchanged         (upper case is not a link)

    A link holding another one can take words with it, as it did in the original:
    "https://a.org/?u=http://b.org more words" -> "https://a.org/?u=more words" after the
    `http:` patterns, then "words".
    """
    for pattern in _ORIGINAL_LINK_PATTERNS:
        text = pattern.sub("", text)
    return text


def _clean_chunk(chunk: pa.LargeStringArray) -> pa.LargeStringArray:
    """Rules 1-3 on the chunk's UTF-8 bytes; rows they cannot settle go through `_clean_one`."""
    data, offsets = _utf8_view(chunk)
    entities, decoded, lengths, rare_rows = _common_entities(data, offsets)
    dropped = np.zeros(len(data), dtype=bool)
    for k in range(1, int(lengths.max(initial=1))):
        dropped[entities[lengths > k] + k] = True
    blank = _whitespace_mask(data)
    as_blank, deleted, unsettled = _link_rule(data, offsets, blank)
    blank[as_blank] = True
    blank[deleted] = False  # a joining link's space: deleted, not a separator
    dropped[deleted] = True
    kept_blanks = _separating_blanks(blank, offsets)
    keep = ~blank & ~dropped
    keep[kept_blanks] = True
    text = data.copy()
    text[kept_blanks] = _SPACE
    text[entities] = decoded
    kept = np.flatnonzero(keep)  # then `take`: twice as fast as a boolean mask here
    cleaned = _from_utf8(text.take(kept), np.searchsorted(kept, offsets))
    by_python = rare_rows | unsettled
    if not by_python.any():
        return cleaned
    rows = chunk.take(np.flatnonzero(by_python)).to_pylist()
    redone = pa.array([_clean_one(t) for t in rows], pa.large_string())
    return pc.replace_with_mask(cleaned, pa.array(by_python), redone)


def _clean_one(text: str) -> str:
    if "&" in text:
        text = html.unescape(text)
    if "http" in text:
        text = remove_links(text)
    return " ".join(text.split())


# -- rule 4 ---------------------------------------------------------------------------


def _count_chunk(chunk: pa.LargeStringArray) -> np.ndarray:
    """Counted words per row of single-spaced text: words minus words with a marker."""
    data, offsets = _utf8_view(chunk)
    spaces = np.flatnonzero(data == _SPACE)
    lengths = np.diff(offsets)
    words = np.diff(np.searchsorted(spaces, offsets)) + (lengths > 0)
    markers = _marker_positions(data, offsets)
    # A word's index in the whole chunk is the number of spaces and row starts before it,
    # so words holding several markers are counted once.
    rows = _row_of(markers, offsets)
    word_ids = np.searchsorted(spaces, markers) + rows
    first = np.ones(len(word_ids), dtype=bool)
    first[1:] = word_ids[1:] != word_ids[:-1]
    return words - np.bincount(rows[first], minlength=len(lengths))


def _marker_positions(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sorted byte positions of `@`, `#` and of `http` in any letter case."""
    lowered = data | 0x20  # ASCII letters to lower case; no other byte becomes h, t or p
    double_t = np.flatnonzero((lowered[1:-2] == ord("t")) & (lowered[2:-1] == ord("t"))) + 1
    http = double_t[(lowered[double_t - 1] == ord("h")) & (lowered[double_t + 2] == ord("p"))]
    http = http - 1
    http = http[_row_of(http, offsets) == _row_of(http + 3, offsets)]
    at_or_hash = np.flatnonzero((data == _AT) | (data == _HASH))
    return np.sort(np.concatenate([http, at_or_hash]))


# -- posts ----------------------------------------------------------------------------


def clean_posts(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, CleanStats]]:
    """Drop retweets, clean the rest, keep posts with at least 3 counted words.

    Returns the kept rows (raw's columns, text cleaned, input order, fresh index) and
    every user's counts, ordered by the user's first appearance in `raw`.
    """
    retweet = raw["is_retweet"].fillna(False).to_numpy(dtype=bool)
    cleaned, counts = clean_and_count(raw["text"][~retweet])
    long_enough = (counts >= MIN_WORDS).to_numpy()
    keep = ~retweet
    keep[keep] = long_enough
    others = [c for c in raw.columns if c != "text"]
    kept = raw.loc[keep, others].assign(text=cleaned[long_enough].array)
    kept = kept[list(raw.columns)].reset_index(drop=True)
    return kept, _user_stats(raw["user"], retweet, keep)


def clean_and_count(texts: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Rules 1-3 on every text, and the counted words of each result (rule 4).

    Both keep the index; the texts are Arrow-backed strings, a missing text is "". Lone
    surrogates, possible only in object-dtype input, become U+FFFD: the result is UTF-8.
    For what rule 2 does to each kind of link, see `remove_links`.
    """
    # One pass per chunk: counting while the cleaned bytes are still in cache.
    results = _map_chunks(_clean_and_count_chunk, _to_arrow(texts))
    cleaned = _to_series([chunk for chunk, _ in results], texts)
    counts = np.concatenate([np.zeros(0, np.int64), *(count for _, count in results)])
    return cleaned, pd.Series(counts, index=texts.index)


def _clean_and_count_chunk(chunk: pa.LargeStringArray) -> tuple[pa.LargeStringArray, np.ndarray]:
    cleaned = _clean_chunk(chunk)  # single-spaced, as `_count_chunk` needs
    return cleaned, _count_chunk(cleaned)


def _user_stats(users: pd.Series, retweet: np.ndarray, keep: np.ndarray) -> dict[str, CleanStats]:
    codes, names = pd.factorize(users, use_na_sentinel=False)
    n_users = len(names)
    downloaded = np.bincount(codes, minlength=n_users)
    retweets = np.bincount(codes[retweet], minlength=n_users)
    kept = np.bincount(codes[keep], minlength=n_users)
    return {
        str(name): CleanStats(downloaded=int(d), retweets=int(r), short=int(d - r - k), kept=int(k))
        for name, d, r, k in zip(names, downloaded, retweets, kept, strict=True)
    }


def text_volume_warnings(posts: pd.DataFrame, stats: dict[str, CleanStats]) -> list[str]:
    """Fail when a user's kept text is under MIN_CHARS; warn when under WARN_CHARS.

    A user's text volume is the length of their kept posts joined with one separator
    character, as the dataset joins them. Every user in `stats` is checked, so a user
    with nothing kept fails.
    """
    volume = _text_volume(posts)
    too_little, warnings = [], []
    for user, counts in stats.items():
        chars = volume.get(user, 0)
        line = f"{user}: {chars:,} characters in {counts.kept} of {counts.downloaded} posts kept"
        if chars < MIN_CHARS:
            too_little.append(line)
        elif chars < WARN_CHARS:
            warnings.append(f"{line}; under {WARN_CHARS:,} the bot may sound generic")
    if too_little:
        raise NotEnoughTextError(
            f"not enough text to train on ({'; '.join(too_little)}; {MIN_CHARS:,} needed): "
            "add more posts or another source for these users"
        )
    return warnings


def _text_volume(posts: pd.DataFrame) -> dict[str, int]:
    if posts.empty:
        return {}
    by_user = posts["text"].str.len().groupby(posts["user"], sort=False)
    per_user = by_user.sum() + by_user.count() - 1
    return {str(user): int(chars) for user, chars in per_user.items()}


# -- byte-level rules -----------------------------------------------------------------

# The entities common in posts, decoded in place: the `&` byte becomes the character and
# the rest of the entity is dropped. Any other `&` sends its row to `html.unescape`.
_ENTITIES = {b"&amp;": b"&", b"&lt;": b"<", b"&gt;": b">", b"&quot;": b'"', b"&#39;": b"'"}
_ENTITY_WIDTH = max(map(len, _ENTITIES))


def _common_entities(data: np.ndarray, offsets: np.ndarray):
    """Positions, decoded bytes and lengths of common entities; rows with other `&`s."""
    amps = np.flatnonzero(data == _AMPERSAND)
    last = max(len(data) - 1, 0)
    window = np.zeros(len(amps), dtype=np.uint64)
    for k in range(_ENTITY_WIDTH):
        window = (window << np.uint64(8)) | data[np.minimum(amps + k, last)].astype(np.uint64)
    row_ends = offsets[_row_of(amps, offsets) + 1]
    lengths = np.zeros(len(amps), dtype=np.int64)
    decoded = np.zeros(len(amps), dtype=np.uint8)
    for entity, char in _ENTITIES.items():
        shift = np.uint64(8 * (_ENTITY_WIDTH - len(entity)))
        hit = ((window >> shift) == int.from_bytes(entity)) & (amps + len(entity) <= row_ends)
        lengths[hit] = len(entity)
        decoded[hit] = char[0]
    common = lengths > 0
    rare_rows = _rows_from_positions(amps[~common], offsets)
    return amps[common], decoded[common], lengths[common], rare_rows


def _whitespace_mask(data: np.ndarray) -> np.ndarray:
    """True for every byte of a character `str.isspace()` accepts."""
    blank = (data == _SPACE) | ((data - np.uint8(9)) <= 4) | ((data - np.uint8(28)) <= 3)
    starts, widths = _unicode_space_positions(data)
    for k in range(3):
        blank[starts[widths > k] + k] = True
    return blank


def _link_rule(
    data: np.ndarray, offsets: np.ndarray, blank: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rule 2 on bytes: (positions that become whitespace, positions deleted, rows unsettled).

    Why this equals the original's patterns: a link after whitespace (or at the row start)
    loses at most the whitespace next to it, never the words on either side, so treating its
    bytes as whitespace gives the same collapsed text. A link glued to the word before it
    and followed by exactly one space loses that space (`LINK ` runs before the newline
    patterns), joining the two words; followed by anything else, it is removed alone. Rows
    where a later pattern could first take that space (the next word is itself a link
    after a single space or newline), where joining could spell a new `http:`, or where a
    word holds several `http:`/`https:` are left to `remove_links` (`_clean_one`).
    """
    starts, colons = _link_starts(data, offsets)
    rows = _row_of(starts, offsets)
    row_ends = offsets[rows + 1]
    ends = _next_blank(colons, row_ends, blank)  # the end of the word holding the link
    shared = np.zeros(len(ends), dtype=bool)
    shared[1:] = ends[1:] == ends[:-1]
    shared[:-1] |= shared[1:]
    is_link = ends > colons + 1  # `\S+`: a character after the colon
    initial = (starts == offsets[rows]) | blank[np.maximum(starts - 1, 0)]
    glued = np.flatnonzero(is_link & ~initial)
    after = ends[glued]  # whitespace (or the row end) right after each glued link
    one_blank = (after + 1 < row_ends[glued]) & ~blank[np.minimum(after + 1, len(data) - 1)]
    first = data[np.minimum(after, len(data) - 1)]
    next_is_link = np.isin(after + 1, starts[is_link & initial])
    respells = np.isin(data[starts[glued] - 1], _LINK_TAIL_BYTES) & np.isin(
        data[np.minimum(after + 1, len(data) - 1)], _LINK_HEAD_BYTES
    )
    one_space, one_newline = one_blank & (first == _SPACE), one_blank & (first == _NEWLINE)
    unsure = (one_space & (next_is_link | respells)) | (one_newline & next_is_link)
    join = glued[one_space & ~unsure]
    unsettled = _rows_from_positions(
        np.concatenate([starts[shared], starts[glued[unsure]]]), offsets
    )
    as_blank = is_link.copy()
    as_blank[join] = False
    return (
        _spans(starts[as_blank], ends[as_blank]),
        _spans(starts[join], ends[join] + 1),
        unsettled,
    )


def _spans(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Every position of the half-open ranges [start, end), which must not overlap."""
    widths = ends - starts
    run_offsets = np.repeat(starts - np.cumsum(widths) + widths, widths)
    return run_offsets + np.arange(int(widths.sum()))


def _next_blank(starts: np.ndarray, row_ends: np.ndarray, blank: np.ndarray) -> np.ndarray:
    """First blank position at or after each start, or its row's end if none."""
    blanks = np.flatnonzero(blank)
    following = np.append(blanks, len(blank))[np.searchsorted(blanks, starts)]
    return np.minimum(following, row_ends)


def _link_starts(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the `h` and of the `:` of each `http:` or `https:` inside one row,
    sorted by position."""
    colons = np.flatnonzero(data == _COLON)
    found, found_colons = [], []
    for prefix in (b"http", b"https"):
        starts = colons - len(prefix)
        match = starts >= 0
        for k, char in enumerate(prefix):
            match &= data[np.maximum(starts + k, 0)] == char
        starts, ends = starts[match], colons[match]
        inside = _row_of(starts, offsets) == _row_of(ends, offsets)
        found.append(starts[inside])
        found_colons.append(ends[inside])
    starts, colons = np.concatenate(found), np.concatenate(found_colons)
    order = np.argsort(starts, kind="stable")
    return starts[order], colons[order]


def _separating_blanks(blank: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """First byte of each blank run that has text on both sides within its row."""
    lengths = np.diff(offsets)
    nonempty = lengths > 0
    after_blank = np.ones(len(blank), dtype=bool)
    after_blank[1:] = blank[:-1]
    after_blank[offsets[:-1][nonempty]] = True  # a row's leading run is dropped
    firsts = np.flatnonzero(blank & ~after_blank)
    row_lasts = offsets[1:][nonempty] - 1
    trailing = row_lasts[blank[row_lasts]]
    last_firsts = np.searchsorted(firsts, trailing, side="right") - 1
    row_starts = offsets[_row_of(trailing, offsets)]
    in_row = last_firsts >= 0
    in_row[in_row] = firsts[last_firsts[in_row]] >= row_starts[in_row]
    return np.delete(firsts, last_firsts[in_row])


def _from_utf8(data: np.ndarray, offsets: np.ndarray) -> pa.LargeStringArray:
    return pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(data)
    )


# -- Arrow plumbing -------------------------------------------------------------------


def _to_arrow(texts: pd.Series) -> pa.ChunkedArray:
    """The texts as large UTF-8 strings, nulls as ""."""
    try:
        array = pa.array(texts, type=pa.large_string(), from_pandas=True)
    except UnicodeEncodeError:
        values = [_LONE_SURROGATE.sub("\ufffd", t) if isinstance(t, str) else t for t in texts]
        array = pa.array(values, type=pa.large_string(), from_pandas=True)
    if isinstance(array, pa.Array):
        array = pa.chunked_array([array])
    return pc.fill_null(array, "")


def _map_chunks(function: Callable[[pa.LargeStringArray], T], array: pa.ChunkedArray) -> list[T]:
    """`function` over slices of the array, in order, on a thread per core.

    numpy and Arrow release the GIL in their loops, so the threads really run in parallel.
    """
    chunks = [
        chunk.slice(start, CHUNK_ROWS)
        for chunk in array.chunks
        for start in range(0, len(chunk), CHUNK_ROWS)
    ]
    if len(chunks) <= 1:
        return [function(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=min(len(chunks), os.cpu_count() or 1)) as pool:
        return list(pool.map(function, chunks))


def _to_series(chunks: list[pa.LargeStringArray], like: pd.Series) -> pd.Series:
    array = pa.chunked_array(chunks, type=pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(array), index=like.index, name=like.name)


def _utf8_view(chunk: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray]:
    """The chunk's bytes and row offsets (starting at 0), without copying the bytes."""
    _, offset_buffer, data_buffer = chunk.buffers()
    offsets = np.frombuffer(offset_buffer, np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]
    if data_buffer is None or len(chunk) == 0:
        return np.zeros(0, np.uint8), np.zeros(len(chunk) + 1, np.int64)
    data = np.frombuffer(data_buffer, np.uint8)[offsets[0] : offsets[-1]]
    return data, offsets - offsets[0]


def _row_of(positions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    return np.searchsorted(offsets, positions, side="right") - 1


def _rows_from_positions(positions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    rows = np.zeros(len(offsets) - 1, dtype=bool)
    rows[_row_of(positions, offsets)] = True
    return rows


def _unicode_space_positions(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start bytes and byte widths of the non-ASCII whitespace characters."""
    leads = np.flatnonzero((data == 0xC2) | ((data >= 0xE1) & (data <= 0xE3)))
    last = len(data) - 1
    # Valid UTF-8 has the continuation bytes; clipping only guards a 2-byte char at the end.
    second = data[np.minimum(leads + 1, last)].astype(np.int64)
    third = data[np.minimum(leads + 2, last)].astype(np.int64)
    two = (data[leads].astype(np.int64) << 8) | second
    three = (two << 8) | third
    is_two, is_three = np.isin(two, _TWO_BYTE_SPACES), np.isin(three, _THREE_BYTE_SPACES)
    found = is_two | is_three
    return leads[found], np.where(is_two[found], 2, 3)
