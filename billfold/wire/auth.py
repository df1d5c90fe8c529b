"""API keys on the wire: Bearer or Basic auth, and what each kind of key may do."""

from __future__ import annotations

import base64
import binascii
import time
from typing import TYPE_CHECKING, Any

from billfold.accounts import ApiKey, find_key
from billfold.errors import AuthenticationError, PermissionError_

if TYPE_CHECKING:
    from billfold.store.db import Database
    from billfold.wire.router import Route

_CACHE_SECONDS = 5.0


def _no_key() -> AuthenticationError:
    return AuthenticationError(
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
    )


def key_from_header(header: str | None) -> str:
    if not header:
        raise _no_key()
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        secret = value
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise AuthenticationError("Invalid Basic authorization header.") from exc
        secret = decoded.partition(":")[0]
    else:
        raise AuthenticationError(
            "Invalid authorization header. Use Bearer auth or Basic auth with your API key "
            "as the user name."
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
        with self.db.transaction(write=False) as tx:
            key = find_key(tx, secret)
        if key is None:
            masked = secret[:8] + "*" * max(len(secret) - 12, 4) + secret[-4:]
            raise AuthenticationError(f"Invalid API Key provided: {masked}")
        self._cache[secret] = (time.monotonic() + _CACHE_SECONDS, key)
        return key

    def forget(self) -> None:
        self._cache.clear()


def authorize(key: ApiKey, route: Route, params: dict[str, Any]) -> None:
    if key.kind == "secret":
        return
    if key.kind == "publishable":
        if not route.publishable:
            raise PermissionError_(
                "This API call cannot be made with a publishable API key. Please use a secret "
                "API key.",
                code="secret_key_required",
            )
        return
    granted = key.permissions.get(route.resource) or key.permissions.get("*")
    needed = "write" if route.write else "read"
    if granted == "write" or (granted == "read" and needed == "read"):
        return
    raise PermissionError_(
        f"The provided key '{key.masked}' does not have the required permissions for this "
        f"endpoint on account '{key.account}'. Having the '{route.resource}_{needed}' permission "
        "would allow this request to continue.",
        code="permission_error",
    )
