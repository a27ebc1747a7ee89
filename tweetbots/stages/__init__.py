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

STAGES = ("scrape", "clean", "base-model", "tokenize", "fine-tune", "evaluate", "publish")
