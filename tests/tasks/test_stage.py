"""The stage task's cache key: the output's name, renewed once that output is unusable."""

import shutil
from types import SimpleNamespace

from tasks.stage import cache_key
from tweetbots.store import OutputKey, building, write_manifest


def _output_key(name: str, bot: str) -> OutputKey:
    if name == "refused":
        raise ValueError("refused input: one line")
    return OutputKey(stage="demo", bot=bot, code="c", inputs={"name": name})


DEMO = SimpleNamespace(NAME="demo", output_key=_output_key)


def _build(name: str, bot: str) -> None:
    with building(_output_key(name, bot).path) as tmp:
        write_manifest(tmp, stage="demo", bot=bot, fingerprint="x")


def test_key_is_stable_while_the_output_exists(data_root):
    key = cache_key(DEMO)
    params = {"name": "a", "bot": "b", "ignored": object()}
    before = key(None, params)
    _build("a", "b")
    assert key(None, params) == before == key(None, params)


def test_key_changes_once_the_output_is_deleted(data_root):
    key = cache_key(DEMO)
    params = {"name": "a", "bot": "b"}
    _build("a", "b")
    first = key(None, params)
    shutil.rmtree(_output_key("a", "b").path)
    assert key(None, params) != first


def test_key_changes_once_the_manifest_is_corrupt(data_root):
    key = cache_key(DEMO)
    params = {"name": "a", "bot": "b"}
    _build("a", "b")
    first = key(None, params)
    manifest = _output_key("a", "b").path / "manifest.json"
    manifest.write_text(manifest.read_text()[:20])  # truncated
    assert key(None, params) != first


def test_different_inputs_give_different_keys(data_root):
    key = cache_key(DEMO)
    assert key(None, {"name": "a", "bot": "b"}) != key(None, {"name": "c", "bot": "b"})


def test_a_refused_input_is_never_reused_so_the_body_reports_it(data_root):
    key = cache_key(DEMO)
    assert key(None, {"name": "refused", "bot": "b"}) != key(None, {"name": "refused", "bot": "b"})
