import numpy as np
import pandas as pd

from tweetbots.encode import is_validation, pack_blocks, smallest_dtype


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
