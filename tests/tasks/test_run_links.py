"""A run's page is linked (W&B configs, Hub commit messages) only where a Prefect UI shows
it: a run on a temporary local server has no page once it ends, and gets its id instead."""

from prefect import flow
from prefect.runtime import flow_run
from prefect.settings import PREFECT_UI_URL, temporary_settings

from tasks.publish import commit_message
from tasks.runtime import run_page


@flow
def _links() -> tuple[str, str | None, str]:
    return commit_message("bot"), run_page(), flow_run.id


def test_without_a_known_ui_no_link_is_written(prefect_server):
    with temporary_settings(updates={PREFECT_UI_URL: ""}):
        message, page, run_id = _links()
    assert page is None
    assert message == f"tweetbots: publish bot (Prefect flow run {run_id})"


def test_with_a_ui_the_link_is_the_run_page(prefect_server):
    with temporary_settings(updates={PREFECT_UI_URL: "http://prefect.example"}):
        message, page, run_id = _links()
    assert page == f"http://prefect.example/runs/flow-run/{run_id}"
    assert message == f"tweetbots: publish bot (Prefect flow run {page})"


def test_outside_a_flow_run_there_is_nothing_to_link():
    assert run_page() is None
    assert commit_message("bot") == "tweetbots: publish bot"
