"""A fake GitHub REST API on 127.0.0.1 for ``make ci-local`` (docs/ci.md).

It serves the few endpoints the comment workflow calls, as GitHub answers them: the token is
checked, lists are paginated with ``Link`` headers, a comment over 65,536 characters is refused
with 422. The workflow's scripts reach it through the real client (@actions/github, in the
github-script stand-in), so request paths, parameters and pagination are the client's own.
Every request is recorded, for the rehearsal to show and the tests to check.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

BOT = "github-actions[bot]"
MAX_COMMENT_CHARS = 65_536
SERVER_URL = "https://github.com"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    status: int


@dataclass
class FakeGitHub:
    """One repository: its pull requests, their comments, and the artifact store's runs."""

    repository: str
    token: str
    artifact_store: Path
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    _next_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_pull(self, number: int, head_sha: str, base_sha: str, head_ref: str) -> None:
        self.pulls[number] = {
            "number": number,
            "state": "open",
            "html_url": f"{SERVER_URL}/{self.repository}/pull/{number}",
            "head": {"sha": head_sha, "ref": head_ref, "repo": {"full_name": self.repository}},
            "base": {"sha": base_sha, "ref": "main", "repo": {"full_name": self.repository}},
        }

    def add_comment(self, number: int, login: str, body: str) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            comment = {
                "id": self._next_id,
                "body": body,
                "user": {"login": login, "type": "Bot" if login == BOT else "User"},
                "html_url": f"{SERVER_URL}/{self.repository}/pull/{number}"
                f"#issuecomment-{self._next_id}",
            }
            self.comments.setdefault(number, []).append(comment)
        return comment

    def writes(self) -> list[Request]:
        """The requests that changed something."""
        return [r for r in self.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    # --- the endpoints -------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        prefix = f"/repos/{self.repository}"
        if not path.startswith(prefix + "/"):
            return 404, {"message": "Not Found"}
        rest = path[len(prefix) :]
        for pattern, verb, handler in (
            (r"/actions/runs/(\d+)/artifacts", "GET", self._artifacts),
            (r"/pulls/(\d+)", "GET", self._pull),
            (r"/issues/(\d+)/comments", "GET", self._list_comments),
            (r"/issues/(\d+)/comments", "POST", self._create_comment),
            (r"/issues/comments/(\d+)", "PATCH", self._update_comment),
        ):
            match = re.fullmatch(pattern, rest)
            if match and method == verb:
                return handler(int(match.group(1)), query, body)
        return 404, {"message": "Not Found"}

    def _artifacts(self, run_id: int, query: dict[str, str], body: Any) -> tuple[int, Any]:
        run = self.artifact_store / str(run_id)
        found = [json.loads(p.read_text()) for p in sorted(run.glob("*.json"))]
        found = [a for a in found if "name" not in query or a["name"] == query["name"]]
        artifacts = [{**a, "expired": False, "workflow_run": {"id": run_id}} for a in found]
        return 200, {"total_count": len(artifacts), "artifacts": artifacts}

    def _pull(self, number: int, query: dict[str, str], body: Any) -> tuple[int, Any]:
        pull = self.pulls.get(number)
        return (200, pull) if pull else (404, {"message": "Not Found"})

    def _list_comments(self, number: int, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if number not in self.pulls:
            return 404, {"message": "Not Found"}
        return 200, list(self.comments.get(number, []))  # paginated by the handler

    def _create_comment(self, number: int, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if number not in self.pulls:
            return 404, {"message": "Not Found"}
        problem = _comment_problem(body)
        if problem:
            return 422, {"message": problem}
        return 201, self.add_comment(number, BOT, body["body"])

    def _update_comment(self, comment_id: int, query: dict[str, str], body: Any) -> tuple[int, Any]:
        problem = _comment_problem(body)
        for comments in self.comments.values():
            for comment in comments:
                if comment["id"] == comment_id:
                    if comment["user"]["login"] != BOT:
                        return 403, {"message": "Resource not accessible by integration"}
                    if problem:
                        return 422, {"message": problem}
                    comment["body"] = body["body"]
                    return 200, comment
        return 404, {"message": "Not Found"}

    # --- the server ------------------------------------------------------------------------------

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # the rehearsal prints what matters
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                auth = self.headers.get("Authorization", "")
                if auth not in (f"token {fake.token}", f"Bearer {fake.token}"):
                    status, payload = 401, {"message": "Bad credentials"}
                else:
                    status, payload = fake.route(self.command, parts.path, query, body)
                headers = {}
                if status == 200 and isinstance(payload, list):
                    payload, headers = _page(payload, query, f"{fake.url}{parts.path}")
                fake.requests.append(Request(self.command, parts.path, query, body, status))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _comment_problem(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("body"), str):
        return "body is missing"
    # GitHub counts as JavaScript does: UTF-16 code units.
    if len(body["body"].encode("utf-16-le")) // 2 > MAX_COMMENT_CHARS:
        return f"Body is too long (maximum is {MAX_COMMENT_CHARS} characters)"
    return None


def _page(items: list[Any], query: dict[str, str], base: str) -> tuple[list[Any], dict[str, str]]:
    """GitHub's pagination: ``per_page`` (default 30, at most 100), ``page``, ``Link``."""
    per_page = min(max(int(query.get("per_page", 30)), 1), 100)
    page = max(int(query.get("page", 1)), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    links = []
    for rel, number in (("next", page + 1), ("last", last)):
        if page < last:
            links.append(f'<{base}?{urlencode({**query, "page": number})}>; rel="{rel}"')
    headers = {"Link": ", ".join(links)} if links else {}
    return items[(page - 1) * per_page : page * per_page], headers
