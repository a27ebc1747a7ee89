"""Archives are read within bounds: zip bombs, lying headers, oversized files and odd
layouts (folders, links, pipes where files should be) each end in one line.

The memory tests run the reader in a fresh process and compare its peak resident set
before and after the read (`ru_maxrss`), which counts zlib's buffers too.
"""

import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import pytest

from tweetbots.sources import SourceError, read_source

ACCOUNT_JS = "window.YTD.account.part0 = " + json.dumps(
    [{"account": {"username": "ada_posts", "accountId": "42"}}]
)
MIB = 2**20
MAX_READ_ENV = "TWEETBOTS_ARCHIVE_MAX_MB"  # the documented setting, by its name


def tweets_js(count: int) -> str:
    tweets = [
        {"tweet": {"id_str": str(i), "full_text": f"post number {i} about engines and looms"}}
        for i in range(count)
    ]
    return "window.YTD.tweets.part0 = " + json.dumps(tweets, indent=2)


def deflated_zeros(mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of `mib` MiB of zeros and its CRC, in well under a second:
    one fully flushed block (no back-references) repeated, then an empty final block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(bytes(MIB), crc)
    return block * mib + b"\x03\x00", crc


def raw_zip(path: Path, members: dict[str, tuple[int, bytes, int, int]], flags: int = 0) -> Path:
    """A zip written byte by byte: name -> (method, payload, crc, declared size), so a
    test can declare what it likes."""
    body, central = bytearray(), bytearray()
    for name, (method, payload, crc, size) in members.items():
        encoded, offset = name.encode(), len(body)
        fields = (method, 0, 33, crc, len(payload), size, len(encoded), 0)
        body += struct.pack("<4s3H2H3L2H", b"PK\x03\x04", 20, flags, *fields) + encoded + payload
        central += struct.pack(
            "<4s4H2H3L5H2L", b"PK\x01\x02", 20, 20, flags, *fields, 0, 0, 0, 0, offset
        )
        central += encoded
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(body), 0
    )
    path.write_bytes(bytes(body + central + end))
    return path


def stored(text: str) -> tuple[int, bytes, int, int]:
    data = text.encode()
    return zipfile.ZIP_STORED, data, zlib.crc32(data), len(data)


_MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    from tweetbots.sources import SourceError, read_source
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    try:
        read_source(sys.argv[1])
        outcome = "read"
    except SourceError as error:
        outcome = str(error)
    seconds = time.monotonic() - start
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"outcome": outcome, "seconds": seconds, "grew_mib": grew / 1024}))
    """
)


def read_in_a_fresh_process(spec: str, timeout: float = 120) -> dict:
    """read_source(spec) in its own process: the outcome, seconds and peak RSS growth."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, spec], capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_zip_bomb_is_refused_in_seconds_and_bounded_memory(tmp_path):
    payload, crc = deflated_zeros(1024)  # 1 MB inflating to 1 GiB
    bomb = raw_zip(
        tmp_path / "bomb.zip",
        {
            "data/account.js": stored(ACCOUNT_JS),
            "data/tweets.js": (zipfile.ZIP_DEFLATED, payload, crc, 1024 * MIB),
        },
    )
    assert bomb.stat().st_size < 1.1 * MIB
    measured = read_in_a_fresh_process(f"archive:{bomb}")
    print(f"zip bomb: {measured}")  # the report's figures (pytest -s)
    assert "\n" not in measured["outcome"]
    assert "bomb.zip" in measured["outcome"] and "data/tweets.js" in measured["outcome"]
    assert "zip bomb" in measured["outcome"]
    assert measured["seconds"] < 5
    assert measured["grew_mib"] < 64


def test_a_header_that_lies_about_the_size_cannot_blow_memory(tmp_path):
    """The header declares 1 KB for what inflates to 1 GiB: the ratio check passes, and
    the read must stop near the declared size, never inflate the whole stream."""
    payload, _ = deflated_zeros(1024)
    liar = raw_zip(
        tmp_path / "liar.zip",
        {
            "data/account.js": stored(ACCOUNT_JS),
            "data/tweets.js": (zipfile.ZIP_DEFLATED, payload, zlib.crc32(bytes(1000)), 1000),
        },
    )
    measured = read_in_a_fresh_process(f"archive:{liar}")
    print(f"lying header: {measured}")
    assert "\n" not in measured["outcome"] and "liar.zip" in measured["outcome"]
    assert measured["outcome"] != "read"  # 1000 NUL bytes are no tweets.js
    assert measured["seconds"] < 5
    assert measured["grew_mib"] < 64


