"""``billfold logs``: tail a running Billfold's API requests, like ``stripe logs tail``.

It polls ``GET /billfold/api/request_logs?after=<last request id>``, which every API process
fills (in batches, a fraction of a second late), so it sees requests whichever process served
them. Lines go to stdout; status messages to stderr, so ``--json`` output stays parseable.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import signal
import sys
import time
from datetime import datetime
from types import FrameType
from typing import Any

from billfold.devtools.client import ApiError, Client, connect, fail

PATH = "/billfold/api/request_logs"
STATUS_TYPES = ("2XX", "3XX", "4XX", "5XX")


def _split(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


class Filters:
    """Stripe's ``logs tail`` filters: status codes and their classes, methods, paths, outcome."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.codes = {int(code) for code in _split(args.filter_status_code)}
        self.code_types = {kind.upper()[0] for kind in _split(args.filter_status_code_type)}
        self.methods = {method.upper() for method in _split(args.filter_http_method)}
        self.paths = _split(args.filter_request_path)
        self.outcome = args.filter_request_status

    def __call__(self, entry: dict[str, Any]) -> bool:
        status = int(entry["status"])
        if self.codes and status not in self.codes:
            return False
        if self.code_types and str(status)[0] not in self.code_types:
            return False
        if self.methods and entry["method"] not in self.methods:
            return False
        if self.paths and not any(fnmatch.fnmatchcase(entry["path"], path) for path in self.paths):
            return False
        if self.outcome == "succeeded" and status >= 400:
            return False
        return not (self.outcome == "failed" and status < 400)


def line(entry: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(entry["created"]).strftime("%H:%M:%S")
    text = f"{when}  {entry['status']} {entry['method']} {entry['path']} [{entry['request_id']}]"
    if entry.get("error_type"):
        text += f"  {entry['error_type']}" + (f": {entry['error_code']}" if entry.get("error_code") else "")
    return text


class Tail:
    def __init__(self, client: Client, keep: Filters, as_json: bool, limit: int | None) -> None:
        self.client = client
        self.keep = keep
        self.as_json = as_json
        self.remaining = limit
        self.cursor: str | None = None

    def show(self, entries: list[dict[str, Any]]) -> bool:
        """Print the entries that pass the filters; False once ``--limit`` lines are out."""
        for entry in entries:
            self.cursor = entry["id"]
            if not self.keep(entry):
                continue
            print(json.dumps(entry) if self.as_json else line(entry), flush=True)
            if self.remaining is not None:
                self.remaining -= 1
                if self.remaining <= 0:
                    return False
        return True

    def newest(self, count: int) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.client.get(PATH, {"limit": count})["data"]
        return data

    def poll(self) -> bool:
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if self.cursor is not None:
                params["after"] = self.cursor
            try:
                page = self.client.get(PATH, params)
            except ApiError as exc:
                if exc.code != "resource_missing":
                    raise
                # The entry the cursor named was pruned: carry on from the newest one.
                found = self.newest(1)
                self.cursor = found[-1]["id"] if found else None
                return True
            if not self.show(page["data"]):
                return False
            if not page.get("has_more"):
                return True


def _stop_on_term(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def logs_command(args: argparse.Namespace) -> int:
    client = connect(args)
    if client is None:
        return 1
    try:
        keep = Filters(args)
    except ValueError:
        fail(f"bad --filter-status-code {args.filter_status_code!r}: use numbers such as 200,402")
        return 2
    tail = Tail(client, keep, args.json, args.limit)
    signal.signal(signal.SIGTERM, _stop_on_term)
    # ^C stops it even when started from a shell script's background job, which ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        recent = tail.newest(args.recent or (20 if args.once else 1))
        if args.recent or args.once:
            if not tail.show(recent) or args.once:
                return 0
        tail.cursor = recent[-1]["id"] if recent else None
        print(f"Ready! Tailing API requests on {client.api_base} (^C to quit)", file=sys.stderr, flush=True)
        lost = False
        while True:
            try:
                if not tail.poll():
                    return 0
                lost = False
            except ApiError as exc:
                if exc.status is not None and exc.status < 500:
                    raise
                # A restarting server: say so once, and keep trying.
                if not lost:
                    fail(f"{exc.message}; retrying")
                lost = True
                time.sleep(1.0)
            time.sleep(args.interval)
    except ApiError as exc:
        fail(exc.message)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        client.close()


def add_parser(commands: Any) -> None:
    from billfold.devtools.client import add_arguments

    parser = commands.add_parser("logs", help="tail a running Billfold's API requests (like stripe logs tail)")
    add_arguments(parser)
    parser.add_argument("--filter-status-code", default=None, help="e.g. 200,402")
    parser.add_argument("--filter-status-code-type", default=None, help="e.g. 4XX,5XX")
    parser.add_argument("--filter-http-method", default=None, help="e.g. POST,DELETE")
    parser.add_argument("--filter-request-path", default=None, help="e.g. /v1/customers,/v1/charges/*")
    parser.add_argument("--filter-request-status", choices=("succeeded", "failed"), default=None)
    parser.add_argument("--json", action="store_true", help="print each request as a JSON line")
    parser.add_argument("--recent", type=int, default=0, metavar="N", help="first show the last N requests")
    parser.add_argument("--once", action="store_true", help="show the last --recent requests and exit")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="exit after N lines")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between polls")
