"""`file:///DIR`: a local hub. Each bot is published to `DIR/<bot>/`, like a Hub repo.

A published directory is recognised as ours by the marker file this module writes into
it, never by its README: a directory at `DIR/<bot>` without the marker (a thesis, a
folder of drafts) is refused, and nothing in it is touched. A new version is built in a
hidden sibling and swapped in by renames once complete, so readers see the old bot or the
new one; a failed publish removes its partial copy, and one killed outright is removed by
the next publish. DIR is an absolute path (`file:///srv/bots` or
`file://localhost/srv/bots`), percent-decoded (`file:///x/my%20home` is `/x/my home`):
never resolved against whichever directory a worker happens to run in.
"""

import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from tweetbots import __version__
from tweetbots.store import staging_dir, with_default_modes
from tweetbots.targets import PublishError, Target

log = logging.getLogger(__name__)

MARKER = ".tweetbots-published"


def target_directory(uri: str) -> Path:
    """The directory a `file://` URI names: absolute, percent-decoded."""
    host, slash, path = uri.removeprefix("file://").partition("/")
    if host not in ("", "localhost") or not slash:
        raise PublishError(
            f"target {uri!r} is not an absolute directory ({host!r} would be read as a host "
            "or a relative path): use file:///absolute/path"
        )
    return Path("/" + unquote(path))


class FileTarget(Target):
    URI_PATTERN = r"^file://(localhost)?/"

    @classmethod
    def check_uri(cls, uri: str) -> None:
        target_directory(uri)

    @property
    def location(self) -> Path:
        return target_directory(self.uri) / self.bot

    @property
    def model_id(self) -> str:
        return str(self.location)

    def file_url(self, name: str) -> str:
        return name  # beside the card

    def published_card(self) -> str | None:
        if not self._is_ours(self.location):
            return None
        card = self.location / "README.md"
        return card.read_text(encoding="utf-8") if card.is_file() else None

    def publish(self, files: dict[str, Path], message: str, private: bool = False) -> str:
        # `private` changes nothing here: a directory is as visible as its umask makes it.
        final = self.location
        self._recover(final)
        self._is_ours(final)
        staging = staging_dir(final)
        try:
            for name, source in files.items():
                if source.is_dir():
                    shutil.copytree(source, staging / name, dirs_exist_ok=True)
                else:
                    shutil.copy2(source, staging / name)
            (staging / MARKER).write_text(self._marker(message), encoding="utf-8")
            with_default_modes(staging)
            self._swap(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone once swapped in
        return final.as_uri()

    def _is_ours(self, directory: Path) -> bool:
        """Whether `directory` holds a bot we published; PublishError if it holds anything
        else. Checked before the gate reads it and again before the swap."""
        if not directory.exists() and not directory.is_symlink():
            return False
        if directory.is_dir() and not directory.is_symlink() and (directory / MARKER).is_file():
            return True
        raise PublishError(
            f"target {directory} exists and was not published by tweetbots (no {MARKER} in "
            "it): move it away or choose another target; nothing in it was touched"
        )

    def _marker(self, message: str) -> str:
        published = {"bot": self.bot, "tweetbots": __version__, "message": message}
        published["published_at"] = datetime.now(UTC).isoformat()
        return json.dumps(published, indent=2) + "\n"

    @staticmethod
    def _swap(staging: Path, final: Path) -> None:
        """The new version in, the old one out, by renames: the old stays until the new
        one is complete, and `_recover` finishes a swap a kill interrupted."""
        retired = _retired(final)
        if final.exists():
            final.rename(retired)
        staging.rename(final)
        shutil.rmtree(retired, ignore_errors=True)

    @staticmethod
    def _recover(final: Path) -> None:
        retired = _retired(final)
        if not retired.exists():
            return
        if final.exists():  # killed after the swap, before the old one was removed
            shutil.rmtree(retired, ignore_errors=True)
        else:  # killed between the two renames: the old version comes back
            retired.rename(final)
            log.info("restored %s, left aside by an interrupted publish", final)


def _retired(final: Path) -> Path:
    return final.with_name(f".{final.name}.retired")


TARGET = FileTarget
