"""file:// targets: a local hub that never destroys what it did not write.

Publishing replaces only a directory marked as ours, keeps the old version until the new
one is complete, leaves no partial copy behind when it fails, and resolves the target's
path exactly as written (absolute, percent-decoded), never against the working directory.
"""

import os
import subprocess
import sys

import pytest

from tweetbots.targets import PublishError, open_target
from tweetbots.targets.file import MARKER


def _card(ppl: float) -> str:
    return (
        "---\nmodel-index:\n- name: x\n  results:\n  - metrics:\n"
        f"    - type: perplexity\n      value: {ppl}\n---\n# card\n"
    )


def _files(tmp_path, ppl: float = 12.5, weights: bytes = b"weights-1") -> dict:
    source = tmp_path / f"source-{ppl}"
    source.mkdir(exist_ok=True)
    (source / "README.md").write_text(_card(ppl))
    (source / "model.safetensors").write_bytes(weights)
    return {"README.md": source / "README.md", "model.safetensors": source / "model.safetensors"}


def test_a_new_version_replaces_the_whole_directory(tmp_path, umask_027):
    target = open_target(f"file://{tmp_path}/hub", "bot")
    url = target.publish(_files(tmp_path), "msg")
    assert url == (tmp_path / "hub" / "bot").as_uri()
    assert target.published_card() == _card(12.5)

    (tmp_path / "other.txt").write_text("v2")
    target.publish({"README.md": tmp_path / "other.txt"}, "msg")
    published = sorted(p.name for p in (tmp_path / "hub" / "bot").iterdir())
    assert published == [MARKER, "README.md"]  # the old weights went with the old version
    assert [p.name for p in (tmp_path / "hub").iterdir()] == ["bot"]  # no hidden leftovers
    assert (tmp_path / "hub" / "bot").stat().st_mode & 0o777 == 0o750  # not mkdtemp's 0700


def test_nothing_published_yet_has_no_card(tmp_path):
    assert open_target(f"file://{tmp_path}", "bot").published_card() is None


@pytest.mark.parametrize(
    "foreign",
    ["a thesis", "a README that is not our card", "a file where the bot's folder would be"],
)
def test_a_directory_we_did_not_publish_is_refused_and_untouched(tmp_path, foreign):
    place = tmp_path / "hub" / "bot"
    place.parent.mkdir()
    if foreign == "a file where the bot's folder would be":
        place.write_text("my notes")
    else:
        place.mkdir()
        name = "thesis.tex" if foreign == "a thesis" else "README.md"
        (place / name).write_text(_card(99.0) if name == "README.md" else "chapter one")
    before = _tree(tmp_path / "hub")
    target = open_target(f"file://{tmp_path}/hub", "bot")

    for attempt in (target.published_card, lambda: target.publish(_files(tmp_path), "msg")):
        with pytest.raises(PublishError, match="not published by tweetbots") as error:
            attempt()
        assert str(place) in str(error.value) and "\n" not in str(error.value)
    assert _tree(tmp_path / "hub") == before


def test_a_failed_publish_keeps_the_old_version_and_leaves_no_partial_copy(tmp_path):
    target = open_target(f"file://{tmp_path}/hub", "bot")
    target.publish(_files(tmp_path, 20.0), "msg")
    before = _tree(tmp_path / "hub")

    files = _files(tmp_path, 15.0)
    files["missing.bin"] = tmp_path / "vanished-before-the-copy"
    with pytest.raises(FileNotFoundError):
        target.publish(files, "msg")
    assert _tree(tmp_path / "hub") == before


# A process whose writes stop at 64 KiB, as on a full disk: copying 1 MiB of weights fails.
FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from tweetbots.targets import open_target
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, as a full disk gives ENOSPC
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
source = Path(sys.argv[2])
try:
    open_target(sys.argv[1], "bot").publish({"model.safetensors": source}, "msg")
