"""Shared fakes and helpers of the tests, in one place (import them as `tests.fakes.x`).

    social.py          Mastodon and Bluesky servers on 127.0.0.1 speaking their documented
                       APIs, and the posts, profiles, links and facets they serve
    network.py         pytest plugin: the `server`, `mastodon`, `bluesky`, `fast_retries` and
                       `failing_server` fixtures; a DNS answering what a test says
    hub.py             the Hugging Face Hub on 127.0.0.1, and the `hub` fixture (a plugin too)
    models.py          pytest plugin: tiny GPT-2 models built once per session
    sources.py         posts that survive cleaning, CSVs and X archives written for a test,
                       and what the raw store then holds
    stages.py          stage outputs: a real source scraped, a finished output made by hand
    checks.py          an error is one line naming what it must; a tree of files unchanged
    processes.py       real processes started, watched and killed (SIGKILL)
    fuzz.py            hypothesis strategies for the parsers, and what they must give back
    cards.py           a model card's headings and table rows
    prefect_states.py  what Prefect recorded: stage name -> task-run state
    wandb_runs.py      what the stages' W&B runs logged, read from their offline files
    serve.py           `tweetbots serve` as a user starts it, and the processes it leaves

The plugins are registered in tests/conftest.py.
"""
