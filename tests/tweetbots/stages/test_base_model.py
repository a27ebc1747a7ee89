"""The base-model stage: a base is named by the revision of its weights (a local
directory's content, the Hub's commit, the HF cache's `main`), known before a download."""

from pathlib import Path

from tests.fakes.hub import TOKEN
from tweetbots.stages import base_model
from tweetbots.store import StageOutput


def _local_base(tiny, directory):
    """A copy of the tiny base: a local directory whose weights a test may replace."""
    import shutil

    shutil.copytree(tiny[0], directory)
    return directory


def _clean_output():

    # A Hub or local base does not read the corpus: only `tiny` is built from it.
    return StageOutput(stage="clean", bot="bot", path="/nowhere", fingerprint="0" * 16)


def test_new_weights_in_a_local_base_directory_are_a_new_base(tiny, tmp_path, data_root):
    from transformers import AutoModelForCausalLM

    local = _local_base(tiny, tmp_path / "mine")
    first = base_model.run(str(local), _clean_output())
    assert first.path == base_model.output_key(str(local), _clean_output()).path

    model = AutoModelForCausalLM.from_pretrained(local)
    model.transformer.wte.weight.data.mul_(2)  # retrained in place: same files, new bytes
    model.save_pretrained(local)

    second = base_model.run(str(local), _clean_output())
    assert second.path != first.path
    assert second.summary["revision"] != first.summary["revision"]
    assert second.path.parent == first.path.parent


def test_a_hub_base_is_named_by_the_hubs_commit_before_the_download(
    hub, tiny, tmp_path, monkeypatch, data_root
):
    import huggingface_hub
    from huggingface_hub import constants

    from tests.fakes.hub import Repo

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    repo = hub.repos["me/base"] = Repo()
    repo.commit("first weights", "", {"config.json": b"{}"})
    downloads = []

    def snapshot_download(repo_id, revision=None, **_):
        # The fake Hub serves no files: stand in for the download of one commit.
        downloads.append(revision)
        return _local_base(tiny, tmp_path / "snapshots" / str(revision))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    key = base_model.output_key("me/base", _clean_output()).path  # a fresh cache: nothing local
    base = base_model.run("me/base", _clean_output())
    assert base.path == key and downloads == [repo.head]
    assert base.summary["revision"] == repo.head
    assert base.summary["model_dir"].endswith(repo.head)

    repo.commit("new weights", "", {"config.json": b'{"n": 1}'})
    assert base_model.output_key("me/base", _clean_output()).path != key


def test_a_newer_cached_revision_of_a_hub_model_is_a_new_base(data_root, gpt2_in_hf_cache):
    """Offline, the key is the cache's `main`: another commit there names another base,
    and each base directory holds the snapshot of the revision its manifest records."""
    import shutil

    from huggingface_hub.constants import HF_HUB_CACHE

    from tweetbots.stages import base_model

    clean = StageOutput(stage="clean", bot="baker", path=data_root, fingerprint="0" * 16)
    first = base_model.run("gpt2", clean)
    assert first.summary["revision"] == gpt2_in_hf_cache
    assert Path(first.summary["model_dir"]).name == gpt2_in_hf_cache

    repo = Path(HF_HUB_CACHE) / "models--gpt2"
    newer = "fedcba9876543210fedcba9876543210fedcba98"
    shutil.copytree(repo / "snapshots" / gpt2_in_hf_cache, repo / "snapshots" / newer)
    (repo / "refs" / "main").write_text(newer)
    try:
        key = base_model.output_key("gpt2", clean).path
        second = base_model.run("gpt2", clean)
    finally:  # the session's other tests use the first revision
        (repo / "refs" / "main").write_text(gpt2_in_hf_cache)
    assert key != first.path and second.path == key
    assert second.summary["revision"] == newer
    assert Path(second.summary["model_dir"]).name == newer
