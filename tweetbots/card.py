"""The model card: the original's sections and data table, in UTF-8, plus Hub metadata.

Section order follows the published cards in shared/seeds/. The metadata is built and read
back with huggingface_hub's own card classes (`ModelCardData`, `EvalResult`, `ModelCard`),
as the Hub reads it. Everything a user controls (display names, avatar URLs, handles) is
escaped for the place it lands: YAML through a real YAML emitter, HTML with `html.escape`,
Markdown text with its punctuation backslash-escaped as well.
"""

import html
import re
from urllib.parse import quote

import yaml
from pydantic import BaseModel, field_validator

TINY = "tiny"  # the base built here from the bot's posts (tweetbots.stages.base_model)

REPO_URL = "https://github.com/tweetbots/tweetbots"
# The original cards' data table: (row label, CleanStats field).
DATA_ROWS = [
    ("Tweets downloaded", "downloaded"),
    ("Retweets", "retweets"),
    ("Short tweets", "short"),
    ("Tweets kept", "kept"),
]
# What user text must not carry into Markdown, each backslash-escaped: the characters that
# open emphasis, code, links, images, table cells, headings and math, plus `:`, `@` and
# the dot of `www.`, with which GFM would autolink a bare URL or address.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+!|~$:@]|(?<=www)\.", re.IGNORECASE)


class CardUser(BaseModel):
    user: str
    display_name: str
    avatar_url: str | None = None
    profile_url: str | None = None
    downloaded: int
    retweets: int
    short: int
    kept: int


class CardData(BaseModel):
    model_id: str
    users: list[CardUser]
    base_model: str  # as the bot names it: a Hub id, a local directory, or `tiny`
    base_model_id: str | None = None  # its canonical Hub id; None when not on the Hub
    license: str | None = None  # a Hub license id (mit, apache-2.0, ...)
    language: str = "en"
    perplexity: float
    base_perplexity: float
    thumbnail: str | None = None
    wandb_data_url: str | None = None
    wandb_train_url: str | None = None

    @field_validator("users")
    @classmethod
    def _in_model_name_order(cls, users: list[CardUser]) -> list[CardUser]:
        """Avatars, display name and table columns follow the handles' order in the model
        name (the original's "Lady Gaga & Lenny Kravitz & Snoop Dogg")."""
        return sorted(users, key=lambda u: u.user.lower())


def data_table(header: list[str], columns: list[dict]) -> str:
    """The data table in Markdown: `header` cells, then one column of counts per user."""
    table = [_row(header), _row(["---"] * len(header))]
    table += [_row([label, *(str(c[field]) for c in columns)]) for label, field in DATA_ROWS]
    return "\n".join(table)


def model_name(users: list[str]) -> str:
    """The original's naming: handles lower-cased, sorted, joined with '-'; whatever else
    a handle holds (a Bluesky DID's `:`, say) becomes `_`, so it is a valid bot name."""
    joined = "-".join(sorted(u.lower() for u in users))
    return re.sub(r"[^a-z0-9_.-]+", "_", joined).strip("_.-")[:96]


def display_name(card: CardData) -> str:
    return " & ".join(u.display_name for u in card.users)


def render_card(card: CardData) -> str:
    """The whole README.md of a published bot."""
    sections = [
        _front_matter(card),
        _header(card),
        _intro(),
        _how_it_works(),
        _training_data(card),
        _training_procedure(card),
        _how_to_use(card),
        _limitations(card),
        _about(),
    ]
    return "\n\n".join(sections) + "\n"


def as_declared(perplexity: float) -> float:
    """A perplexity as a card declares it (4 decimals): the gate compares at this precision,
    or the same model, published again, would not tie with its own card."""
    return round(perplexity, 4)


def read_card_perplexity(card_text: str) -> float | None:
    """The validation perplexity a published card declares in its model-index, if any,
    read as the Hub reads it (`huggingface_hub.ModelCard`); None if it cannot be read."""
    from huggingface_hub import ModelCard

    try:
        results = ModelCard(card_text, ignore_metadata_errors=True).data.eval_results or []
        value = next((r.metric_value for r in results if r.metric_type == "perplexity"), None)
        return None if value is None else float(value)
    except (yaml.YAMLError, TypeError, ValueError):  # not YAML, not a mapping, not a number
        return None


