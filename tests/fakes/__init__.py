"""Shared fakes and helpers of the tests, in one place (import them as `tests.fakes.x`).

    social.py          Mastodon and Bluesky servers on 127.0.0.1 speaking their documented APIs
    network.py         pytest plugin: the `server`, `mastodon`, `bluesky`, `fast_retries` fixtures
    hub.py             the Hugging Face Hub on 127.0.0.1, and the `hub` fixture (a plugin too)
    stages.py          stage outputs: a real source scraped, a finished output made by hand
    prefect_states.py  what Prefect recorded: stage name -> task-run state
    wandb_runs.py      what the stages' W&B runs logged, read from their offline files
    serve.py           `tweetbots serve` as a user starts it, and the processes it leaves

The plugins are registered in tests/conftest.py.
"""
