"""API keys on the wire: Bearer or Basic auth, and what each kind of key may do."""

from __future__ import annotations

import base64
import binascii
import re
import time
from typing import TYPE_CHECKING, Any

from billfold.accounts import ApiKey, find_key
from billfold.errors import AuthenticationError, PermissionError_

if TYPE_CHECKING:
    from billfold.store.db import Database
    from billfold.wire.router import Route

_CACHE_SECONDS = 5.0
_KEY_PREFIX = re.compile(r"^(?:sk|pk|rk)_(?:test|live)_")


def _no_key() -> AuthenticationError:
    return AuthenticationError(
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
        "https://stripe.com/docs/api#authentication for details."
    )


def mask(secret: str) -> str:
    """Stripe's way of naming a key in an error: its kind prefix and last four characters."""
    prefix = _KEY_PREFIX.match(secret)
    head = prefix.group(0) if prefix else ""
    rest = secret[len(head):]
    tail = rest[-4:] if len(rest) > 8 else ""
    return head + "*" * max(len(rest) - len(tail), 4) + tail


def key_from_header(header: str | None) -> str:
    if not header or not header.strip():
        raise _no_key()
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        secret = value
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise AuthenticationError(
                "Invalid API Key provided: the Basic authorization header is not valid base64. "
                "Send your API key as the user name with an empty password."
            ) from exc
        secret = decoded.partition(":")[0]
    else:
        raise AuthenticationError(
            "Invalid authorization header. Use Bearer auth ('Authorization: Bearer "
            "YOUR_SECRET_KEY') or Basic auth with your API key as the user name."
        )
    if not secret:
        raise _no_key()
    return secret


class KeyRing:
    """Looks keys up with a short cache, so a request costs no extra query in the common case."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[str, tuple[float, ApiKey]] = {}

    def authenticate(self, header: str | None) -> ApiKey:
        secret = key_from_header(header)
        cached = self._cache.get(secret)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        key = None
        if len(secret) <= 255:
            with self.db.transaction(write=False) as tx:
                key = find_key(tx, secret)
        if key is None:
            raise AuthenticationError(f"Invalid API Key provided: {mask(secret[:255])}")
        self._cache[secret] = (time.monotonic() + _CACHE_SECONDS, key)
        return key

    def forget(self) -> None:
        self._cache.clear()


def permission_name(route: Route) -> str:
    """Stripe names a restricted key's rights ``rak_<resource>_<read|write>`` (singular)."""
    resource = route.resource[:-1] if route.resource.endswith("s") else route.resource
    return f"rak_{resource}_{'write' if route.write else 'read'}"


def authorize(key: ApiKey, route: Route, params: dict[str, Any]) -> None:
    """Secret keys may call anything; publishable keys only what Stripe.js calls; restricted
    keys what their permissions grant (``write`` implies ``read``)."""
    if key.kind == "secret":
        return
    if key.kind == "publishable":
        if not route.publishable:
            raise PermissionError_(
                "This API call cannot be made with a publishable API key. Please use a secret "
                "API key. You can find a list of your API keys in the output of `billfold keys`.",
                code="secret_key_required",
            )
        return
    granted = key.permissions.get(route.resource) or key.permissions.get("*")
    if granted == "write" or (granted == "read" and not route.write):
        return
    raise PermissionError_(
        f"The provided key '{key.masked}' does not have the required permissions for this "
        f"endpoint on account '{key.account}'. Having the '{permission_name(route)}' permission "
        "would allow this request to continue."
    )
