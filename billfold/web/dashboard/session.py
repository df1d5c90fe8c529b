"""Dashboard sessions: who may log in, and the signed cookie that remembers them.

The cookie is signed, not encrypted, so it holds nothing secret: how the person logged in, the
mode they look at (test or live), a CSRF token and, for a password login, a fingerprint of the
password (changing ``BILLFOLD_DASHBOARD_PASSWORD`` ends those sessions). itsdangerous stamps it
with the time it was signed; the server refuses it after ``MAX_AGE`` whatever the browser keeps.

The signing secret is derived, never stored: HMAC-SHA256 of a fixed label under the platform's
first live secret key. That key is random, exists from the first start, lives only in the
database (it cannot be pinned from the environment), so every process on the same database signs
alike with no new table or migration; and anyone able to forge a cookie with it could log in
with that key anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from billfold.accounts import find_key

if TYPE_CHECKING:
    from billfold.app import Billfold

COOKIE = "billfold_dashboard"
MAX_AGE = 12 * 3600
_LABEL = b"billfold dashboard sessions v1"


@dataclass
class Session:
    via: str  # "key" or "password"
    live: bool
    csrf: str
    who: str  # a masked key, or "password"
    pw: str = ""  # fingerprint of the password a password session logged in with

    def with_mode(self, live: bool) -> Session:
        return Session(self.via, live, self.csrf, self.who, self.pw)


class Sessions:
    """Logs people in and reads their cookies, for one Billfold app."""

    def __init__(self, app: Billfold) -> None:
        self.app = app
        self._serializer: URLSafeTimedSerializer | None = None
        self._secret = b""

    def _signing_secret(self) -> bytes:
        if not self._secret:
            with self.app.db.transaction(write=False) as tx:
                row = tx.one(
                    "SELECT secret FROM api_keys WHERE account = :a AND kind = 'secret' "
                    "AND livemode = :live ORDER BY created, secret LIMIT 1",
                    a=self.app.platform_account,
                    live=True,
                )
            if row is None:
                raise RuntimeError("the platform account has no live secret key")
            self._secret = hmac.new(str(row.secret).encode(), _LABEL, hashlib.sha256).digest()
        return self._secret

    @property
    def serializer(self) -> URLSafeTimedSerializer:
        if self._serializer is None:
            self._serializer = URLSafeTimedSerializer(self._signing_secret(), salt="dashboard")
        return self._serializer

    def _password_fingerprint(self, password: str) -> str:
        return hmac.new(self._signing_secret(), password.encode(), hashlib.sha256).hexdigest()[:32]

    def login(self, credential: str) -> Session | None:
        """A new session for a platform secret key or the configured password; None if neither."""
        credential = credential.strip()
        if not credential or len(credential) > 255:
            return None
        configured = self.app.settings.dashboard_password
        if configured and hmac.compare_digest(credential.encode(), configured.encode()):
            fingerprint = self._password_fingerprint(configured)
            return Session("password", False, secrets.token_urlsafe(24), "password", fingerprint)
        with self.app.db.transaction(write=False) as tx:
            key = find_key(tx, credential)
        # Only the platform's own secret keys: not publishable or restricted keys, and not a
        # connected account's keys.
        if key is None or key.kind != "secret" or key.account != self.app.platform_account:
            return None
        return Session("key", key.livemode, secrets.token_urlsafe(24), key.masked)

    def dump(self, session: Session) -> str:
        return str(self.serializer.dumps(asdict(session)))

    def load(self, cookie: str | None) -> Session | None:
        """The session a cookie holds, if it is signed by us, recent enough and still valid."""
        if not cookie:
            return None
        try:
            data: Any = self.serializer.loads(cookie, max_age=MAX_AGE)
        except (BadSignature, ValueError, TypeError):
            return None
        try:
            session = Session(
                via=str(data["via"]), live=bool(data["live"]), csrf=str(data["csrf"]),
                who=str(data["who"]), pw=str(data.get("pw", "")),
            )
        except (KeyError, TypeError):
            return None
        if session.via == "password":
            configured = self.app.settings.dashboard_password
            if not configured or not hmac.compare_digest(
                session.pw, self._password_fingerprint(configured)
            ):
                return None
        elif session.via != "key":
            return None
        return session


def csrf_ok(session: Session, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf.encode(), str(token).encode())