def _front_matter(card: CardData) -> str:
    from huggingface_hub import EvalResult, ModelCardData

    meta = ModelCardData(
        language=card.language,
        license=card.license,
        base_model=card.base_model_id,
        library_name="transformers",
        pipeline_tag="text-generation",
        tags=["huggingtweets", "tweetbots", "text-generation"],
        thumbnail=card.thumbnail,
        widget=[{"text": "My dream is"}],
        model_name=card.model_id,
        eval_results=[
            EvalResult(
                task_type="text-generation",
                task_name="Text Generation",
                dataset_type="posts",
                dataset_name=f"posts behind {card.model_id}",
                metric_type="perplexity",
                metric_name="Validation perplexity",
                metric_value=as_declared(card.perplexity),
            )
        ],
    )
    return "---\n" + meta.to_yaml() + "\n---"


def _header(card: CardData) -> str:
    if len(card.users) == 1:
        return _single_user_header(card.users[0])
    return _cyborg_header(card)


def _single_user_header(user: CardUser) -> str:
    """The seeds' one-user layout: one large avatar, "NAME 🤖 AI Bot", "@handle bot"."""
    return (
        "<div>\n"
        '<div style="width: 132px; height:132px; border-radius: 50%; background-size: cover; '
        f"background-image: url('{_css_url(user.avatar_url)}')\">\n"
        "</div>\n"
        '<div style="margin-top: 8px; font-size: 19px; font-weight: 800">'
        f"{_inline(user.display_name)} 🤖 AI Bot </div>\n"
        f'<div style="font-size: 15px">@{_inline(user.user)} bot</div>\n'
        "</div>"
    )


def _cyborg_header(card: CardData) -> str:
    """The seeds' cyborg layout: round avatars side by side, "🤖 AI CYBORG 🤖", the names.
    Every user's avatar is shown (the seeds had at most 3); a long row wraps."""
    avatars = "\n".join(
        '        <div style="display:inherit; margin-left: 4px; margin-right: 4px; width: 92px; '
        "height:92px; border-radius: 50%; background-size: cover; "
        f"background-image: url('{_css_url(u.avatar_url)}')\">\n"
        "        </div>"
        for u in card.users
    )
    return (
        '<div class="inline-flex flex-col" style="line-height: 1.5;">\n'
        f'    <div class="flex" style="flex-wrap: wrap; justify-content: center;">\n{avatars}\n'
        "    </div>\n"
        '    <div style="text-align: center; margin-top: 3px; font-size: 16px; '
        'font-weight: 800">🤖 AI CYBORG 🤖</div>\n'
        '    <div style="text-align: center; font-size: 16px; font-weight: 800">'
        f"{_inline(display_name(card))}</div>\n"
        '    <div style="text-align: center; font-size: 14px;">'
        f"@{_inline(card.model_id.split('/')[-1])}</div>\n"
        "</div>"
    )


def _intro() -> str:
    return (
        f"I was made with [tweetbots]({REPO_URL}), a revival of "
        "[huggingtweets](https://github.com/borisdayma/huggingtweets).\n\n"
        f"Create your own bot from anyone's public posts with `make demo` in [the repository]"
        f"({REPO_URL})!"
    )


def _how_it_works() -> str:
    return (
        "## How does it work?\n\n"
        "The model uses the following pipeline, orchestrated by Prefect.\n\n"
        "`scrape -> clean -> tokenize -> fine-tune -> evaluate -> publish`\n\n"
        "Every stage's outputs are versioned as W&B artifacts, so each published bot can be "
        "traced back to the exact posts it learned from."
    )


def _training_data(card: CardData) -> str:
    names = [_markdown(u.display_name) for u in card.users]
    header = ["Data", "Quantity"] if len(card.users) == 1 else ["Data", *names]
    table = data_table(header, [u.model_dump() for u in card.users])
    explore = (
        f"[Explore the data]({card.wandb_data_url}), which is tracked with "
        "[W&B artifacts](https://docs.wandb.com/artifacts) at every step of the pipeline."
        if card.wandb_data_url
        else "The data is tracked with [W&B artifacts](https://docs.wandb.com/artifacts) at "
        "every step of the pipeline."
    )
    return (
        f"## Training data\n\nThe model was trained on {_whose_posts(card)}.\n\n"
        + table
        + "\n\n"
        + explore
    )


