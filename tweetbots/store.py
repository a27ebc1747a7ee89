"""The data root and its content-addressed stage directories.

Every stage writes into `<root>/<stage>/<bot>/<fingerprint>/`, the fingerprint being a
hash of its `OutputKey`: its inputs' fingerprints, its settings and the version of the
code that decides it. Outputs are built in a temporary sibling and renamed into place,
so a crash never leaves a half output under the final name; the temporary siblings a
killed process left behind are removed by the next build of the same output. An output
whose manifest cannot be read is not an output: it is rebuilt.

Writers of one bot (or one user's raw store) take an `exclusive` lock on
`<root>/locks/<name>.lock` through `filelock`: an OS lock (`flock` on Unix, `LockFileEx`
on Windows) that the kernel drops when its holder dies, so a killed run never leaves a
lock behind.
"""

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict

from tweetbots import __version__

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LAST_KEYS = "last-keys"  # <root>/last-keys/<bot>/<stage>.json: what `tweetbots plan` compares
LOCKS = "locks"
# A bot's name becomes a directory and a Hub repo name. BotSpec checks it before a run,
# and every stage directory again: whoever calls, nothing is written outside the root.
BOT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,95}$")


def data_root() -> Path:
    """`TWEETBOTS_HOME`, or `./.tweetbots` in the working directory."""
    return Path(os.environ.get("TWEETBOTS_HOME", ".tweetbots")).absolute()


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (pydantic models are dumped first)."""
    normalised = [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in parts]
    blob = json.dumps(normalised, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checked_bot(bot: str) -> str:
    """`bot`, if it is safe as a directory name; a one-line ValueError otherwise."""
    if not BOT_NAME.match(bot):
        raise ValueError(
            f"bot name {bot!r} is invalid: use 1-96 of a-z 0-9 _ . - (start alphanumeric)"
        )
    return bot


def versions() -> dict[str, str]:
    """Versions recorded in every manifest, for reproducibility."""
    import importlib.metadata as md

    found = {"tweetbots": __version__}
    for package in ("torch", "transformers", "pandas", "pyarrow"):
        try:
            found[package] = md.version(package)
        except md.PackageNotFoundError:
            continue
    return found


def write_manifest(directory: Path, **fields: Any) -> dict[str, Any]:
    """Write `manifest.json` with the given fields plus creation time and versions."""
    manifest = {"created_at": datetime.now(UTC).isoformat(), "versions": versions(), **fields}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


class CorruptOutputError(ValueError):
    """A stage directory whose manifest cannot be read: one line naming the file."""


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of a stage directory; a one-line CorruptOutputError if it is unreadable."""
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        reason = getattr(error, "strerror", None) or " ".join(str(error).split())
        raise CorruptOutputError(
            f"{path} is unreadable ({reason}): delete {directory} and run again"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("fingerprint"), str):
        raise CorruptOutputError(f"{path} is not a tweetbots manifest: delete {directory}")
    return manifest


def is_complete(directory: Path) -> bool:
    """An output counts only once its manifest is in place (written last, then renamed)
    and readable: a truncated or garbled one (a disk error, a hand edit) is no output."""
    try:
        read_manifest(directory)
    except CorruptOutputError:
        return False
    return True


class DataRootError(ValueError):
    """The data root cannot be written (read-only, full, not ours): one line naming it."""


# What no retry can fix: the file system refuses writes (read-only, full) or we may not.
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}
_NOT_ALLOWED = {errno.EACCES, errno.EPERM}


