"""Shared fakes and helpers of the tests, in one place: servers speaking the documented
APIs of Mastodon, Bluesky and the Hub on 127.0.0.1, readers of what Prefect and W&B
recorded, and stage outputs made without running their stages."""