def _whose_posts(card: CardData) -> str:
    """The seeds' wording: "[@handle's tweets](profile)" for one user, "tweets from NAMES"
    for a cyborg; posts, as they may come from anywhere."""
    if len(card.users) > 1:
        return f"posts from {_markdown(display_name(card))}"
    user = card.users[0]
    posts = f"@{_markdown(user.user)}'s posts"
    url = _safe_url(user.profile_url)
    return f"[{posts}]({url})" if url else posts


def _training_procedure(card: CardData) -> str:
    run = (
        f"Hyperparameters and metrics are recorded in the [W&B training run]"
        f"({card.wandb_train_url}) for full transparency and reproducibility."
        if card.wandb_train_url
        else "Hyperparameters and metrics are recorded in the W&B training run for full "
        "transparency and reproducibility."
    )
    final_model = (
        f"[the final model]({card.wandb_train_url}/artifacts)"
        if card.wandb_train_url
        else "the final model"
    )
    return (
        "## Training procedure\n\n"
        f"{_based_on(card)}\n\n{run}\n\n"
        f"At the end of training, {final_model} is logged and versioned.\n\n"
        f"Validation perplexity: **{card.perplexity:.2f}** (base model: "
        f"{card.base_perplexity:.2f}), on held-out posts."
    )


def _based_on(card: CardData) -> str:
    """What the model started from, as it is: `tiny` knew nothing before these posts."""
    posts = f"@{_markdown(card.model_id.split('/')[-1])}'s posts"
    if card.base_model == TINY:
        return (
            "The model is a tiny GPT-2 built here (`tiny`: 2 layers, random weights, a "
            f"tokenizer learned from the same posts): it knew no text before it was trained "
            f"from scratch on {posts}."
        )
    if card.base_model_id:
        link = f"[{card.base_model_id}](https://huggingface.co/{card.base_model_id})"
        return f"The model is based on the pre-trained {link}, which is fine-tuned on {posts}."
    return f"The model is based on `{_markdown(card.base_model)}`, which is fine-tuned on {posts}."


def _how_to_use(card: CardData) -> str:
    return (
        "## How to use\n\n"
        "You can use this model directly with a pipeline for text generation:\n\n"
        "```python\n"
        "from transformers import pipeline\n"
        "generator = pipeline('text-generation',\n"
        f"                     model={card.model_id!r})\n"
        'generator("My dream is", num_return_sequences=5)\n'
        "```"
    )


def _limitations(card: CardData) -> str:
    inherited = (
        "The model knows only these posts: it is far too small to write well, and repeats "
        "their words and phrases."
        if card.base_model == TINY
        else "The model suffers from [the same limitations and bias as GPT-2]"
        "(https://huggingface.co/openai-community/gpt2#limitations-and-bias)."
    )
    return (
        f"## Limitations and bias\n\n{inherited}\n\n"
        "In addition, the data present in the user's posts further affects the text generated "
        "by the model."
    )


def _about() -> str:
    return (
        "## About\n\n*Built with tweetbots*\n\n"
        f"For more details, visit the [project repository]({REPO_URL})."
    )


def _safe_url(url: str | None) -> str:
    """http(s) only, with every quote, parenthesis, angle bracket, backslash or space
    percent-encoded: it cannot end a Markdown link's destination or a CSS `url('...')`."""
    if not url or not re.match(r"^https?://", url, re.IGNORECASE):
        return ""
    return quote(url, safe=":/?#[]@!$&*+,;=%~._-")


def _css_url(url: str | None) -> str:
    """An avatar URL that stays inside `style="...url('...')"` (HTML-escaped as well: the
    HTML parser would decode an entity back into a quote before CSS reads it)."""
    return html.escape(_safe_url(url), quote=True)


def _inline(text: str) -> str:
    """Safe as text inside an HTML block: no tags, and on one line (a blank line would end
    the HTML block, and a following `---` line would become Markdown)."""
    return _keep_spaced_ampersands(html.escape(" ".join(text.split())))


def _markdown(text: str) -> str:
    """Safe as Markdown text, table cells included: no tags or entities, no Markdown
    construct, one line. Rendered, it reads as typed (`\\_` shows as `_`)."""
    escaped = _keep_spaced_ampersands(html.escape(" ".join(text.split()), quote=False))
    return _MARKDOWN_SPECIAL.sub(lambda match: "\\" + match.group(0), escaped)


def _keep_spaced_ampersands(escaped: str) -> str:
    """Undo `&amp;` where a space follows: an `&` before a space can never start an entity,
    and the seeds join display names with a raw " & "."""
    return escaped.replace("&amp; ", "& ")


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
