"""The few things fanout says to GitHub Actions and its API: step outputs, the job summary, one PR comment.

Only ``send`` touches the network; what it sends is built by pure functions (``comment_requests``), so the
request bodies are tested without a server.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Marks fanout's comment, so that each push updates it instead of adding another.
COMMENT_MARKER = "<!-- fanout: the per-cluster diff of this pull request -->"
COMMENT_LIMIT = 65_536  # GitHub refuses a longer comment body


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: Mapping[str, Any] | None = None


def pull_request_number(event_path: str | None) -> int | None:
    """The pull request of the event that started the job (``$GITHUB_EVENT_PATH``), if it is one."""
    if not event_path or not Path(event_path).is_file():
        return None
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pull = event.get("pull_request") if isinstance(event, dict) else None
    number = pull.get("number") if isinstance(pull, dict) else None
    return number if isinstance(number, int) else None


def comment_requests(
    api: str, repository: str, number: int, existing: Sequence[Mapping[str, Any]], body: str
) -> Request:
    """The one request that leaves exactly one fanout comment on the pull request, holding ``body``."""
    for comment in existing:
        text = comment.get("body")
        if isinstance(text, str) and text.startswith(COMMENT_MARKER) and isinstance(comment.get("id"), int):
            return Request(
                "PATCH", f"{api}/repos/{repository}/issues/comments/{comment['id']}", {"body": body}
            )
    return Request("POST", f"{api}/repos/{repository}/issues/{number}/comments", {"body": body})


def send(request: Request, token: str) -> Any:
    data = json.dumps(request.body).encode() if request.body is not None else None
    message = urllib.request.Request(request.url, data=data, method=request.method)
    message.add_header("Authorization", f"Bearer {token}")
    message.add_header("Accept", "application/vnd.github+json")
    message.add_header("X-GitHub-Api-Version", "2022-11-28")
    if data is not None:
        message.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(message, timeout=30) as response:  # the https API URL Actions gives
        return json.loads(response.read() or b"null")


def upsert_comment(api: str, repository: str, number: int, token: str, body: str) -> str:
    """Create or update fanout's comment; returns what happened, for the log. Never raises for HTTP errors:
    a token that may not write (a fork's pull request) leaves the job summary as the report."""
    try:
        existing: list[Mapping[str, Any]] = []
        for page in range(1, 11):
            listed = send(
                Request("GET", f"{api}/repos/{repository}/issues/{number}/comments?per_page=100&page={page}"),
                token,
            )
            if not isinstance(listed, list):
                break
            existing += listed
            if len(listed) < 100:
                break
        request = comment_requests(api, repository, number, existing, body)
        send(request, token)
    except urllib.error.HTTPError as exc:
        return f"the pull request comment was not written: GitHub answered {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"the pull request comment was not written: {exc}"
    return (
        "updated the pull request comment" if request.method == "PATCH" else "commented on the pull request"
    )


def write_outputs(path: str | None, values: Mapping[str, str]) -> None:
    """Append ``name=value`` lines to ``$GITHUB_OUTPUT`` (values are single-line)."""
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        for name, value in values.items():
            handle.write(f"{name}={value}\n")


def append_summary(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")


def environment() -> Mapping[str, str]:
    return os.environ
