"""Source specs: the handles a source names, read without touching the network."""

import pytest

from tweetbots.sources import SourceError, source_handles


@pytest.mark.parametrize(
    ("spec", "handles"),
    [
        ("mastodon:@Ada@Example.Social", ["ada"]),
        ("bluesky:@Alice.bsky.social", ["alice.bsky.social"]),
        ("twitter:@Dril", ["dril"]),
    ],
)
def test_a_network_source_names_its_handle_without_a_request(spec, handles, monkeypatch):
    import httpx

    def no_network(*args, **kwargs):
        raise AssertionError("a request was made")

    monkeypatch.setattr(httpx.Client, "send", no_network)
    assert source_handles(spec) == handles


def test_a_local_source_is_read_for_its_users(sample_archives, tmp_path):
    csv = tmp_path / "posts.csv"
    csv.write_text("id,user,text\n1,Carol,hello there friends\n2,dave,and hello to you\n")
    assert source_handles(f"archive:{sample_archives[1]}") == ["ollie_stargazes"]
    assert sorted(source_handles(f"file:{csv}")) == ["Carol", "dave"]


def test_a_bad_spec_is_refused():
    with pytest.raises(SourceError, match="unknown source"):
        source_handles("ftp:nowhere")
