"""The model card (tweetbots/card.py): the seeds' sections and table, Hub metadata, and
user text that cannot inject YAML, HTML or Markdown."""

import re
from pathlib import Path

import pytest
import yaml

from tests.fakes.cards import headings, table
from tweetbots.card import CardData, CardUser, model_name, read_card_perplexity, render_card

SEEDS = Path(__file__).parents[1] / "data"


def _users(n: int) -> list[CardUser]:
    names = ["Maya 🍞 Okafor", "Nadia Stars", "Gus <b>Gears</b> | fast"]
    return [
        CardUser(
            user=f"user{i}",
            display_name=names[i],
            avatar_url=f"https://e.org/{i}.png",
            downloaded=100 + i,
            retweets=10,
            short=20,
            kept=70 + i,
        )
        for i in range(n)
    ]


def _card(n: int) -> str:
    return render_card(
        CardData(
            model_id="me/bot",
            users=_users(n),
            base_model="gpt2",
            base_model_id="openai-community/gpt2",
            license="mit",
            perplexity=31.4159,
            base_perplexity=80.0,
        )
    )


def test_cyborg_card_has_the_seeds_sections_and_table_shape():
    seed = (SEEDS / "seed_cyborg_card.md").read_text(encoding="utf-8")
    ours = _card(3)
    assert headings(ours) == headings(seed)
    seed_table, our_table = table(seed), table(ours)
    assert [r[0] for r in our_table] == [r[0] for r in seed_table]
    assert [len(r) for r in our_table] == [len(r) for r in seed_table] == [4] * 6
    assert our_table[2] == ["Tweets downloaded", "100", "101", "102"]


def test_single_user_card_uses_quantity_column():
    seed = (SEEDS / "seed_single_card.md").read_text(encoding="utf-8")
    ours = _card(1)
    assert headings(ours) == headings(seed)
    assert table(ours)[0] == table(seed)[0] == ["Data", "Quantity"]


def test_card_is_utf8_and_has_hub_metadata():
    text = _card(3)
    assert "🤖 AI CYBORG 🤖" in text and "ðŸ" not in text
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["library_name"] == "transformers"
    assert meta["pipeline_tag"] == "text-generation"
    assert meta["base_model"] == "openai-community/gpt2"
    assert "huggingtweets" in meta["tags"]
    assert meta["widget"] == [{"text": "My dream is"}]
    assert read_card_perplexity(text) == 31.4159


def test_card_metadata_round_trips_through_huggingface_hubs_card_classes():
    """Read back as the Hub reads it: `ModelCard`, its `ModelCardData` and `EvalResult`s."""
    from huggingface_hub import ModelCard

    text = render_card(
        CardData(
            model_id="me/bot",
            users=_users(1),
            base_model="gpt2",
            base_model_id="openai-community/gpt2",
            license="mit",
            language="fr",
            perplexity=31.41592,
            base_perplexity=80.0,
            thumbnail="https://hub.example/me/bot/resolve/main/predictions.png",
        )
    )
    data = ModelCard(text).data
    assert (data.license, data.language) == ("mit", "fr")
    assert data.base_model == "openai-community/gpt2"
    assert (data.library_name, data.pipeline_tag) == ("transformers", "text-generation")
    assert data.thumbnail == "https://hub.example/me/bot/resolve/main/predictions.png"
    (result,) = data.eval_results
    assert (result.task_type, result.dataset_type, result.metric_type) == (
        "text-generation",
        "posts",
        "perplexity",
    )
    assert result.metric_value == 31.4159 == read_card_perplexity(text)
    assert data.model_name == "me/bot"


@pytest.mark.parametrize(
    "front_matter",
    [
        "foo: [unclosed",  # not YAML
        "- a list\n- not a mapping",
        "model-index: 3",  # not a model-index
        "model-index:\n- name: x\n  results:\n  - task: {type: t}\n    metrics:\n"
        "    - {type: perplexity, value: twelve}",  # not a number (nor a dataset)
    ],
)
def test_a_card_whose_metadata_cannot_be_read_declares_no_perplexity(front_matter):
    assert read_card_perplexity(f"---\n{front_matter}\n---\n# bot\n") is None


def test_user_text_cannot_inject_html_or_break_the_table():
    text = _card(3)
    assert "<b>" not in text and "&lt;b&gt;Gears&lt;/b&gt;" in text
    assert all(len(row) == 4 for row in table(text))


def test_tiny_base_is_not_declared_as_a_hub_model_nor_called_pre_trained():
    text = render_card(
        CardData(
            model_id="/tmp/x/bot",
            users=_users(1),
            base_model="tiny",
            perplexity=5.0,
            base_perplexity=900.0,
        )
    )
    meta = yaml.safe_load(text.split("---\n")[1])
    assert "base_model" not in meta and "license" not in meta  # built here: none to inherit
    assert "pre-trained" not in text
    assert "trained from scratch on @bot's posts." in text
    assert "limitations and bias as GPT-2" not in text