@contextmanager
def building(final: Path) -> Iterator[Path]:
    """Yield a temp dir to fill; on success it is renamed to `final` atomically.

    If `final` already exists complete (an identical run finished first) the new build
    is discarded: outputs are addressed by content, so both are the same. A data root
    that refuses the writes (read-only, full) ends the build in one DataRootError.
    """
    with unwritable_as_one_line():
        tmp = staging_dir(final)
        try:
            yield tmp
            with_default_modes(tmp)
            if final.exists() and not is_complete(final):
                shutil.rmtree(final)  # a crash's leftover, or a corrupt manifest
            try:
                tmp.rename(final)
            except OSError:
                if not is_complete(final):
                    raise
                log.info("%s was built concurrently; keeping the existing copy", final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def unwritable_as_one_line(root: Path | None = None) -> Iterator[None]:
    """A write refused for good (read-only, permissions, disk full) as one DataRootError
    naming the data root; a retry cannot fix it, so it must not look like a glitch."""
    root = root or data_root()
    try:
        yield
    except OSError as error:
        if not _refused_under(root, error):
            raise
        raise DataRootError(
            f"data root {root} cannot be written ({os.strerror(error.errno)}: "
            f"{error.filename or 'a file in it'}): free space or fix its permissions, or "
            "set TWEETBOTS_HOME to another directory"
        ) from error


def _refused_under(root: Path, error: OSError) -> bool:
    """Whether `error` is the data root refusing a write (not, say, an unreadable source)."""
    if error.filename is None:  # a write to an open file names none
        return error.errno in _NO_SPACE
    inside = Path(os.fsdecode(error.filename)).absolute().is_relative_to(root)
    return inside and error.errno in _NO_SPACE | _NOT_ALLOWED


def check_writable(root: Path | None = None) -> Path:
    """Fail fast, in one line, when the data root cannot be created or written."""
    root = root or data_root()
    with unwritable_as_one_line(root):
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-test-"):
            pass
    return root


def with_default_modes(directory: Path) -> None:
    """The modes of a plain `mkdir` and `open` (umask applied) for a finished output.

    mkdtemp makes its directory private (0700) and some writers make private files
    (0600); a published model or a shared data root must be readable like any other.
    """
    umask = _umask()
    directory.chmod(0o777 & ~umask)
    for path in directory.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _umask() -> int:
    # Read, not set-and-restore: setting it would briefly unmask other threads' files.
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"^Umask:\s*([0-7]+)", status, re.MULTILINE).group(1), 8)
    except (OSError, AttributeError):
        umask = os.umask(0o022)
        os.umask(umask)
        return umask


