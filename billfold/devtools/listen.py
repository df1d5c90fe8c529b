"""``billfold listen``: watch a running Billfold's events and forward each, signed, to a local URL.

Like ``stripe listen``, but as a plain client of Billfold's public API: it polls
``GET /v1/events`` (and, for Connect, each connected account's events) a few times a second
and POSTs every new event with a ``Stripe-Signature`` header made by Billfold's own webhook
signer, so an app's ``stripe.Webhook.construct_event`` accepts it with the printed secret.

Polling keeps a set of the event ids already seen instead of a single cursor: events are
listed by ``created`` and insertion order, and a transaction that commits late can add an event
below one already forwarded. Walking the newest page until it reaches seen ids forwards those too.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import hmac
import json
import signal
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Any

import httpx

from billfold.devtools.client import ApiError, Client, connect, fail
from billfold.events.signing import signature_header

PAGE = 100
MAX_PAGES = 10
MAX_SEEN = 50_000
ACCOUNTS_EVERY = 2.0  # seconds between looks for new connected accounts
ACCOUNTS_PER_TICK = 8  # connected accounts polled per tick, in turn


def signing_secret(api_key: str, forward_to: str) -> str:
    """Stable for one key and forward URL, so a running app keeps its secret across restarts."""
    digest = hmac.new(api_key.encode(), f"billfold listen {forward_to}".encode(), hashlib.sha256)
    return "whsec_" + digest.hexdigest()[:40]


def wanted(patterns: list[str], event_type: str) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


class Listener:
    """Finds new events and forwards them; ``tick`` does one round of both."""

    def __init__(
        self,
        client: Client,
        *,
        forward_to: str | None,
        forward_connect_to: str | None,
        secret: str,
        events: list[str],
        retries: int = 3,
        print_json: bool = False,
        out: Callable[[str], None] = print,
    ) -> None:
        self.client = client
        self.forward_to = forward_to
        self.forward_connect_to = forward_connect_to or forward_to
        self.secret = secret
        self.events = events
        self.retries = retries
        self.print_json = print_json
        self.out = out
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.accounts: list[str] = []
        self._turn = 0
        self._accounts_at = 0.0
        self.http = httpx.Client(timeout=10.0)

    def _mark(self, event_id: str) -> None:
        self.seen[event_id] = None
        if len(self.seen) > MAX_SEEN:
            self.seen.popitem(last=False)

    def fresh(self, account: str | None) -> list[dict[str, Any]]:
        """Unseen events of the platform (or one connected account), oldest first."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": PAGE}
        for _ in range(MAX_PAGES):
            page = self.client.get("/v1/events", params, account)
            data: list[dict[str, Any]] = page["data"]
            new = [event for event in data if event["id"] not in self.seen]
            found.extend(new)
            if len(new) < len(data) or not page.get("has_more") or not data:
                break
            params = {"limit": PAGE, "starting_after": data[-1]["id"]}
        found.reverse()
        return found

    def start(self, replay: int) -> None:
        """Mark what exists as seen (but the last ``replay`` platform events), so only news flows."""
        existing = self.client.get("/v1/events", {"limit": PAGE})["data"]
        for event in existing[replay:]:
            self._mark(event["id"])
        self._refresh_accounts(force=True)
        for account in self.accounts:
            for event in self.client.get("/v1/events", {"limit": PAGE}, account)["data"]:
                self._mark(event["id"])

    def _refresh_accounts(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._accounts_at < ACCOUNTS_EVERY:
            return
        self._accounts_at = time.monotonic()
        found: list[str] = []
        params: dict[str, Any] = {"limit": 100}
        while True:
            page = self.client.get("/v1/accounts", params)
            found.extend(account["id"] for account in page["data"])
            if not page.get("has_more") or not page["data"]:
                break
            params = {"limit": 100, "starting_after": page["data"][-1]["id"]}
        self.accounts = found

    def tick(self) -> int:
        """One round: the platform's new events, then a few connected accounts' in turn."""
        forwarded = 0
        for event in self.fresh(None):
            forwarded += self.handle(event, self.forward_to)
        self._refresh_accounts()
        if self.accounts:
            count = min(ACCOUNTS_PER_TICK, len(self.accounts))
            for step in range(count):
                account = self.accounts[(self._turn + step) % len(self.accounts)]
                try:
                    found = self.fresh(account)
                except ApiError as exc:
                    if exc.status not in (401, 403, 404):
                        raise
                    continue  # deleted or deauthorized since the last look at the accounts
                for event in found:
                    forwarded += self.handle(event, self.forward_connect_to)
            self._turn = (self._turn + count) % len(self.accounts)
        return forwarded

    def handle(self, event: dict[str, Any], target: str | None) -> int:
        self._mark(event["id"])
        if not wanted(self.events, event["type"]):
            return 0
        when = datetime.fromtimestamp(event["created"]).strftime("%Y-%m-%d %H:%M:%S")
        where = f" (account {event['account']})" if event.get("account") else ""
        if self.print_json:
            self.out(json.dumps(event, indent=2))
        if target is None:
            self.out(f"{when}  --> {event['type']} [{event['id']}]{where}")
            return 1
        status = self.forward(event, target)
        self.out(f"{when}  --> {event['type']} [{event['id']}]{where}  <-- {status} POST {target}")
        return 1

    def forward(self, event: dict[str, Any], target: str) -> str:
        """POST the event, signed; retry a few times while the target is down or failing."""
        body = json.dumps(event, indent=2).encode()
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.5 * 2 ** (attempt - 1), 4.0))
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature_header(self.secret, int(time.time()), body),
                "User-Agent": "Billfold-Listen/1.0",
            }
            try:
                response = self.http.post(target, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"[ERROR] {type(exc).__name__}: {exc}"
                continue
            if response.status_code < 500:
                return f"[{response.status_code}]"
            problem = f"[{response.status_code}]"
        return f"{problem} after {self.retries + 1} attempts"


def _stop_on_term(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def listen_command(args: argparse.Namespace) -> int:
    client = connect(args)
    if client is None:
        return 1
    events = [part.strip() for part in (args.events or "").split(",") if part.strip()]
    secret = signing_secret(client.api_key, args.forward_to or "")
    listener = Listener(
        client, forward_to=args.forward_to, forward_connect_to=args.forward_connect_to,
        secret=secret, events=events, retries=args.retries, print_json=args.print_json,
        out=lambda line: print(line, flush=True),
    )
    signal.signal(signal.SIGTERM, _stop_on_term)
    # ^C stops it even when started from a shell script's background job, which ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        listener.start(args.replay)
        where = f"forwarding events to {args.forward_to}" if args.forward_to else "printing events"
        print(
            f"Ready! Listening to {client.api_base}, {where}. "
            f"Your webhook signing secret is {secret} (^C to quit)",
            flush=True,
        )
        lost = False
        while True:
            started = time.monotonic()
            try:
                listener.tick()
                if lost:
                    print("Billfold is back; listening again.", flush=True)
                lost = False
            except ApiError as exc:
                if exc.status is not None and exc.status < 500:
                    raise
                # A restarting server: say so once, and keep trying.
                if not lost:
                    fail(f"{exc.message}; retrying")
                lost = True
                time.sleep(1.0)
            time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    except ApiError as exc:
        fail(exc.message)
        return 1
    except KeyboardInterrupt:
        print("Stopped listening.", flush=True)
        return 0
    finally:
        listener.http.close()
        client.close()


def add_parser(commands: Any) -> None:
    from billfold.devtools.client import add_arguments

    parser = commands.add_parser(
        "listen", help="forward a running Billfold's events, signed, to a local URL (like stripe listen)"
    )
    add_arguments(parser)
    parser.add_argument("--forward-to", "-f", default=None, help="URL to POST each event to")
    parser.add_argument(
        "--forward-connect-to", default=None,
        help="URL for connected accounts' events (default: --forward-to)",
    )
    parser.add_argument(
        "--events", "-e", default="", help="comma-separated event types to forward (customer.* works; default all)"
    )
    parser.add_argument("--replay", type=int, default=0, metavar="N", help="also forward the last N events first")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between polls")
    parser.add_argument("--retries", type=int, default=3, help="retries of a failed forward")
    parser.add_argument("--print-json", action="store_true", help="print each event's JSON")