@pytest.mark.parametrize("form", ["zip", "folder"])
def test_an_archive_over_the_read_limit_names_the_setting(tmp_path, monkeypatch, form):
    files = {"account.js": ACCOUNT_JS, "tweets.js": tweets_js(2000)}  # about 200 KB
    if form == "zip":
        path = tmp_path / "big.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in files.items():
                archive.writestr(f"data/{name}", content)
    else:
        path = tmp_path / "big"
        (path / "data").mkdir(parents=True)
        for name, content in files.items():
            (path / "data" / name).write_text(content)
    assert len(read_source(f"archive:{path}").posts) == 2000  # within the default limit
    monkeypatch.setenv(MAX_READ_ENV, "0.1")
    with pytest.raises(SourceError) as error:
        read_source(f"archive:{path}")
    message = str(error.value)
    assert "\n" not in message and str(path) in message and "tweets.js" in message
    assert "more than 0.1 MB" in message and MAX_READ_ENV in message


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "archive" / "data"
    data.mkdir(parents=True)
    (data / "account.js").write_text(ACCOUNT_JS)
    (data / "tweets.js").write_text(tweets_js(3))
    return data


def _replace_with_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("odd")


def _replace_with_broken_link(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent / "gone.js")


def _replace_with_pipe(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


ODD_LAYOUTS = {
    "profile.js is a folder": ("archive", "profile.js", _replace_with_folder, "a folder"),
    "tweets.js is a folder": ("archive", "tweets.js", _replace_with_folder, "a folder"),
    "account.js is a folder, next to a bare tweets.js": (
        "tweets.js",
        "account.js",
        _replace_with_folder,
        "a folder",
    ),
    "account.js is a broken link": ("data", "account.js", _replace_with_broken_link, "broken link"),
    "account.js is a pipe, next to a bare tweets.js": (
        "tweets.js",
        "account.js",
        _replace_with_pipe,
        "not a regular file",
    ),
}


@pytest.mark.parametrize("case", list(ODD_LAYOUTS))
def test_odd_folder_layouts_are_one_line(tmp_path, case):
    """Run in a fresh process: on a pipe, the old reader waited forever for a writer."""
    argument, name, make_odd, expected = ODD_LAYOUTS[case]
    data = _data(tmp_path)
    if name == "profile.js":
        (data / name).write_text("window.YTD.profile.part0 = []")
    make_odd(data / name)
    target = {"archive": data.parent, "data": data, "tweets.js": data / "tweets.js"}[argument]
    try:
        measured = read_in_a_fresh_process(f"archive:{target}", timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading {target} hung")
    assert "\n" not in measured["outcome"]
    assert name in measured["outcome"] and expected in measured["outcome"]


_DIGEST = (
    "import sys\n"
    "from tweetbots.sources import SourceError, local_source_digest\n"
    "try:\n"
    "    print(local_source_digest(sys.argv[1]))\n"
    "except SourceError as error:\n"
    "    print(error)\n"
)


@pytest.mark.parametrize("scheme, name", [("archive", "posts.zip"), ("file", "posts.csv")])
def test_a_pipe_given_as_the_source_is_one_line_not_a_hang(tmp_path, scheme, name):
    """Both the read and the digest every run starts with (its cache key)."""
    pipe = tmp_path / name
    os.mkfifo(pipe)
    spec = f"{scheme}:{pipe}"
    for command in (_MEASURE, _DIGEST):
        try:
            result = subprocess.run(
                [sys.executable, "-c", command, spec], capture_output=True, text=True, timeout=30
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"reading {spec} hung")
        assert result.returncode == 0, result.stderr[-2000:]
        [line] = result.stdout.strip().splitlines()
        assert "not a regular file" in line, line
        assert str(pipe) in line


def test_a_folder_entry_named_like_a_data_file_in_a_zip_is_one_line(tmp_path):
    path = tmp_path / "odd.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/account.js", ACCOUNT_JS)
        archive.writestr("data/tweets.js", tweets_js(3))
        archive.mkdir("data/profile.js")
    with pytest.raises(SourceError) as error:
        read_source(f"archive:{path}")
    message = str(error.value)
    assert "\n" not in message and "data/profile.js/" in message and "a folder" in message


@pytest.mark.parametrize(
    "flags, method, expected",
    [(1, zipfile.ZIP_STORED, "encrypted"), (0, 9, "compression method")],
    ids=["encrypted", "Deflate64"],
)
def test_a_zip_this_python_cannot_unpack_is_one_line(tmp_path, flags, method, expected):
    members = {"data/account.js": stored(ACCOUNT_JS), "data/tweets.js": stored(tweets_js(1))}
    members["data/tweets.js"] = (method, *members["data/tweets.js"][1:])
    path = raw_zip(tmp_path / "locked.zip", members, flags=flags)
    with pytest.raises(SourceError) as error:
        read_source(f"archive:{path}")
    message = str(error.value)
    assert "\n" not in message and "locked.zip" in message and expected in message
    assert "extracted folder" in message


def test_a_linked_data_file_is_read(tmp_path):
    """A link to a real file is no odd layout: an archive on another disk, say."""
    data = _data(tmp_path)
    elsewhere = tmp_path / "elsewhere.js"
    (data / "tweets.js").rename(elsewhere)
    (data / "tweets.js").symlink_to(elsewhere)
    assert len(read_source(f"archive:{data.parent}").posts) == 3
