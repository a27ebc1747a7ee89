"""The allowed roots of a run started through the API or UI: what a BotSpec may read and
write on this machine, compared after `~`, `..` and symlinks are resolved."""

import os

import pytest

from tweetbots.allowed import NotAllowedError, allowed_roots, check_allowed, local_paths
from tweetbots.config import BotSpec
from tweetbots.stages.publish import PublishSettings


@pytest.fixture
def layout(tmp_path, data_root):
    """The data root with a source in it; a listed directory; a directory outside both."""
    (data_root / "sample").mkdir(parents=True)
    (data_root / "sample" / "ok.csv").write_text("text\nhello there friends\n")
    listed, outside = tmp_path / "listed", tmp_path / "outside"
    listed.mkdir()
    outside.mkdir()
    (outside / "secret.csv").write_text("text\nnot for strangers\n")
    return data_root, listed, outside


def _bot(*sources: str, target: str | None = None, base_model: str = "tiny") -> BotSpec:
    return BotSpec(
        name="bot",
        sources=list(sources),
        base_model=base_model,
        publish=PublishSettings(target=target),
    )


def test_sources_and_targets_inside_the_data_root_are_allowed(layout):
    root, _, _ = layout
    bot = _bot(f"file:{root / 'sample' / 'ok.csv'}", target=(root / "hub").as_uri())
    check_allowed(bot, [root])
    check_allowed(_bot(f"file:{root / 'sample' / 'ok.csv'}"), [root])  # default target


@pytest.mark.parametrize(
    "make_bot, named",
    [
        (lambda root, out: _bot(f"file:{out / 'secret.csv'}"), "source 'file:"),
        (lambda root, out: _bot(f"archive:{out}"), "source 'archive:"),
        (lambda root, out: _bot(f"file:{root}/sample/../../outside/secret.csv"), "source"),
        (
            lambda root, out: _bot(f"file:{root / 'sample' / 'ok.csv'}", target=out.as_uri()),
            "target",
        ),
        (lambda root, out: _bot(f"file:{root / 'sample' / 'ok.csv'}", base_model=str(out)), "base"),
    ],
    ids=["file source", "archive source", "dot-dot", "file target", "local base model"],
)
def test_a_path_outside_the_roots_is_refused_in_one_line(layout, make_bot, named):
    root, listed, outside = layout
    with pytest.raises(NotAllowedError) as refused:
        check_allowed(make_bot(root, outside), [root, listed])
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(named)
    assert str(outside.resolve()) in message  # where it really leads
    assert "TWEETBOTS_ALLOWED_DIRS" in message  # the fix


def test_a_symlink_inside_the_root_that_leads_outside_is_refused(layout):
    root, _, outside = layout
    (root / "sample" / "link.csv").symlink_to(outside / "secret.csv")
    (root / "published-elsewhere").symlink_to(outside, target_is_directory=True)
    with pytest.raises(NotAllowedError, match="secret.csv"):
        check_allowed(_bot(f"file:{root / 'sample' / 'link.csv'}"), [root])
    target = (root / "published-elsewhere").as_uri()
    with pytest.raises(NotAllowedError, match="target"):
        check_allowed(_bot(f"file:{root / 'sample' / 'ok.csv'}", target=target), [root])


def test_a_root_reached_through_a_symlink_still_allows_its_files(layout, tmp_path):
    root, _, _ = layout
    alias = tmp_path / "alias"
    alias.symlink_to(root, target_is_directory=True)
    check_allowed(_bot(f"file:{root / 'sample' / 'ok.csv'}"), [alias])
    check_allowed(_bot(f"file:{alias / 'sample' / 'ok.csv'}"), [root])


def test_directories_listed_in_the_setting_are_allowed(layout, monkeypatch, tmp_path):
    root, listed, outside = layout
    (listed / "posts.csv").write_text("text\nhello there friends\n")
    other = tmp_path / "other"
    monkeypatch.setenv("TWEETBOTS_ALLOWED_DIRS", os.pathsep.join([str(listed), "", str(other)]))
    assert allowed_roots() == [root, listed, other]
    check_allowed(
        _bot(f"file:{listed / 'posts.csv'}", target=(other / "hub").as_uri()), allowed_roots()
    )
    with pytest.raises(NotAllowedError):
        check_allowed(_bot(f"file:{outside / 'secret.csv'}"), allowed_roots())


def test_network_sources_hub_models_and_hub_targets_are_not_local_paths(layout):
    root, _, _ = layout
    bot = _bot("mastodon:@ada@example.social", "bluesky:ada.bsky.social", target="hf://me/bot")
    assert local_paths(bot.model_copy(update={"base_model": "gpt2"})) == []
    check_allowed(bot, [root])


def test_a_relative_path_is_judged_where_the_reader_would_read_it(layout, monkeypatch):
    root, _, outside = layout
    monkeypatch.chdir(outside)
    with pytest.raises(NotAllowedError, match="secret.csv"):
        check_allowed(_bot("file:secret.csv"), [root])
    monkeypatch.chdir(root)
    check_allowed(_bot("file:sample/ok.csv"), [root])
