import pytest

from tweetbots.store import building, fingerprint, is_complete, stage_dir, write_manifest


def test_fingerprint_is_stable_and_order_sensitive():
    assert fingerprint("a", {"x": 1, "y": 2}) == fingerprint("a", {"y": 2, "x": 1})
    assert fingerprint("a", "b") != fingerprint("b", "a")


def test_stage_dir_depends_on_every_input(data_root):
    first = stage_dir("clean", "bot", "fp1")
    assert first.parent == data_root / "clean" / "bot"
    assert stage_dir("clean", "bot", "fp2") != first
    assert stage_dir("clean", "other", "fp1").name == first.name  # content, not the name


def test_building_renames_only_on_success(data_root):
    final = data_root / "clean" / "bot" / "abc"
    with pytest.raises(RuntimeError), building(final) as tmp:
        (tmp / "half.parquet").write_text("partial")
        raise RuntimeError("crash mid-write")
    assert not final.exists()
    assert list(final.parent.iterdir()) == []  # no temp dir left behind

    with building(final) as tmp:
        write_manifest(tmp, stage="clean", bot="bot", fingerprint="abc")
    assert is_complete(final)


def test_building_keeps_a_concurrent_complete_copy(data_root):
    final = data_root / "x" / "bot" / "fp"
    with building(final) as outer:
        with building(final) as inner:
            write_manifest(inner, stage="x", bot="bot", fingerprint="first")
        write_manifest(outer, stage="x", bot="bot", fingerprint="second")
    assert '"first"' in (final / "manifest.json").read_text()


def test_incomplete_leftover_is_replaced(data_root):
    final = data_root / "x" / "bot" / "fp"
    final.mkdir(parents=True)
    (final / "junk").write_text("crash leftover without manifest")
    with building(final) as tmp:
        write_manifest(tmp, stage="x", bot="bot", fingerprint="fp")
    assert is_complete(final) and not (final / "junk").exists()