def staging_dir(final: Path) -> Path:
    """A new hidden sibling of `final` to fill before renaming it into place.

    Siblings that builders on this host were killed before finishing are removed first,
    so a killed build never leaves a half copy filling the disk for long.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_builds(final)
    return Path(tempfile.mkdtemp(prefix=_build_prefix(final), dir=final.parent))


def _build_prefix(final: Path) -> str:
    # The builder's host and pid are in the name, so a later build can tell a temp dir
    # whose builder was killed from one still being filled by a live process.
    return f".{final.name}.tmp-{socket.gethostname()}-{os.getpid()}-"


def _remove_abandoned_builds(final: Path) -> None:
    """Delete temp siblings of `final` whose builder, on this host, is no longer alive."""
    pattern = re.compile(rf"^\.{re.escape(final.name)}\.tmp-(?P<host>.+)-(?P<pid>\d+)-[^-]*$")
    for sibling in final.parent.iterdir():
        match = pattern.match(sibling.name)
        if match and match["host"] == socket.gethostname() and not _alive(int(match["pid"])):
            log.info("removing %s, left by a killed build", sibling)
            shutil.rmtree(sibling, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


class BusyError(ValueError):
    """Another process holds the lock: one line naming what is busy, who holds it, the fix."""


@contextmanager
def exclusive(
    name: str, busy: str, wait_s: float = 0.0, root: Path | None = None
) -> Iterator[None]:
    """Hold the lock `name` under the data root for the block, waiting up to `wait_s`.

    `busy` says what is locked, for the error when the wait runs out. The holder's host
    and pid go into `<name>.holder` beside the lock so that error can name them: not
    into the lock file itself, which a waiter may truncate as it opens it (filelock 3).
    """
    locks = (root or data_root()) / LOCKS
    locks.mkdir(parents=True, exist_ok=True)
    holder = locks / f"{name}.holder"
    lock = FileLock(locks / f"{name}.lock")
    try:
        lock.acquire(timeout=wait_s, poll_interval=0.05)
    except Timeout:
        raise BusyError(
            f"{busy} is busy: another run ({_holder(holder)}) is writing it; wait for that "
            "run to finish, then start this one again"
        ) from None
    try:
        holder.write_text(f"pid {os.getpid()} on {socket.gethostname()}", encoding="utf-8")
        yield
    finally:
        holder.write_text("", encoding="utf-8")
        lock.release()


def _holder(path: Path) -> str:
    """Who holds a lock, as its holder wrote it (empty between a release and the next)."""
    try:
        return path.read_text(encoding="utf-8").strip() or "another process"
    except (OSError, UnicodeDecodeError):
        return "another process"


def bot_lock(bot: str):
    """Held by every stage runner of `bot`: a second run of the same bot is refused."""
    return exclusive(f"bot-{checked_bot(bot)}", f"bot {bot!r}")


class OutputKey(BaseModel):
    """Everything that decides a stage's output; its directory is named by its hash.

    `inputs` names what the stage reads (other stages' outputs by fingerprint, a source
    by its state), `settings` what the user chose, `code` the version of the code that
    decides the output. `tweetbots plan` compares a key with the last one built to say
    why a stage would run.
    """

    model_config = ConfigDict(frozen=True)

    stage: str
    bot: str
    code: str
    inputs: dict[str, str] = {}
    settings: dict[str, Any] = {}

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.stage, self.code, self.inputs, self.settings)

    @property
    def path(self) -> Path:
        return data_root() / self.stage / checked_bot(self.bot) / self.fingerprint


class StageOutput(BaseModel):
    """What one stage hands the next: where its output lives and a small summary.

    Small on purpose: Prefect persists it as the task's cached result. `fingerprint`
    names what the output holds: the directory's name, except for a scrape, which is
    named by its source's state but holds the user's stored posts.
    """

    stage: str
    bot: str
    path: Path
    fingerprint: str
    summary: dict[str, Any] = {}


def produce(
    key: OutputKey,
    build: Callable[[Path], dict[str, Any]],
    content_fingerprint: Callable[[dict[str, Any]], str] | None = None,
    is_usable: Callable[[Path], bool] = is_complete,
) -> StageOutput:
    """The output `key` names: built by `build(tmp) -> summary` unless already there.

    The bot's lock is held throughout, so two runs of one bot never interleave writes.
    """
    out = key.path
    with bot_lock(key.bot):
        if not is_usable(out):
            with building(out) as tmp:
                summary = build(tmp)
                write_manifest(
                    tmp,
                    stage=key.stage,
                    bot=key.bot,
                    fingerprint=content_fingerprint(summary) if content_fingerprint else out.name,
                    key=key.model_dump(mode="json"),
                    summary=summary,
                )
            _remember_last_key(key)
    return load_output(out)


def last_key(stage: str, bot: str) -> OutputKey | None:
    """The key of the last output built for `stage` of `bot`, even if it was deleted since."""
    try:
        return OutputKey.model_validate_json(_last_key_file(stage, bot).read_text())
    except (OSError, ValueError):
        return None


def _remember_last_key(key: OutputKey) -> None:
    path = _last_key_file(key.stage, key.bot)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(key.model_dump_json())
    os.replace(tmp, path)


def _last_key_file(stage: str, bot: str) -> Path:
    return data_root() / LAST_KEYS / checked_bot(bot) / f"{stage}.json"


def load_output(directory: Path) -> StageOutput:
    """The StageOutput recorded in a complete stage directory."""
    manifest = read_manifest(directory)
    return StageOutput(
        stage=manifest["stage"],
        bot=manifest["bot"],
        path=directory,
        fingerprint=manifest["fingerprint"],
        summary=manifest.get("summary", {}),
    )
