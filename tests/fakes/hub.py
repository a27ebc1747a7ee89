"""A Hugging Face Hub stand-in on 127.0.0.1: just the endpoints `tweetbots.publish` reaches.

The real `huggingface_hub` client talks to it over HTTP, so the tests exercise the client's
own request building, NDJSON commit payload and error mapping rather than a mock of them.
Repos live in memory. Only what the publish path calls is served:

    GET  /api/whoami-v2                              who the token belongs to
    POST /api/repos/create                           create_repo (409 when it exists); the
                                                     repo's visibility is kept
    POST /api/validate-yaml                          create_commit checks README.md front matter
    GET  /api/models/{ns}/{name}[/revision/main]     repo_info (create_repo after 401/403,
                                                     create_commit when nothing changed)
    POST /api/models/{ns}/{name}/preupload/main      upload mode: always "regular", so file
                                                     contents travel inline in the commit
                                                     (no LFS/Xet server needed)
    POST /api/models/{ns}/{name}/commit/main         the NDJSON commit
    HEAD|GET /{ns}/{name}/resolve/main/{path}        read a file (the published card)

Every request needs `Authorization: Bearer <token>`; a wrong token gets the Hub's 401
"Invalid credentials in Authorization header", a missing one the 401 a private repo gives.
Anything else answers 404 and is kept in `unexpected`, so a test notices a new endpoint.
"""

import base64
import hashlib
import json
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from tests.fakes.loopback import LoopbackServer

_REPO = r"(?P<repo>[^/]+/[^/]+)"
_ROUTES = [
    ("GET", re.compile(r"^/api/whoami-v2$"), "whoami"),
    ("POST", re.compile(r"^/api/repos/create$"), "create"),
    ("POST", re.compile(r"^/api/validate-yaml$"), "validate-yaml"),
    ("GET", re.compile(rf"^/api/models/{_REPO}(/revision/(?P<rev>[^/]+))?$"), "repo-info"),
    ("POST", re.compile(rf"^/api/models/{_REPO}/preupload/(?P<rev>[^/]+)$"), "preupload"),
    ("POST", re.compile(rf"^/api/models/{_REPO}/commit/(?P<rev>[^/]+)$"), "commit"),
    ("HEAD", re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)$"), "resolve"),
    ("GET", re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)$"), "resolve"),
]