except OSError as error:
    print("failed:", error.strerror)
"""


def test_a_publish_on_a_full_disk_leaves_no_hidden_copy(tmp_path):
    target = open_target(f"file://{tmp_path}/hub", "bot")
    target.publish(_files(tmp_path, 20.0), "msg")
    before = _tree(tmp_path / "hub")
    weights = tmp_path / "big.safetensors"
    weights.write_bytes(os.urandom(1 << 20))

    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, f"file://{tmp_path}/hub", str(weights)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("failed:"), done.stdout + done.stderr
    assert _tree(tmp_path / "hub") == before  # the old version, and nothing hidden beside it


KILLED_MID_COPY = """
import shutil, sys, time
from tweetbots.targets import open_target
from tweetbots.targets import file as file_target
copy = shutil.copy2
def slow_copy(*args, **kwargs):  # the second file never finishes: the process is killed
    copy(*args, **kwargs)
    print("copying", flush=True)
    time.sleep(60)
file_target.shutil.copy2 = slow_copy
open_target(sys.argv[1], "bot").publish({"a": __import__("pathlib").Path(sys.argv[2])}, "m")
"""


def test_a_publish_killed_mid_copy_is_cleaned_up_by_the_next(tmp_path):
    uri = f"file://{tmp_path}/hub"
    open_target(uri, "bot").publish(_files(tmp_path, 20.0), "msg")
    killed = subprocess.Popen(
        [sys.executable, "-c", KILLED_MID_COPY, uri, str(tmp_path / "source-20.0" / "README.md")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert killed.stdout.readline() == "copying\n"
    killed.kill()
    killed.wait()
    assert len(list((tmp_path / "hub").iterdir())) == 2  # the bot and a hidden partial copy
    assert open_target(uri, "bot").published_card() == _card(20.0)  # the old one still there

    open_target(uri, "bot").publish(_files(tmp_path, 15.0), "msg")
    assert [p.name for p in (tmp_path / "hub").iterdir()] == ["bot"]
    assert open_target(uri, "bot").published_card() == _card(15.0)


@pytest.mark.parametrize("name", ["my home", "données ☕", "100%"])
def test_paths_with_spaces_and_non_ascii_round_trip(tmp_path, name):
    directory = tmp_path / name
    target = open_target(directory.as_uri(), "bot")  # percent-encoded, as a data root gives it
    url = target.publish(_files(tmp_path), "msg")
    assert (directory / "bot" / "README.md").is_file()
    assert url == (directory / "bot").as_uri()
    assert open_target(url.rsplit("/", 1)[0], "bot").published_card() == _card(12.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "source-12.5"])


def test_localhost_names_this_machine(tmp_path):
    target = open_target(f"file://localhost{tmp_path}/hub", "bot")
    target.publish(_files(tmp_path), "msg")
    assert (tmp_path / "hub" / "bot" / "README.md").is_file()


@pytest.mark.parametrize("uri", ["file://models", "file://models/bots", "file://~/bots"])
def test_a_relative_target_is_refused_never_resolved_against_the_working_directory(
    tmp_path, monkeypatch, uri
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PublishError, match="absolute") as error:
        open_target(uri, "bot")
    assert uri in str(error.value) and "\n" not in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_the_data_roots_default_target_with_a_space_round_trips(tmp_path, monkeypatch):
    """TWEETBOTS_HOME="/x/my home" publishes into "/x/my home", not "/x/my%20home"."""
    from tweetbots.stages.publish import PublishSettings, target_uri

    monkeypatch.setenv("TWEETBOTS_HOME", str(tmp_path / "my home"))
    open_target(target_uri(PublishSettings()), "bot").publish(_files(tmp_path), "msg")
    assert (tmp_path / "my home" / "published" / "bot" / "README.md").is_file()
    assert not (tmp_path / "my%20home").exists()


def _tree(root) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(root.rglob("*"))
    }
