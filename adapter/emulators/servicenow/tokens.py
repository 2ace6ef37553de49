"""The emulator's OAuth registry: client registrations, authorization codes, access and refresh tokens.

Pure bookkeeping over the emulator's ``Clock`` (no HTTP here), the in-memory counterpart of an instance's
``oauth_entity`` and ``oauth_credential`` tables. Every failure raises ``GrantError``, which the HTTP
layer turns into ServiceNow's one-size-fits-all 401
``{"error_description":"access_denied","error":"server_error"}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field
from typing import Literal

from adapter.emulators.servicenow.clock import Clock

DEFAULT_SCOPE = "useraccount"
CODE_LIFESPAN = 60.0
TokenKind = Literal["access", "refresh"]


class GrantError(Exception):
    """A grant, code or token was refused; the message says why (for logs only, never sent to clients)."""


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """An ``oauth_entity`` row; ``{instance}`` in ``redirect_urls`` stands for the serving origin."""

    client_id: str
    name: str
    redirect_urls: tuple[str, ...]
    client_secret: str | None = None
    access_token_lifespan: int = 1800
    refresh_token_lifespan: int = 8_640_000

    @property
    def public(self) -> bool:
        """A public client has no secret and must use PKCE."""
        return self.client_secret is None

    def redirect_urls_for(self, instance: str) -> tuple[str, ...]:
        """The registered redirect URLs with ``{instance}`` resolved to ``instance`` (an origin, no slash)."""
        return tuple(url.replace("{instance}", instance) for url in self.redirect_urls)

    def resolve_redirect(self, requested: str | None, instance: str) -> str:
        """Where the instance sends the user: the requested URL if registered, else the first registered one.

        This is the documented instance behaviour, so a code never reaches an unregistered address.
        """
        registered = self.redirect_urls_for(instance)
        return requested if requested in registered else registered[0]

    def check_secret(self, secret: str | None) -> bool:
        """A confidential client must present its secret; a public client's request may carry none or any."""
        if self.client_secret is None:
            return True
        return secret is not None and hmac.compare_digest(secret, self.client_secret)


DEMO_CLIENT = OAuthClient(
    client_id="openfin-demo",
    name="OpenFin demo (public client)",
    redirect_urls=("{instance}/oauth_redirect.do",),
)


@dataclass(slots=True)
class AuthorizationCode:
    """A one-time code bound to its client, redirect URL, user and PKCE challenge."""

    value: str
    client_id: str
    redirect_uri: str
    user_sys_id: str
    scope: str
    code_challenge: str | None
    expires_at: float
    used: bool = False


