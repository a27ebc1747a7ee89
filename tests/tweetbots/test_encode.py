import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tweetbots.encode import balance_users, is_validation, pack_blocks, smallest_dtype
from tweetbots.sources import to_raw_frame


def test_pack_blocks_joins_with_eos_and_cuts_full_blocks():
    blocks = pack_blocks([[1, 2], [3], [4, 5, 6]], eos_id=0, block_size=4)
    # EOS 1 2 EOS 3 EOS 4 5 6 EOS -> 10 tokens -> 2 blocks of 4, remainder dropped
    assert blocks.tolist() == [[0, 1, 2, 0], [3, 0, 4, 5]]


def test_pack_blocks_short_stream_is_one_short_block():
    assert pack_blocks([[7, 8]], eos_id=0, block_size=16).tolist() == [[0, 7, 8, 0]]


def test_split_is_stable_as_data_grows():
    ids = pd.Series([str(i) for i in range(5000)])
    before = is_validation(ids, 0.1)
    after = is_validation(pd.concat([ids, pd.Series(["new1", "new2"])]), 0.1)
    assert (after[:5000] == before).all()
    assert 0.08 < before.mean() < 0.12


def test_smallest_dtype_fits_vocab():
    assert smallest_dtype(50257) == np.uint16
    assert smallest_dtype(70000) == np.uint32


# -- balancing -----------------------------------------------------------------------------


def _posts(lengths_by_user: dict[str, list[int]]) -> pd.DataFrame:
    rows = [
        (user, " ".join(["w" * max(1, n - 2), "x"])[:n].ljust(n, "y"), False)
        for user, lengths in lengths_by_user.items()
        for n in lengths
    ]
    return to_raw_frame(
        pd.DataFrame(
            {
                "id": [str(i) for i in range(len(rows))],
                "user": [r[0] for r in rows],
                "created_at": pd.Timestamp("2022-01-01", tz="UTC"),
                "text": [r[1] for r in rows],
                "is_retweet": [r[2] for r in rows],
                "is_reply": False,
                "platform": "twitter",
                "url": None,
            }
        )
    )


def _chars(posts: pd.DataFrame) -> dict[str, int]:
    return posts["text"].str.len().groupby(posts["user"], sort=False).sum().to_dict()


def test_balance_brings_every_user_near_the_largest():
    posts = _posts({"big": [100] * 50, "small": [7, 30, 13], "mid": [40, 45, 50, 55] * 5})
    balanced = balance_users(posts, seed=1)
    chars = _chars(balanced)
    target = 5000
    longest = posts["text"].str.len().groupby(posts["user"]).max().to_dict()
    assert chars["big"] == target
    for user in ("small", "mid"):
        assert target <= chars[user] < target + longest[user]
    assert list(dict.fromkeys(balanced["user"])) == ["big", "small", "mid"]


def test_balance_of_a_ten_user_cyborg():
    lengths = {f"user{i}": [20 + 7 * i] * (3 + 5 * i) for i in range(10)}
    posts = _posts(lengths)
    chars = _chars(balance_users(posts, seed=7))
    target = max(sum(v) for v in lengths.values())
    assert list(chars) == list(lengths)
    for user, user_lengths in lengths.items():
        assert target <= chars[user] < target + max(user_lengths)


def test_balance_is_deterministic_and_seeded():
    posts = _posts({"a": [50] * 20, "b": [10, 20, 30, 40]})
    first, again = balance_users(posts, seed=3), balance_users(posts, seed=3)
    assert first["id"].tolist() == again["id"].tolist()
    assert first["id"].tolist() != balance_users(posts, seed=4)["id"].tolist()


def test_balance_shuffles_each_pass_independently():
    posts = _posts({"a": [1000], "b": list(range(10, 20))})
    ids = balance_users(posts, seed=0).query("user == 'b'")["id"].tolist()
    passes = [ids[i : i + 10] for i in range(0, len(ids) - 9, 10)]
    assert len(passes) >= 5
    assert all(sorted(p) == sorted(passes[0]) for p in passes)  # whole passes
    assert len({tuple(p) for p in passes}) > 1


def test_balance_one_user_unchanged():
    posts = _posts({"solo": [10, 20, 30]})
    assert balance_users(posts, seed=0) is posts
    empty = posts.iloc[:0]
    assert balance_users(empty, seed=0) is empty


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(1, 300), min_size=1, max_size=30),
    st.lists(st.integers(1, 300), min_size=1, max_size=30),
    st.integers(0, 2**32),
)
def test_balance_property(lengths_a, lengths_b, seed):
    posts = _posts({"a": lengths_a, "b": lengths_b})
    chars = _chars(balance_users(posts, seed))
    target = max(sum(lengths_a), sum(lengths_b))
    assert target <= chars["a"] < target + max(lengths_a)
    assert target <= chars["b"] < target + max(lengths_b)
