"""`hf://namespace/name`: a Hugging Face Hub model repo, published in one commit.

The token comes from the caller (a Prefect Secret block or HF_TOKEN, read by the task);
it is never logged, and a rejected one is reported without it. The published card is
read with a plain GET, never from huggingface_hub's local cache: a stale card could let a
worse model replace the one published now.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tweetbots.targets import PublishError, Target

HUB_READ_TIMEOUT_S = 30  # huggingface_hub's shared session has no timeout of its own
_URI = re.compile(r"^hf://([\w.-]+/[\w.-]+)$")


class HubTarget(Target):
    URI_PATTERN = _URI.pattern

    @classmethod
    def check_uri(cls, uri: str) -> None:
        if not _URI.match(uri):
            raise PublishError(f"target {uri!r} is not a Hub repo: use hf://namespace/name")

    @property
    def model_id(self) -> str:
        return _URI.match(self.uri).group(1)

    def file_url(self, name: str) -> str:
        from huggingface_hub import constants

        # Read at each call: the endpoint can be pointed elsewhere (HF_ENDPOINT, a test Hub).
        return f"{constants.ENDPOINT}/{self.model_id}/resolve/main/{name}"

    def check_credentials(self) -> None:
        if not self.token:
            raise PublishError(
                f"target {self.uri} needs a Hugging Face token: set HF_TOKEN or create the "
                "Prefect Secret block 'hf-token'"
            )

    def published_card(self) -> str | None:
        from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        response = get_session().get(
            self.file_url("README.md"),
            headers=build_hf_headers(token=self.token),
            timeout=HUB_READ_TIMEOUT_S,
        )
        # Errors keep their HTTP status, so the task retries a 5xx.
        with _token_rejected_as_one_line(self.model_id):
            try:
                hf_raise_for_status(response)
            except (EntryNotFoundError, RepositoryNotFoundError):
                return None  # no repo yet, or a repo without a card: nothing to beat
        return response.content.decode("utf-8", errors="replace")

    def publish(self, files: dict[str, Path], message: str, private: bool = False) -> str:
        """One commit; a repo that does not exist yet is created first, `private` if asked."""
        from huggingface_hub import CommitOperationAdd, HfApi

        self.check_credentials()
        api = HfApi(token=self.token)
        operations = [
            CommitOperationAdd(path_in_repo=name, path_or_fileobj=path)
            for name, path in _repo_files(files)
        ]
        with _token_rejected_as_one_line(self.model_id):
            # Not asked: None, the Hub's default (an organisation may make repos private).
            api.create_repo(self.model_id, exist_ok=True, private=private or None)
            commit = api.create_commit(self.model_id, operations=operations, commit_message=message)
        return commit.commit_url


@contextmanager
def _token_rejected_as_one_line(repo_id: str) -> Iterator[None]:
    """A 401/403 as one line naming the repo (retrying cannot help); others as they are."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        yield
    except HfHubHTTPError as error:
        status = error.response.status_code
        if status not in (401, 403):
            raise
        reason = " ".join((error.server_message or f"HTTP {status}").split())
        raise PublishError(
            f"token rejected by the Hub for {repo_id}: {reason} (check HF_TOKEN or the "
            "Prefect Secret block 'hf-token'; it needs write access)"
        ) from error


def _repo_files(files: dict[str, Path]) -> list[tuple[str, Path]]:
    """(path in the repo, local file) for every file, directories walked."""
    found = []
    for name, source in files.items():
        if source.is_dir():
            found += [
                (f"{name}/{p.relative_to(source).as_posix()}", p)
                for p in sorted(source.rglob("*"))
                if p.is_file()
            ]
        else:
            found.append((name, source))
    return found


TARGET = HubTarget
