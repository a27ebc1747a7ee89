"""What the source parsers are fuzzed with (hypothesis), and what they must give back:
posts the raw store accepts, or our own one-line `SourceError`, never anything else.

Inputs are both arbitrary (bytes, text, JSON of any shape) and near-valid (the real
structure with fields of the wrong type, missing or hostile), since a parser's weak spots
are usually one field deep.
"""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tweetbots import rawstore
from tweetbots.sources import RAW_COLUMNS, SourceError

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Text with the characters parsers trip on: NUL, lone surrogates, RTL marks, quotes.
TEXT = st.text(
    st.characters(codec=None, exclude_categories=()) | st.sampled_from("\x00\ud800\u202e\"'<>&")
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)


def field(plausible: st.SearchStrategy) -> st.SearchStrategy:
    """A field's value: usually a plausible one, sometimes any JSON at all."""
    return st.one_of(plausible, plausible, JSON)


def assert_valid_or_our_error(read) -> None:
    """`read()` gives posts the raw store takes and gives back, or a one-line SourceError."""
    try:
        batch = read()
    except SourceError as error:
        assert "\n" not in str(error)
        return
    posts = batch.posts
    assert list(posts.columns) == RAW_COLUMNS
    assert posts["id"].notna().all() and posts["user"].notna().all()
    assert posts["text"].notna().all()
    with tempfile.TemporaryDirectory() as root:
        try:
            users = rawstore.append_posts(posts, Path(root))
        except SourceError as error:  # a hostile user name, refused by the store
            assert "\n" not in str(error)
            return
        stored = rawstore.read_posts(users, Path(root))
    assert set(stored["id"]) == set(posts["id"])
