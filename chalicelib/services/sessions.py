"""Sessions (contract v2): a login starts one; refresh rotates its token; logout, a password
change or an account deletion ends sessions. No HTTP and no DynamoDB in sight.

Reuse detection (RFC 9700 §4.14.2): a refresh token is spent once rotated. Presenting a
spent token again means two parties hold tokens of one session, so the session ends and
the newest token stops working too. Of concurrent refreshes with one token the single
conditional write lets at most one win; the others then present a spent token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chalicelib.auth import refresh_tokens
from chalicelib.auth.refresh_tokens import MalformedRefreshToken, PresentedToken
from chalicelib.auth.tokens import Principal, TokenService
from chalicelib.errors import InvalidRefreshToken
from chalicelib.storage.sessions import RotationRefused, Session, SessionRepository

FIRST_GENERATION = 1


@dataclass(frozen=True)
class Tokens:
    """What login and refresh answer."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int

    def to_json(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "refresh_expires_in": self.refresh_expires_in,
        }


class SessionService:
    def __init__(
        self, sessions: SessionRepository, tokens: TokenService, refresh_lifetime_seconds: int
    ) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._refresh_lifetime_seconds = refresh_lifetime_seconds

    def start(self, principal: Principal, now: float | None = None) -> Tokens:
        """A new session for a user who just proved their password."""
        now = time.time() if now is None else now
        session_id = refresh_tokens.new_session_id()
        issued = refresh_tokens.issue(principal.user_id, session_id, FIRST_GENERATION)
        expires_at = int(now) + self._refresh_lifetime_seconds
        self._sessions.add(
            Session(
                user_id=principal.user_id,
                session_id=session_id,
                username=principal.username,
                generation=FIRST_GENERATION,
                token_hash=issued.token_hash,
                expires_at=expires_at,
            )
        )
        return self._tokens_for(principal, issued.token, expires_at, now)

    def refresh(self, refresh_token: object, now: float | None = None) -> Tokens:
        """New access and refresh tokens; the presented refresh token is spent."""
        now = time.time() if now is None else now
        presented = _parse(refresh_token)
        new_token = refresh_tokens.issue(
            presented.user_id, presented.session_id, presented.generation + 1
        )
        try:
            session = self._sessions.rotate(presented, new_token.token_hash, now)
        except RotationRefused as refused:
            if refused.stored is not None and _is_spent(presented, refused.stored, now):
                self._sessions.end(presented.user_id, presented.session_id)
            raise InvalidRefreshToken() from None
        principal = Principal(user_id=session.user_id, username=session.username)
        return self._tokens_for(principal, new_token.token, session.expires_at, now)

    def logout(self, refresh_token: object) -> None:
        """End the token's session; a malformed or unknown token ends nothing, silently."""
        try:
            presented = _parse(refresh_token)
        except InvalidRefreshToken:
            return
        self._sessions.end_if_presented(presented)

    def end_all(self, user_id: str) -> None:
        self._sessions.end_all(user_id)

    def _tokens_for(
        self, principal: Principal, refresh_token: str, expires_at: int, now: float
    ) -> Tokens:
        return Tokens(
            access_token=self._tokens.issue(principal, now),
            expires_in=self._tokens.lifetime_seconds,
            refresh_token=refresh_token,
            refresh_expires_in=max(0, expires_at - int(now)),
        )


def _parse(refresh_token: object) -> PresentedToken:
    try:
        return refresh_tokens.parse(refresh_token)
    except MalformedRefreshToken:
        raise InvalidRefreshToken() from None


def _is_spent(presented: PresentedToken, stored: Session, now: float) -> bool:
    """An earlier generation of a live session: a token that was issued and rotated away.

    The session id has 128 random bits, so presenting it at all proves a token of this
    session was held. (The live token itself is compared inside DynamoDB's condition, on
    SHA-256 hashes of the secrets: what a timing difference could reveal is a prefix of a
    hash of a 256-bit random value, which gets an attacker nowhere.)"""
    return stored.expires_at > now and presented.generation < stored.generation