def test_a_hub_base_is_linked_by_its_canonical_id():
    text = _card(1)
    link = "[openai-community/gpt2](https://huggingface.co/openai-community/gpt2)"
    assert f"The model is based on the pre-trained {link}, which is fine-tuned on" in text


def test_model_name_is_the_originals():
    assert model_name(["horse_ebooks", "dril", "Fart"]) == "dril-fart-horse_ebooks"


def test_read_card_perplexity_of_a_card_without_metadata():
    assert read_card_perplexity("# just a readme\n") is None


HOSTILE_NAME = "Eve\n---\nbase_model: evil/model\n\n<script>alert(1)</script>\n---"


def _front_matter(card_text: str) -> dict:
    """The metadata as the Hub reads it: the YAML between the first two `---` lines."""
    match = re.match(r"^---\n(.*?)\n---\n", card_text, re.DOTALL)
    assert match, card_text[:200]
    return yaml.safe_load(match.group(1))


def _user(
    display_name: str,
    avatar_url: str | None = None,
    user: str = "eve",
    profile_url: str | None = None,
) -> CardUser:
    return CardUser(
        user=user,
        display_name=display_name,
        avatar_url=avatar_url,
        profile_url=profile_url,
        downloaded=10,
        retweets=1,
        short=2,
        kept=7,
    )


def _render(*users: CardUser) -> str:
    return render_card(
        CardData(
            model_id="me/bot",
            users=list(users),
            base_model="gpt2",
            perplexity=12.5,
            base_perplexity=80.0,
        )
    )


def test_display_names_cannot_inject_yaml_html_or_markdown():
    text = _render(_user(HOSTILE_NAME), _user("Bob"))
    assert _front_matter(text) == _front_matter(_render(_user("Eve"), _user("Bob")))
    assert "<script" not in text and "&lt;script&gt;" in text
    # One `---` line closes the front matter; none comes from the name (a line of its own
    # after a blank line would end the HTML block and start Markdown).
    assert text.splitlines().count("---") == 2
    assert all(len(row) == 3 for row in table(text))  # Data + two users


MARKDOWN_NAME = "![x](https://evil.example/t.png) [win](https://evil.example) **big** `c`"


