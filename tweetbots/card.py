"""The model card: the original's sections and data table, in UTF-8, plus Hub metadata.

Section order follows the published cards in shared/seeds/. Everything a user controls
(display names, avatar URLs, handles) is escaped for the place it lands: YAML through a
real YAML emitter, HTML with `html.escape`, Markdown text with its punctuation
backslash-escaped as well.
"""

import html
import re
from urllib.parse import quote

import yaml
from pydantic import BaseModel, field_validator

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
    base_model: str
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
        _limitations(),
        _about(),
    ]
    return "\n\n".join(sections) + "\n"


def read_card_perplexity(card_text: str) -> float | None:
    """The validation perplexity a published card declares in its model-index, if any."""
    match = re.match(r"^---\n(.*?)\n---\n", card_text, re.DOTALL)
    if not match:
        return None
    try:
        meta = yaml.safe_load(match.group(1)) or {}
        for result in meta.get("model-index", [{}])[0].get("results", []):
            for metric in result.get("metrics", []):
                if metric.get("type") == "perplexity":
                    return float(metric["value"])
    except (yaml.YAMLError, AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None
    return None


def _front_matter(card: CardData) -> str:
    meta = {
        "language": "en",
        "thumbnail": card.thumbnail,
        "tags": ["huggingtweets", "tweetbots", "text-generation"],
        "widget": [{"text": "My dream is"}],
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "base_model": card.base_model if _is_hub_id(card.base_model) else None,
        "model-index": [
            {
                "name": card.model_id,
                "results": [
                    {
                        "task": {"type": "text-generation", "name": "Text Generation"},
                        "dataset": {"type": "posts", "name": f"posts behind {card.model_id}"},
                        "metrics": [
                            {
                                "type": "perplexity",
                                "name": "Validation perplexity",
                                "value": round(card.perplexity, 4),
                            }
                        ],
                    }
                ],
            }
        ],
    }
    meta = {k: v for k, v in meta.items() if v is not None}
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---"


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
    base = card.base_model
    base_link = f"[{base}](https://huggingface.co/{base})" if _is_hub_id(base) else f"`{base}`"
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
        f"The model is based on a pre-trained GPT-2 model ({base_link}) which is fine-tuned on "
        f"@{_markdown(card.model_id.split('/')[-1])}'s posts.\n\n{run}\n\n"
        f"At the end of training, {final_model} is logged and versioned.\n\n"
        f"Validation perplexity: **{card.perplexity:.2f}** (base model: "
        f"{card.base_perplexity:.2f}), on held-out posts."
    )


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


def _limitations() -> str:
    return (
        "## Limitations and bias\n\n"
        "The model suffers from [the same limitations and bias as GPT-2]"
        "(https://huggingface.co/gpt2#limitations-and-bias).\n\n"
        "In addition, the data present in the user's posts further affects the text generated "
        "by the model."
    )


def _about() -> str:
    return (
        "## About\n\n*Built with tweetbots*\n\n"
        f"For more details, visit the [project repository]({REPO_URL})."
    )


def _is_hub_id(name: str) -> bool:
    return (
        name != "tiny"
        and not name.startswith(("/", ".", "~"))
        and bool(re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name))
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