@dataclass(slots=True)
class Token:
    """An ``oauth_credential`` row: an access or refresh token of one user for one client."""

    value: str
    kind: TokenKind
    client_id: str
    user_sys_id: str
    scope: str
    issued_at: float
    expires_at: float
    refresh_token: str | None = None
    grant: str = "authorization_code"
    revoked: bool = False

    def live(self, now: float) -> bool:
        """Not revoked and not expired at ``now``."""
        return not self.revoked and now < self.expires_at


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a successful grant hands out."""

    access: Token
    refresh: Token

    def response(self, now: float) -> dict[str, str | int]:
        """The body of a token response as an instance sends it (``expires_in`` = remaining lifespan - 1)."""
        return {
            "access_token": self.access.value,
            "refresh_token": self.refresh.value,
            "scope": self.access.scope,
            "token_type": "Bearer",
            "expires_in": max(math.ceil(self.access.expires_at - now) - 1, 0),
        }


def new_secret() -> str:
    """An opaque 86-character value from ``[A-Za-z0-9_-]``, safe even when a client does not URL-encode it."""
    return secrets.token_urlsafe(64)


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding, as RFC 7636 defines the S256 method."""
    digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class TokenRegistry:
    """Clients, codes and tokens; time comes from ``clock``, so the clock hook expires tokens at once."""

    clock: Clock
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    _codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    _tokens: dict[str, Token] = field(default_factory=dict)

    def register(self, client: OAuthClient) -> None:
        """Add or replace an app registry entry."""
        self.clients[client.client_id] = client

    def client(self, client_id: str | None) -> OAuthClient:
        """The registered client, or ``GrantError`` for an unknown or missing id."""
        found = self.clients.get(client_id or "")
        if found is None:
            raise GrantError(f"unknown client_id {client_id!r}")
        return found

    def issue_code(
        self,
        client: OAuthClient,
        *,
        redirect_uri: str,
        user_sys_id: str,
        scope: str,
        code_challenge: str | None,
    ) -> str:
        """A fresh single-use authorization code, valid for ``CODE_LIFESPAN`` seconds."""
        self._forget_expired()
        value = new_secret()
        self._codes[value] = AuthorizationCode(
            value=value,
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            user_sys_id=user_sys_id,
            scope=scope or DEFAULT_SCOPE,
            code_challenge=code_challenge,
            expires_at=self.clock.timestamp() + CODE_LIFESPAN,
        )
        return value

    def redeem_code(
        self,
        *,
        client: OAuthClient,
        code: str | None,
        redirect_uri: str | None,
        code_verifier: str | None,
        client_secret: str | None,
    ) -> TokenPair:
        """The authorization_code grant: checks binding, expiry, single use and the PKCE verifier."""
        found = self._codes.get(code or "")
        if found is None:
            raise GrantError("unknown authorization code")
        if found.used:
            raise GrantError("authorization code already used")
        found.used = True
        if self.clock.timestamp() >= found.expires_at:
            raise GrantError("authorization code expired")
        if found.client_id != client.client_id:
            raise GrantError("authorization code issued to another client")
        if redirect_uri != found.redirect_uri:
            raise GrantError("redirect_uri differs from the one of the authorize request")
        if not client.check_secret(client_secret):
            raise GrantError("bad client secret")
        if found.code_challenge is not None:
            if not code_verifier:
                raise GrantError("code_verifier missing")
            if not hmac.compare_digest(s256_challenge(code_verifier), found.code_challenge):
                raise GrantError("code_verifier does not match the code_challenge")
        elif client.public:
            raise GrantError("public client without PKCE")
        return self._issue_pair(client, found.user_sys_id, found.scope, grant="authorization_code")

    def refresh(
        self, *, client: OAuthClient, refresh_token: str | None, client_secret: str | None
    ) -> TokenPair:
        """The refresh_token grant: a new access token, and the same refresh token echoed (no rotation)."""
        now = self.clock.timestamp()
        found = self._tokens.get(refresh_token or "")
        if found is None or found.kind != "refresh" or not found.live(now):
            raise GrantError("refresh token unknown, expired or revoked")
        if found.client_id != client.client_id:
            raise GrantError("refresh token issued to another client")
        if not client.check_secret(client_secret):
            raise GrantError("bad client secret")
        access = self._new_token("access", client, found.user_sys_id, found.scope, found.value, found.grant)
        return TokenPair(access=access, refresh=found)

    def password(
        self, *, client: OAuthClient, user_sys_id: str, scope: str, client_secret: str | None
    ) -> TokenPair:
        """The password grant (the caller has checked the user's password).

        As on an instance, while an earlier password-grant access token of this user and client is live, the
        same token comes back with its expiry extended, and so does its refresh token.
        """
        if not client.check_secret(client_secret):
            raise GrantError("bad client secret")
        now = self.clock.timestamp()
        for token in reversed(self._tokens.values()):
            if (
                token.kind == "access"
                and token.grant == "password"
                and token.client_id == client.client_id
                and token.user_sys_id == user_sys_id
                and token.live(now)
                and token.refresh_token is not None
            ):
                refresh = self._tokens[token.refresh_token]
                if refresh.live(now):
                    token.expires_at = now + client.access_token_lifespan
                    refresh.expires_at = now + client.refresh_token_lifespan
                    return TokenPair(access=token, refresh=refresh)
        return self._issue_pair(client, user_sys_id, scope or DEFAULT_SCOPE, grant="password")

    def access(self, value: str) -> Token | None:
        """The live access token ``value``, or ``None`` when unknown, expired, revoked or a refresh token."""
        found = self._tokens.get(value)
        if found is None or found.kind != "access" or not found.live(self.clock.timestamp()):
            return None
        return found

    def revoke(self, value: str, *, client_id: str | None = None) -> bool:
        """Mark a token expired; a refresh token takes its access tokens along. Returns whether it was live.

        When ``client_id`` is given, a token issued to another client is left alone (RFC 7009).
        """
        found = self._tokens.get(value)
        now = self.clock.timestamp()
        if found is None or not found.live(now) or (client_id is not None and found.client_id != client_id):
            return False
        found.revoked = True
        if found.kind == "refresh":
            for token in self._tokens.values():
                if token.refresh_token == found.value:
                    token.revoked = True
        return True

    def forget_all(self) -> None:
        """Drop every code and token (client registrations stay)."""
        self._codes.clear()
        self._tokens.clear()

    def live_tokens(self) -> dict[TokenKind, list[str]]:
        """Every live token value by kind, oldest first."""
        now = self.clock.timestamp()
        ordered = sorted((t for t in self._tokens.values() if t.live(now)), key=lambda t: t.issued_at)
        return {
            "access": [t.value for t in ordered if t.kind == "access"],
            "refresh": [t.value for t in ordered if t.kind == "refresh"],
        }

    def _issue_pair(self, client: OAuthClient, user_sys_id: str, scope: str, *, grant: str) -> TokenPair:
        refresh = self._new_token("refresh", client, user_sys_id, scope, None, grant)
        access = self._new_token("access", client, user_sys_id, scope, refresh.value, grant)
        return TokenPair(access=access, refresh=refresh)

    def _new_token(
        self,
        kind: TokenKind,
        client: OAuthClient,
        user_sys_id: str,
        scope: str,
        refresh_token: str | None,
        grant: str,
    ) -> Token:
        self._forget_expired()
        now = self.clock.timestamp()
        lifespan = client.access_token_lifespan if kind == "access" else client.refresh_token_lifespan
        token = Token(
            value=new_secret(),
            kind=kind,
            client_id=client.client_id,
            user_sys_id=user_sys_id,
            scope=scope,
            issued_at=now,
            expires_at=now + lifespan,
            refresh_token=refresh_token,
            grant=grant,
        )
        self._tokens[token.value] = token
        return token

    def _forget_expired(self) -> None:
        """Drop used or expired codes so a long-running emulator does not grow; tokens stay for the record."""
        now = self.clock.timestamp()
        for value in [v for v, c in self._codes.items() if c.used or now >= c.expires_at]:
            del self._codes[value]
