"""The scrape tasks (tasks/scrape.py): a source's 5xx answers are retried by the reader,
never again by Prefect on top."""

from tweetbots.sources import SourceError


def test_scrape_5xx_is_retried_by_the_reader_and_not_again_by_prefect(
    prefect_server, data_root, failing_server, monkeypatch
):
    from prefect import flow

    from tasks.scrape import fetch_new_posts
    from tweetbots.sources import client

    monkeypatch.setenv("TWEETBOTS_MASTODON_BASE_URL", failing_server.url)
    monkeypatch.setattr(client, "POLICY", client.RetryPolicy(attempts=3, backoff_s=0.01))

    @flow
    def sense(spec: str) -> str:
        return fetch_new_posts.with_options(retry_delay_seconds=0)(spec)

    state = sense("mastodon:@ada@example.social", return_state=True)
    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert isinstance(error, SourceError) and "\n" not in str(error)
    assert "@ada@example.social" in str(error) and "HTTP 503" in str(error)
    # The reader's own retries (3), and no Prefect retries on top: its error is final.
    assert failing_server.paths["/api/v1/accounts/lookup"] == 3
