"""`plan_bot`: which stages a run would execute, and why, executing none of them.

Each reason is made real: posts appended to a file or served by a Mastodon instance, a
cleaning rule edited in a copy of the code, new weights in the base model's directory,
other settings, an output deleted. A plan with work is checked against the run that
follows: it executes exactly the stages the plan named.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.social import mastodon_status
from tests.fakes.stages import build_bot
from tweetbots.basemodel import build_tiny_model
from tweetbots.config import BotSpec
from tweetbots.plan import plan_bot
from tweetbots.stages import STAGES

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
WORDS = "bread oven crumb flour starter loaf crust proof knead bake salt water rye".split()


def _write_posts(path: Path, n: int, start: int = 0) -> None:
    lines = [
        f"{i},{' '.join(WORDS[(i + j) % len(WORDS)] for j in range(12))} number {i}"
        for i in range(start, start + n)
    ]
    with path.open("a") as out:
        out.write(("id,text\n" if start == 0 else "") + "\n".join(lines) + "\n")


def _bot(source: str, base: str = "tiny", **changes) -> BotSpec:
    return BotSpec(
        name="loaf",
        sources=[source],
        base_model=base,
        train={"epochs": 1, "batch_size": 8},
        evaluate={"prompts": ["I like"], "samples_per_prompt": 1},
        **changes,
    )


def _running(plan) -> dict[str, list[str]]:
    return {s.stage: s.reasons for s in plan.stages if s.runs}


@pytest.fixture
def built(data_root, tmp_path) -> BotSpec:
    """A bot trained and published, from a CSV of 200 posts."""
    _write_posts(tmp_path / "loaf.csv", 200)
    bot = _bot(f"file:{tmp_path / 'loaf.csv'}")
    build_bot(bot)
    return bot


def test_a_built_bot_has_nothing_to_do_and_says_where_it_is(built, data_root):
    plan = plan_bot(built)
    assert not plan.has_work and _running(plan) == {}
    assert [s.stage for s in plan.stages] == list(STAGES)
    assert plan.published_url == (data_root / "published" / "loaf").as_uri()
    assert plan.last_trained is not None


def test_new_posts_in_a_file_source(built, tmp_path):
    _write_posts(tmp_path / "loaf.csv", 20, start=200)
    plan = plan_bot(built)
    assert set(_running(plan)) == set(STAGES)
    assert plan.why == [f"new posts from source file:{tmp_path / 'loaf.csv'}"]


def test_a_source_read_again_without_new_posts_changes_nothing_downstream(built, tmp_path):
    """A re-export with the same posts: the scrape reruns, nothing after it."""
    text = (tmp_path / "loaf.csv").read_text()
    (tmp_path / "loaf.csv").write_text(text.replace("\n", "\r\n"))  # same posts, new bytes
    assert set(_running(plan_bot(built))) == {"scrape"}


def test_new_posts_on_a_mastodon_instance(mastodon, data_root):
    account = mastodon.add_account("ada", "example.social", count=450)
    bot = _bot("mastodon:@ada@example.social")
    build_bot(bot)
    assert not plan_bot(bot).has_work

    mastodon.add_status(account, mastodon_status(450, account))
    plan = plan_bot(bot)
    running = _running(plan)
    assert set(running) == set(STAGES)
    assert running["scrape"] == ["new posts from source mastodon:@ada@example.social"]
    assert running["clean"] == ["new posts from source mastodon:@ada@example.social"]
    # The sensing stored the new post: the run that follows does not fetch it again.
    assert len(list((data_root / "raw" / "mastodon" / "ada@example.social").glob("part-*"))) == 2


PLAN_FROM_COPY = """
import sys
from tweetbots.config import BotSpec
from tweetbots.plan import plan_bot
plan = plan_bot(BotSpec.model_validate_json(sys.argv[1]))
print(plan.model_dump_json())
"""


def test_the_cleaning_code_changed(built, tmp_path):
    code = tmp_path / "code"
    shutil.copytree(REPO / "tweetbots", code / "tweetbots")
    clean_py = code / "tweetbots" / "clean.py"
    clean_py.write_text(clean_py.read_text().replace("MIN_WORDS = 3", "MIN_WORDS = 4"))
    done = subprocess.run(
        [sys.executable, "-c", PLAN_FROM_COPY, built.model_dump_json()],
        env={**os.environ, "PYTHONPATH": str(code)},
        cwd=code,
        capture_output=True,
        text=True,
        check=True,
    )
    stages = json.loads(done.stdout)["stages"]
    running = {s["stage"]: s["reasons"] for s in stages if s["runs"]}
    assert set(running) == set(STAGES) - {"scrape"}
    assert running["clean"] == ["the clean code changed"]
    assert "the clean output changed" in running["tokenize"]
    assert "the tokenize code changed" not in running["tokenize"]


def test_the_base_model_has_a_new_revision(data_root, tmp_path):
    base = tmp_path / "base"
    build_tiny_model(["a few words of bread"] * 50, base)
    _write_posts(tmp_path / "loaf.csv", 200)
    bot = _bot(f"file:{tmp_path / 'loaf.csv'}", base=str(base))
    build_bot(bot)
    assert not plan_bot(bot).has_work

    build_tiny_model(["other words entirely now"] * 50, base, seed=1)  # new weights
    running = _running(plan_bot(bot))
    assert set(running) == set(STAGES) - {"scrape", "clean"}
    (reason,) = running["base-model"]
    assert reason.startswith(f"the base model {base} has a new revision (")


def test_settings_changed(built):
    plan = plan_bot(
        built.model_copy(update={"train": built.train.model_copy(update={"epochs": 2})})
    )
    running = _running(plan)
    assert set(running) == {"fine-tune", "evaluate", "publish"}
    assert running["fine-tune"] == ["settings changed: epochs 1.0 -> 2.0"]


def test_an_output_was_deleted(built, data_root):
    (tokens,) = (data_root / "tokenize" / "loaf").iterdir()
    shutil.rmtree(tokens)
    running = _running(plan_bot(built))
    assert running == {"tokenize": ["its output was deleted or is unreadable"]}


def test_a_plan_names_exactly_the_stages_the_run_then_executes(built, data_root, tmp_path):
    changed = built.model_copy(
        update={"tokenize": built.tokenize.model_copy(update={"block_size": 64})}
    )
    planned = {s.stage: s.output for s in plan_bot(changed).stages if s.runs}
    before = {p for p in data_root.glob("*/loaf/*") if p.is_dir()}
    build_bot(changed)
    made = {p for p in data_root.glob("*/loaf/*") if p.is_dir()} - before
    assert made == set(planned.values())
    assert set(planned) == {"tokenize", "fine-tune", "evaluate", "publish"}
