"""The hf:// target against a fake Hub on 127.0.0.1, driven by the real huggingface_hub client."""

import pytest

from tests.fakes.hub import TOKEN
from tweetbots.card import CardData, CardUser, read_card_perplexity, render_card
from tweetbots.targets import PublishError, open_target

RUN_URL = "http://127.0.0.1:4200/runs/flow-run/0b7e5f0e-1111-2222-3333-444455556666"
MESSAGE = f"tweetbots: publish bot (Prefect flow run {RUN_URL})"


def publish(files, uri: str, bot: str, message: str, token: str | None) -> str:
    return open_target(uri, bot, token).publish(files, message)


def published_perplexity(uri: str, bot: str, token: str | None) -> float | None:
    card = open_target(uri, bot, token).published_card()
    return None if card is None else read_card_perplexity(card)


def _bot_files(tmp_path, perplexity: float, weights: bytes = b"\x08\x00\x00\x00\x00\x00\x00\x00{}"):
    card = CardData(
        model_id="me/bot",
        users=[
            CardUser(
                user="alice", display_name="Alice 🌻", downloaded=10, retweets=1, short=2, kept=7
            )
        ],
        base_model="gpt2",
        perplexity=perplexity,
        base_perplexity=80.0,
    )
    (tmp_path / "README.md").write_text(render_card(card), encoding="utf-8")
    (tmp_path / "model.safetensors").write_bytes(weights)
    tokenizer = tmp_path / "tokenizer"
    (tokenizer / "nested").mkdir(parents=True, exist_ok=True)
    (tokenizer / "vocab.json").write_text('{"a": 0}')
    (tokenizer / "nested" / "merges.txt").write_text("#version: 0.2\n")
    return {
        "README.md": tmp_path / "README.md",
        "model.safetensors": tmp_path / "model.safetensors",
        "tokenizer": tokenizer,
    }


def test_publish_is_one_commit_with_every_file_and_the_run_link(hub, tmp_path):
    files = _bot_files(tmp_path, perplexity=21.5)

    url = publish(files, "hf://me/bot", "bot", MESSAGE, token=TOKEN)

    repo = hub.repos["me/bot"]
    assert [c.message for c in repo.commits] == ["initial commit", MESSAGE]
    assert hub.calls("commit") == 1
    assert url == f"{hub.url}/me/bot/commit/{repo.head}"
    assert TOKEN not in url
    assert repo.files["README.md"] == (tmp_path / "README.md").read_bytes()
    assert repo.files["model.safetensors"] == (tmp_path / "model.safetensors").read_bytes()
    assert repo.files["tokenizer/vocab.json"] == b'{"a": 0}'
    assert repo.files["tokenizer/nested/merges.txt"] == b"#version: 0.2\n"
    assert sorted(repo.commits[-1].paths) == [
        "README.md",
        "model.safetensors",
        "tokenizer/nested/merges.txt",
        "tokenizer/vocab.json",
    ]


def test_gate_reads_the_published_cards_perplexity(hub, tmp_path):
    assert published_perplexity("hf://me/bot", "bot", TOKEN) is None  # no repo yet

    publish(_bot_files(tmp_path, perplexity=21.5), "hf://me/bot", "bot", MESSAGE, token=TOKEN)
    assert published_perplexity("hf://me/bot", "bot", TOKEN) == 21.5

    # A better model replaces it; the gate then sees the new card, not a cached old one.
    publish(
        _bot_files(tmp_path, perplexity=18.25, weights=b"better"),
        "hf://me/bot",
        "bot",
        MESSAGE,
        token=TOKEN,
    )
    assert published_perplexity("hf://me/bot", "bot", TOKEN) == 18.25
    assert hub.repos["me/bot"].files["model.safetensors"] == b"better"
    # Unchanged files are not sent again: the second commit holds only what changed.
    assert hub.repos["me/bot"].commits[-1].paths == ["README.md", "model.safetensors"]


def test_retrying_a_publish_that_landed_makes_no_second_commit(hub, tmp_path):
    """A retry after a lost response resends the same files: the Hub already has them."""
    first = publish(_bot_files(tmp_path, 21.5), "hf://me/bot", "bot", MESSAGE, token=TOKEN)
    again = publish(_bot_files(tmp_path, 21.5), "hf://me/bot", "bot", MESSAGE, token=TOKEN)
    assert again == first
    assert len(hub.repos["me/bot"].commits) == 2


def test_repo_without_a_card_has_no_perplexity(hub, tmp_path):
    (tmp_path / "notes.txt").write_text("no card here")
    publish({"notes.txt": tmp_path / "notes.txt"}, "hf://me/bot", "bot", MESSAGE, token=TOKEN)
    assert published_perplexity("hf://me/bot", "bot", TOKEN) is None


@pytest.mark.parametrize("action", ["publish", "gate"])
def test_wrong_token_is_a_one_line_error_without_the_token(hub, tmp_path, action):
    wrong = "hf_wrong_token_9876543210"
    with pytest.raises(PublishError, match="token rejected by the Hub for me/bot") as error:
        if action == "publish":
            publish(_bot_files(tmp_path, 21.5), "hf://me/bot", "bot", MESSAGE, token=wrong)
        else:
            published_perplexity("hf://me/bot", "bot", wrong)
    assert "\n" not in str(error.value)
    assert "Invalid credentials" in str(error.value)
    for exc in (error.value, error.value.__cause__):
        assert wrong not in str(exc) and TOKEN not in str(exc)
    assert "me/bot" not in hub.repos


@pytest.mark.parametrize(("endpoint", "status"), [("commit", 500), ("resolve", 503)])
def test_hub_server_errors_keep_their_status_for_the_retry(hub, tmp_path, endpoint, status):
    """The Prefect task retries when `error.response.status_code` is 5xx."""
    files = _bot_files(tmp_path, 21.5)
    publish(files, "hf://me/bot", "bot", MESSAGE, token=TOKEN)
    hub.fail(endpoint, status)

    with pytest.raises(Exception) as error:  # noqa: B017 - the client's own type is the point
        if endpoint == "commit":
            publish(_bot_files(tmp_path, 18.0), "hf://me/bot", "bot", MESSAGE, token=TOKEN)
        else:
            published_perplexity("hf://me/bot", "bot", TOKEN)

    assert not isinstance(error.value, PublishError)
    assert error.value.response.status_code == status
    assert TOKEN not in str(error.value)
    assert len(hub.repos["me/bot"].commits) == 2  # nothing half-published
    assert published_perplexity("hf://me/bot", "bot", TOKEN) == 21.5


def test_private_applies_to_a_new_repo_only(hub, tmp_path):
    """An existing repo keeps the visibility its owner gave it."""
    files = _bot_files(tmp_path, 21.5)
    open_target("hf://me/secret", "secret", TOKEN).publish(files, MESSAGE, private=True)
    open_target("hf://me/open", "open", TOKEN).publish(files, MESSAGE)
    assert (hub.repos["me/secret"].private, hub.repos["me/open"].private) == (True, False)

    open_target("hf://me/open", "open", TOKEN).publish(_bot_files(tmp_path, 20.0), MESSAGE, True)
    assert hub.repos["me/open"].private is False
