from tasks._caching import stage_key
from tweetbots.store import building, stage_dir, write_manifest


def _output_dir(name: str, bot: str):
    return stage_dir("demo", bot, name)


def test_key_is_stable_while_the_output_exists(data_root):
    key = stage_key(_output_dir)
    params = {"name": "a", "bot": "b", "ignored": object()}
    before = key(None, params)
    with building(_output_dir("a", "b")) as tmp:
        write_manifest(tmp, stage="demo", bot="b", fingerprint="x")
    assert key(None, params) == before == key(None, params)


def test_key_changes_once_the_output_is_deleted(data_root):
    import shutil

    key = stage_key(_output_dir)
    params = {"name": "a", "bot": "b"}
    with building(_output_dir("a", "b")) as tmp:
        write_manifest(tmp, stage="demo", bot="b", fingerprint="x")
    first = key(None, params)
    shutil.rmtree(_output_dir("a", "b"))
    assert key(None, params) != first


def test_different_inputs_give_different_keys(data_root):
    key = stage_key(_output_dir)
    assert key(None, {"name": "a", "bot": "b"}) != key(None, {"name": "c", "bot": "b"})


def test_sources_without_fixed_output_are_never_reused(data_root):
    key = stage_key(lambda spec: None)
    assert key(None, {"spec": "x"}) != key(None, {"spec": "x"})
