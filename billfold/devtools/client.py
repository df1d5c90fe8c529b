"""A small HTTP client of a running Billfold, shared by ``listen``, ``trigger`` and ``logs``.

These commands talk to Billfold the way any Stripe integration does, over its public API with a
secret key, so they work against a server in another process or on another machine. httpx is
one of Billfold's own dependencies; the official ``stripe`` package is not, so parameters are
form-encoded here the way Stripe's SDKs encode them (``a[b][0]=x``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

DEFAULT_API_BASE = "http://127.0.0.1:12111"
KEY_ENVIRONMENT = ("BILLFOLD_SECRET_KEY", "STRIPE_API_KEY")


class ApiError(Exception):
    """An error answer from Billfold (Stripe's error shape), or no answer at all."""

    def __init__(self, message: str, status: int | None = None, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error: dict[str, Any] = (body or {}).get("error") or {}

    @property
    def type(self) -> str | None:
        return self.error.get("type")

    @property
    def code(self) -> str | None:
        return self.error.get("code")


def _pairs(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for name, inner in value.items():
            yield from _pairs(f"{prefix}[{name}]" if prefix else str(name), inner)
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            yield from _pairs(f"{prefix}[{index}]", inner)
    elif isinstance(value, bool):
        yield prefix, "true" if value else "false"
    elif value is None:
        yield prefix, ""
    else:
        yield prefix, str(value)


def encode(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Stripe's form encoding: nested hashes as ``a[b]``, arrays as ``a[0]``, booleans as words."""
    return list(_pairs("", params))


class Client:
    """Billfold's API with one secret key; ``account`` acts as a connected account."""

    def __init__(self, api_base: str, api_key: str, timeout: float = 30.0) -> None:
        self.api_base = api_base.rstrip("/")
        self.api_key = api_key
        self.http = httpx.Client(
            base_url=self.api_base,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "billfold-cli"},
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    def request(
        self, method: str, path: str, params: dict[str, Any] | None = None, account: str | None = None
    ) -> dict[str, Any]:
        headers = {"Stripe-Account": account} if account else {}
        fields = encode(params or {})
        try:
            if method == "GET":
                response = self.http.request(method, path, params=tuple(fields), headers=headers)
            else:
                response = self.http.request(method, path, data=dict(fields), headers=headers)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach Billfold at {self.api_base}: {exc}") from exc
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise ApiError(
                f"{method} {path} answered {response.status_code} without JSON; is "
                f"{self.api_base} a Billfold server?", response.status_code
            ) from exc
        if response.status_code >= 400:
            message = (body.get("error") or {}).get("message") or f"HTTP {response.status_code}"
            raise ApiError(message, response.status_code, body)
        return body

    def get(self, path: str, params: dict[str, Any] | None = None, account: str | None = None) -> dict[str, Any]:
        return self.request("GET", path, params, account)

    def post(self, path: str, params: dict[str, Any] | None = None, account: str | None = None) -> dict[str, Any]:
        return self.request("POST", path, params, account)

    def delete(self, path: str, account: str | None = None) -> dict[str, Any]:
        return self.request("DELETE", path, None, account)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-base",
        default=os.environ.get("BILLFOLD_API_BASE") or DEFAULT_API_BASE,
        help=f"the Billfold server (default: $BILLFOLD_API_BASE or {DEFAULT_API_BASE})",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="a secret key (default: $BILLFOLD_SECRET_KEY, $STRIPE_API_KEY, or the platform's "
        "test key read from --database)",
    )
    parser.add_argument(
        "--database",
        default=None,
        help="read the platform's secret key from this database when no key is given",
    )


def _key_from_database(database: str) -> str | None:
    from billfold.app import Billfold
    from billfold.config import Settings

    app = Billfold(Settings(database_url=database))
    try:
        app.start()
        keys = [k for k in app.platform_keys if k.kind == "secret" and not k.livemode]
        return keys[0].secret if keys else None
    finally:
        app.db.dispose()


def api_key(args: argparse.Namespace) -> str | None:
    if args.api_key:
        return str(args.api_key)
    for name in KEY_ENVIRONMENT:
        if os.environ.get(name):
            return os.environ[name]
    database = args.database or os.environ.get("BILLFOLD_DATABASE_URL")
    if database is None and Path("billfold.db").exists():
        database = "billfold.db"
    return _key_from_database(database) if database else None


def connect(args: argparse.Namespace) -> Client | None:
    """The client the arguments describe, or None (having said why) when there is no key."""
    # httpx logs every request at INFO; the commands print what matters themselves.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    key = api_key(args)
    if not key:
        fail("no API key: pass --api-key, set BILLFOLD_SECRET_KEY, or run where billfold.db is")
        return None
    return Client(args.api_base, key)


def fail(message: str) -> None:
    print(f"billfold: {message}", file=sys.stderr, flush=True)
