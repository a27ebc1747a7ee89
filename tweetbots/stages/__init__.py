"""The stages of a bot, one module each, in the order they run.

    scrape -> clean -> base-model -> tokenize -> fine-tune -> evaluate -> publish

Each module tells its stage's whole story, top to bottom:
- `NAME`: one name for its directory under the data root, its Prefect task, its W&B job
  and artifact type, and its log lines;
- `CODE`: the modules whose code decides its output (its code version);
- its settings model, where the user has choices;
- `output_key(...)`: names its output from its inputs (other stages' outputs), settings
  and code, without doing any work, so the orchestrator and `tweetbots plan` can tell
  whether it exists;
- `run(...)`: builds that output (or returns it, when it is already there).

The pure helpers they call stay beside them: `tweetbots.sources`, `clean`, `basemodel`,
`encode`, `train`, `evaluate`, `card`, `targets`.
"""

from tweetbots.code_version import code_version
from tweetbots.store import OutputKey, StageOutput

STAGES = ("scrape", "clean", "base-model", "tokenize", "fine-tune", "evaluate", "publish")


def output_key_of(
    name: str, code: tuple[str, ...], inputs: list[StageOutput], settings: dict | None = None
) -> OutputKey:
    """The output key of stage `name` reading the stage outputs `inputs` (each named by its
    stage), deciding by the code of the modules `code` and the `settings` (JSON-able)."""
    return OutputKey(
        stage=name,
        bot=inputs[0].bot,
        code=code_version(*code),
        inputs={output.stage: output.fingerprint for output in inputs},
        settings=settings or {},
    )
