"""A stage's code version follows what the code does, not how it is worded."""

import gc
import importlib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tweetbots.code_version import code_version, module_version

ORIGINAL = '''"""A module."""
import logging

log = logging.getLogger(__name__)


def keep(texts):
    """Keep the long ones."""
    log.info("keeping %d texts", len(texts))
    try:
        kept = [t for t in texts if len(t) > 3]
    except TypeError:
        log.warning("not texts")
        raise
    else:
        log.debug("kept %d", len(kept))
    return kept
'''


def _version_of(tmp_path, monkeypatch, source: str, name: str = "versioned") -> str:
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    module_version.cache_clear()
    return module_version(name)


@pytest.mark.parametrize(
    "reworded",
    [
        ORIGINAL.replace('"""Keep the long ones."""', '"""Keep texts over 3 characters."""'),
        ORIGINAL.replace("    return kept", "    # the short ones are noise\n    return kept"),
        ORIGINAL.replace('"keeping %d texts"', '"%d texts to keep"'),
        ORIGINAL.replace('log.warning("not texts")', 'log.error("texts must be str")'),
        ORIGINAL.replace('log.debug("kept %d", len(kept))', "pass"),
        ORIGINAL.replace("def keep(texts):", "def keep(\n    texts,\n):"),
    ],
    ids=["docstring", "comment", "log message", "log in a handler", "log in else", "layout"],
)
def test_wording_changes_no_version(tmp_path, monkeypatch, reworded):
    before = _version_of(tmp_path, monkeypatch, ORIGINAL)
    assert _version_of(tmp_path, monkeypatch, reworded) == before


@pytest.mark.parametrize(
    "changed",
    [
        ORIGINAL.replace("len(t) > 3", "len(t) >= 3"),
        ORIGINAL.replace("    return kept", "    kept.sort()\n    return kept"),
        ORIGINAL.replace("log = logging.getLogger(__name__)", "log = logging.getLogger('x')"),
    ],
    ids=["a rule", "a new statement", "a non-log call"],
)
def test_code_changes_are_a_new_version(tmp_path, monkeypatch, changed):
    before = _version_of(tmp_path, monkeypatch, ORIGINAL)
    assert _version_of(tmp_path, monkeypatch, changed) != before


def test_the_version_of_several_modules_ignores_their_order():
    assert code_version("tweetbots.clean", "tweetbots.card") == code_version(
        "tweetbots.card", "tweetbots.clean"
    )
    assert code_version("tweetbots.clean") != code_version("tweetbots.card")


def test_a_module_that_does_not_exist_is_a_one_line_error():
    with pytest.raises(ValueError, match="'tweetbots.nothing_here'") as error:
        module_version("tweetbots.nothing_here")
    assert "\n" not in str(error.value)


def test_versions_taken_in_many_threads_at_once_are_the_versions_taken_alone():
    """The nightly senses its bots in a pool: its threads version the stages' modules at once.

    A collection that lets another thread run, inside a parse, interleaves the parses as a
    busy process does; unguarded, about one parse in a hundred then fails (CPython 3.11).
    """
    names = [
        "tweetbots.clean",
        "tweetbots.card",
        "tweetbots.stages.publish",
        "tweetbots.code_version",
    ]
    alone = {name: module_version(name) for name in names}
    threshold = gc.get_threshold()

    def let_another_thread_run(_phase, _info):
        time.sleep(0)

    gc.callbacks.append(let_another_thread_run)
    gc.set_threshold(50)
    try:
        for _ in range(25):
            module_version.cache_clear()
            with ThreadPoolExecutor(8) as pool:
                together = list(pool.map(module_version, names * 4))
            assert together == [alone[name] for name in names * 4]
    finally:
        gc.callbacks.remove(let_another_thread_run)
        gc.set_threshold(*threshold)
        module_version.cache_clear()