def git_blob_sha(data: bytes) -> str:
    """What the Hub uses as a regular file's oid and ETag."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Commit:
    sha: str
    message: str
    description: str
    paths: list[str]


@dataclass
class Repo:
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[Commit] = field(default_factory=list)
    private: bool = False  # the Hub's default for a user's repo

    @property
    def head(self) -> str:
        return self.commits[-1].sha

    def commit(self, message: str, description: str, changes: dict[str, bytes | None]) -> Commit:
        for path, content in changes.items():
            if content is None:
                self.files.pop(path, None)
            else:
                self.files[path] = content
        parent = self.commits[-1].sha if self.commits else ""
        digest = hashlib.sha1(
            json.dumps(
                [parent, message, sorted((p, git_blob_sha(c)) for p, c in self.files.items())]
            ).encode()
        ).hexdigest()
        commit = Commit(digest, message, description, sorted(changes))
        self.commits.append(commit)
        return commit


class FakeHub:
    """One user (`user`) with one valid token; repos under that user's namespace only."""

    def __init__(self, token: str, user: str = "me"):
        self.token = token
        self.user = user
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.unexpected: list[tuple[str, str]] = []
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = LoopbackServer(_handler_for(self))
        self.url = self._server.url

    def __enter__(self) -> "FakeHub":
        self._server.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.stop()

    def fail(self, endpoint: str, status: int) -> None:
        """Answer the next request to `endpoint` (a route name above) with `status`."""
        self._failures[endpoint] = status

    def calls(self, endpoint: str) -> int:
        """How many requests reached `endpoint` (a route name above)."""
        return sum(1 for method, path in self.requests if _route(method, path)[0] == endpoint)

    # -- request handling (runs on the server's threads) --

    def handle(self, method: str, path: str, headers, body: bytes):
        """-> (status, headers, body bytes)"""
        with self._lock:
            self.requests.append((method, path))
            name, match = _route(method, path)
            if name is None:
                self.unexpected.append((method, path))
                return _json(404, {"error": f"fake hub does not serve {method} {path}"})
            auth = headers.get("Authorization", "")
            if auth and auth != f"Bearer {self.token}":
                return _json(
                    401,
                    {"error": "Invalid credentials in Authorization header"},
                    {"X-Error-Message": "Invalid credentials in Authorization header"},
                )
            if not auth:
                return _json(
                    401, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
                )
            if name in self._failures:
                status = self._failures.pop(name)
                return _json(status, {"error": f"fake hub: injected {status} on {name}"})
            return getattr(self, "_" + name.replace("-", "_"))(match, body)

    def _whoami(self, match, body):
        return _json(
            200,
            {
                "type": "user",
                "name": self.user,
                "auth": {
                    "type": "access_token",
                    "accessToken": {"displayName": "tests", "role": "write"},
                },
            },
        )

    def _create(self, match, body):
        payload = json.loads(body)
        namespace = payload.get("organization") or self.user
        repo_id = f"{namespace}/{payload['name']}"
        if namespace != self.user:
            return _json(
                403,
                {
                    "error": "You don't have the rights to create a model under "
                    f'the namespace "{namespace}"'
                },
            )
        if repo_id in self.repos:
            return _json(
                409,
                {"error": "You already created this model repo", "url": f"{self.url}/{repo_id}"},
            )
        # The client sends `visibility`; older clients sent `private`.
        private = payload.get("visibility") == "private" or payload.get("private") is True
        repo = Repo(private=private)
        # Like the Hub: a new repo starts with one commit holding .gitattributes.
        repo.commit("initial commit", "", {".gitattributes": b"*.safetensors filter=lfs\n"})
        self.repos[repo_id] = repo
        return _json(200, {"url": f"{self.url}/{repo_id}", "name": repo_id})

    def _validate_yaml(self, match, body):
        content = json.loads(body)["content"]
        front = re.match(r"^---\n(.*?)\n---\n", content, re.DOTALL)
        try:
            yaml.safe_load(front.group(1) if front else "")
        except yaml.YAMLError as error:
            return _json(400, {"errors": [{"message": f"invalid YAML: {error}"}]})
        return _json(200, {"errors": [], "warnings": []})

    def _repo_info(self, match, body):
        repo, error = self._repo_at(match)
        if error:
            return error
        return _json(
            200,
            {
                "id": match["repo"],
                "sha": repo.head,
                "private": repo.private,
                "siblings": [{"rfilename": p} for p in sorted(repo.files)],
            },
        )

    def _preupload(self, match, body):
        repo, error = self._repo_at(match)
        if error:
            return error
        files = [
            {
                "path": f["path"],
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": git_blob_sha(repo.files[f["path"]]) if f["path"] in repo.files else None,
            }
            for f in json.loads(body)["files"]
        ]
        return _json(200, {"files": files, "commitOid": repo.head})

    def _commit(self, match, body):
        repo, error = self._repo_at(match)
        if error:
            return error
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0]["key"] != "header":
            return _json(400, {"error": "commit payload must start with a header"})
        header, changes = lines[0]["value"], {}
        for line in lines[1:]:
            value = line["value"]
            if line["key"] == "file" and value.get("encoding") == "base64":
                changes[value["path"]] = base64.b64decode(value["content"])
            elif line["key"] == "deletedFile":
                changes[value["path"]] = None
            else:  # the fake never asks for LFS, so an lfsFile here is a client surprise
                return _json(422, {"error": f"fake hub does not take {line['key']} entries"})
        commit = repo.commit(header["summary"], header.get("description", ""), changes)
        return _json(
            200,
            {
                "success": True,
                "commitOid": commit.sha,
                "commitUrl": f"{self.url}/{match['repo']}/commit/{commit.sha}",
            },
        )

    def _resolve(self, match, body):
        repo, error = self._repo_at(match)
        if error:
            return error
        path = unquote(match["path"])
        if path not in repo.files:
            return _json(
                404,
                {"error": "Entry not found"},
                {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.head},
            )
        content = repo.files[path]
        return (
            200,
            {
                "Content-Type": "text/plain; charset=utf-8",
                "ETag": f'"{git_blob_sha(content)}"',
                "X-Repo-Commit": repo.head,
            },
            content,
        )

    def _repo_at(self, match):
        repo = self.repos.get(match["repo"])
        if repo is None:
            return None, _json(
                404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
            )
        if (match.groupdict().get("rev") or "main") != "main":
            return None, _json(
                404, {"error": "Revision not found"}, {"X-Error-Code": "RevisionNotFound"}
            )
        return repo, None


def _route(method: str, path: str):
    for route_method, pattern, name in _ROUTES:
        if method == route_method and (match := pattern.match(path)):
            return name, match
    return None, None


def _json(status: int, payload: dict, headers: dict | None = None):
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(payload).encode(),
    )


def _handler_for(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, content = hub.handle(
                self.command, urlsplit(self.path).path, self.headers, body
            )
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        do_GET = do_POST = do_HEAD = _serve

        def log_message(self, *args):  # keep pytest output clean
            pass

    return Handler


TOKEN = "hf_fake_write_token_0123456789"


@pytest.fixture
def hub(monkeypatch):
    """The fake Hub taking `TOKEN`, with huggingface_hub pointed at it and allowed online."""
    with hub_online(monkeypatch, TOKEN) as fake:
        yield fake
        assert fake.unexpected == [], "the client called endpoints the fake does not serve"


@contextmanager
def hub_online(monkeypatch, token: str):
    """A fake Hub taking `token`, with huggingface_hub pointed at it and allowed online.

    huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE into `huggingface_hub.constants`
    once, at import, and this session imported it long ago (conftest sets HF_HUB_OFFLINE=1
    for the suite), so setting the variables now changes nothing: the module attributes
    are what its code consults on every call, and those are patched (monkeypatch restores
    them). Telemetry is switched off because building the User-Agent would otherwise fetch
    an "agent harnesses" list from the endpoint, a request that is no part of publishing.
    """
    from huggingface_hub import constants

    with FakeHub(token) as fake:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
        monkeypatch.setattr(constants, "ENDPOINT", fake.url)
        monkeypatch.setattr(
            constants,
            "HUGGINGFACE_CO_URL_TEMPLATE",
            fake.url + "/{repo_id}/resolve/{revision}/{filename}",
        )
        yield fake