def _rendered_markdown(card_text: str) -> str:
    """The card's body as a CommonMark renderer with GFM tables turns it into HTML
    (markdown-it-py comes with rich, which Prefect and Typer use)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(card_text.split("\n---\n", 1)[1])


def test_display_names_cannot_inject_markdown_links_or_images():
    text = _render(_user(MARKDOWN_NAME, user="eve"), _user("Bob_ebooks", user="bob"))
    rendered = _rendered_markdown(text)
    assert "<img" not in rendered and "evil.example" not in "".join(
        re.findall(r'(?:href|src)="[^"]*"', rendered)
    )
    assert "<strong>big</strong>" not in rendered and "<code>c</code>" not in rendered
    # Rendered, the names read as typed: in the table header and the training sentence.
    assert f"<th>{MARKDOWN_NAME}</th>" in rendered and "<th>Bob_ebooks</th>" in rendered
    assert f"trained on posts from Bob_ebooks &amp; {MARKDOWN_NAME}." in rendered
    assert all(len(row) == 3 for row in table(text))


def test_an_ampersand_before_a_space_stays_raw_like_the_seeds():
    text = _render(_user("Tom & Jerry", user="a"), _user("AT&T", user="b"))
    assert "Tom & Jerry & AT&amp;T</div>" in text  # the header block: HTML
    assert "trained on posts from Tom & Jerry & AT&amp;T." in text  # Markdown
    assert table(text)[0] == ["Data", "Tom & Jerry", "AT&amp;T"]


def test_single_user_header_is_the_seeds_layout():
    seed = (SEEDS / "seed_single_card.md").read_text(encoding="utf-8")
    # The seed's writer decoded UTF-8 as Mac Roman ("ü§ñ" for 🤖): undo that to compare.
    seed_header = re.search(r"^<div>\n.*?</div>\n</div>$", seed, re.DOTALL | re.MULTILINE)
    avatar = "https://pbs.twimg.com/profile_images/1374331704735846401/4VYA1Ee0_400x400.jpg"
    ours = render_card(
        CardData(
            model_id="huggingtweets/leaacta",
            users=[_user("Instance Of Cat ☀️", avatar, user="leaacta")],
            base_model="gpt2",
            perplexity=12.5,
            base_perplexity=80.0,
        )
    )
    assert seed_header.group(0).encode("mac_roman").decode("utf-8") in ours
    assert "@leaacta bot</div>" in ours and "AI CYBORG" not in ours


def test_users_are_in_the_model_names_order():
    """Seed 002: ladygaga-lennykravitz-snoopdogg is "Lady Gaga & Lenny Kravitz & Snoop Dogg"."""
    users = [
        _user("Snoop Dogg", "https://e.org/snoop.png", user="SnoopDogg"),
        _user("Lady Gaga", "https://e.org/gaga.png", user="ladygaga"),
        _user("Lenny Kravitz", "https://e.org/lenny.png", user="LennyKravitz"),
    ]
    text = _render(*users)
    names = "Lady Gaga & Lenny Kravitz & Snoop Dogg"
    assert f">{names}</div>" in text and f"trained on posts from {names}." in text
    assert table(text)[0] == ["Data", "Lady Gaga", "Lenny Kravitz", "Snoop Dogg"]
    avatars = re.findall(r"url\('https://e.org/(\w+).png'\)", text)
    assert avatars == ["gaga", "lenny", "snoop"]
    assert model_name([u.user for u in users]) == "ladygaga-lennykravitz-snoopdogg"


def test_avatar_urls_stay_inside_their_css_url():
    breakout = "https://e.org/a.png'); background: url('https://evil.example/x.png"
    text = _render(_user("Eve", breakout), _user("Bob", "javascript:alert(1)"))
    urls = re.findall(r"background-image: url\('([^']*)'\)\"", text)
    assert len(urls) == 2, text
    assert urls[0].startswith("https://e.org/a.png") and not set("'\"() ") & set(urls[0])
    assert urls[1] == ""  # not an http(s) URL: no image


# The seeds' sentences, with "tweets" or "posts" and any handle or URL.
_TRAINED_ON_ONE_USER = re.compile(
    r"^The model was trained on \[@[^\]]+'s (tweets|posts)\]\(https://[^)\s]+\)\.$", re.M
)
_FINAL_MODEL = re.compile(
    r"^At the end of training, \[the final model\]\(https://[^)\s]+/artifacts\) is logged "
    r"and versioned\.$",
    re.M,
)


def test_one_users_data_sentence_links_their_profile_like_the_seeds():
    seed = (SEEDS / "seed_single_card.md").read_text(encoding="utf-8")
    profile = "https://example.social/@ada"
    text = _render(_user("Ada", user="ada@example.social", profile_url=profile))
    assert _TRAINED_ON_ONE_USER.search(seed) and _TRAINED_ON_ONE_USER.search(text)
    assert f"[@ada\\@example.social's posts]({profile})." in text


def test_a_profile_url_cannot_break_out_of_its_link():
    text = _render(_user("Eve", profile_url="https://e.org/x) [click](https://evil.example"))
    (link,) = re.findall(r"trained on \[[^\]]*\]\(([^)]*)\)\.", text)
    assert link.startswith("https://e.org/x") and not set("() <>") & set(link)
    for unlinkable in ("javascript:alert(1)", None):
        text = _render(_user("Eve", profile_url=unlinkable))
        assert "The model was trained on @eve's posts.\n" in text


def test_the_final_model_sentence_links_the_training_runs_artifacts():
    seed = (SEEDS / "seed_single_card.md").read_text(encoding="utf-8")
    run = "https://wandb.ai/me/tweetbots/runs/abc123"
    text = render_card(
        CardData(
            model_id="me/bot",
            users=[_user("Eve")],
            base_model="gpt2",
            perplexity=12.5,
            base_perplexity=80.0,
            wandb_train_url=run,
        )
    )
    assert _FINAL_MODEL.search(seed) and _FINAL_MODEL.search(text)
    assert f"[the final model]({run}/artifacts)" in text
    assert "At the end of training, the final model is logged and versioned." in _render(
        _user("Eve")
    )


# -- cyborgs of more than 3 users -----------------------------------------------------------


def test_a_cyborg_of_ten_shows_every_avatar_and_column():
    users = [
        CardUser(
            user=f"u{i:02d}",
            display_name=f"User {i}",
            avatar_url=f"https://e.org/{i}.png",
            downloaded=100 + i,
            retweets=1,
            short=2,
            kept=97 + i,
        )
        for i in range(10)
    ]
    text = render_card(
        CardData(
            model_id="me/ten",
            users=users,
            base_model="gpt2",
            perplexity=3.0,
            base_perplexity=9.0,
        )
    )
    avatars = re.findall(r"background-image: url\('https://e\.org/(\d+)\.png'\)", text)
    assert avatars == [str(i) for i in range(10)]
    rows = table(text)
    assert rows[0] == ["Data", *(f"User {i}" for i in range(10))]
    assert rows[2] == ["Tweets downloaded", *(str(100 + i) for i in range(10))]
    assert " & ".join(f"User {i}" for i in range(10)) in text
