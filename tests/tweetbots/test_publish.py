import pytest

from tweetbots.publish import (
    PublishError,
    commit_message,
    parse_target,
    publish,
    published_file_url,
    published_perplexity,
)


def _card(ppl: float) -> str:
    return (
        "---\nmodel-index:\n- name: x\n  results:\n  - metrics:\n"
        f"    - type: perplexity\n      value: {ppl}\n---\n# card\n"
    )


def test_file_target_swaps_the_whole_directory(tmp_path, umask_027):
    (tmp_path / "README.md").write_text(_card(12.5))
    (tmp_path / "model.safetensors").write_bytes(b"weights-1")
    url = publish(
        {"README.md": tmp_path / "README.md", "model.safetensors": tmp_path / "model.safetensors"},
        f"file://{tmp_path}/hub",
        "bot",
        "msg",
    )
    assert url.endswith("/hub/bot")
    assert published_perplexity(f"file://{tmp_path}/hub", "bot") == 12.5

    (tmp_path / "other.txt").write_text("v2")
    publish({"README.md": tmp_path / "other.txt"}, f"file://{tmp_path}/hub", "bot", "msg")
    published = sorted(p.name for p in (tmp_path / "hub" / "bot").iterdir())
    assert published == ["README.md"]  # the old weights went with the old version
    assert [p.name for p in (tmp_path / "hub").iterdir()] == ["bot"]
    assert (tmp_path / "hub" / "bot").stat().st_mode & 0o777 == 0o750  # not mkdtemp's 0700


def test_nothing_published_yet_has_no_perplexity(tmp_path):
    assert published_perplexity(f"file://{tmp_path}", "bot") is None


@pytest.mark.parametrize("target", ["s3://bucket/x", "hf://only-one-part", "file://", "bot"])
def test_malformed_target_is_a_one_line_error(target):
    with pytest.raises(PublishError, match="file://DIR or hf://namespace/name") as error:
        parse_target(target, "bot")
    assert target in str(error.value) and "\n" not in str(error.value)


def test_hub_target_without_token_is_refused_before_any_request(tmp_path):
    (tmp_path / "README.md").write_text("x")
    with pytest.raises(PublishError, match="HF_TOKEN"):
        publish({"README.md": tmp_path / "README.md"}, "hf://me/bot", "bot", "msg", token=None)


def test_thumbnail_is_absolute_on_the_hub_and_beside_the_card_in_a_directory(tmp_path):
    assert (
        published_file_url("hf://me/bot", "bot", "predictions.png")
        == "https://huggingface.co/me/bot/resolve/main/predictions.png"
    )
    assert published_file_url(f"file://{tmp_path}", "bot", "predictions.png") == "predictions.png"


def test_commit_message_links_the_flow_run():
    run = "http://127.0.0.1:4200/runs/flow-run/0b7e5f0e"
    assert commit_message("bot", run) == f"tweetbots: publish bot (Prefect flow run {run})"
