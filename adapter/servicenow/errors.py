"""Typed errors with the names and messages of the official ``@openfin/servicenow`` package.

Every error an app can meet is a subclass of ``ApiError``. ``to_dict()`` gives what the bridge puts on the
bus (``{name, message, status?, detail?, data?}``) and ``reason`` the one-line ``"<Name>: <message>"`` form
that survives a runtime relaying only a rejection reason. No error ever carries a token or an authorization
code: whatever an instance's answer put in message, detail or data is masked like a log line.
"""

from __future__ import annotations

from typing import Any, ClassVar

from adapter.logging import redact


class ApiError(Exception):
    """Base of every ServiceNow-side error; ``name`` is the class name, as in the official package."""

    default_message: ClassVar[str] = "An unexpected error has occurred"

    def __init__(
        self, message: str | None = None, *, status: int | None = None, detail: Any = None, data: Any = None
    ) -> None:
        # Message, detail and data may quote what an instance or a gateway answered, and some echo the
        # request's Authorization header: every token the process holds is masked before an app sees it.
        self.message = redact(message or self.default_message)
        self.status = status
        self.detail = redact(detail)
        # The whole JSON error body, as the official package's error.data (detail is its error.detail).
        self.data = redact(data)
        super().__init__(self.message)

    @property
    def name(self) -> str:
        """The error's name as apps see it (the class name)."""
        return type(self).__name__

    @property
    def reason(self) -> str:
        """``"<Name>: <message>"``, enough on its own to tell what failed."""
        return f"{self.name}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """``{name, message}`` plus ``status``, ``detail`` and ``data`` when known."""
        out: dict[str, Any] = {"name": self.name, "message": self.message}
        if self.status is not None:
            out["status"] = self.status
        if self.detail is not None:
            out["detail"] = self.detail
        if self.data is not None:
            out["data"] = self.data
        return out


class ApiRequestError(ApiError):
    """A request failed: a non-2xx answer (``status``, the instance's ``error.message``/``detail``) or I/O."""

    default_message = "An error occurred when executing the API request"


class AuthorizationError(ApiError):
    """The user's consent could not be obtained, or the code could not be exchanged for tokens."""

    default_message = "An authorization error occurred"


class AuthTokenExpiredError(ApiError):
    """The access token expired and the refresh token was refused: a new login is needed."""

    default_message = "The API request failed as the authorization tokens have expired"


class ParameterError(ApiError):
    """An argument was refused before any I/O (bad instance URL, client id, endpoint, method or header)."""

    default_message = "Invalid parameter detected"


class NotConnectedError(ApiError):
    """There is no usable connection: never made, released, or closed."""

    default_message = "Not connected to ServiceNow"
