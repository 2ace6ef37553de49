"""The runtime's side of the two handshakes: file tokens and tokens from ``register-external-connection``.

docs/emulators/runtime.md, "Handshakes". For the file-token handshake the runtime names a file and a token;
the client writes the token into the file; the runtime then checks that the file contains the token and
deletes it. The files live in a private directory of this emulator (``mkdtemp`` makes it readable by the
current user only).
"""

from __future__ import annotations

import hmac
import shutil
import tempfile
import uuid as uuidlib
from pathlib import Path

import structlog

from adapter.logging import forget_secret, register_secret

log = structlog.get_logger(__name__)

INVALID_TOKEN = "Invalid token or file"  # noqa: S105 (a refusal message, not a secret)
NOT_AUTHENTICATED = "This connection must be authenticated first"


def duplicate_uuid(uuid: str) -> str:
    """The refusal for a uuid already used by a connection or a running application."""
    return f"Application with specified UUID already exists: {uuid}"


def invalid_uuid(uuid: str) -> str:
    """The refusal for a file-token ``request-authorization`` with no pending request for that uuid."""
    return f"Invalid UUID: {uuid}"


class TokenFiles:
    """Issues file tokens in a private directory and checks them once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def in_private_temp_dir(cls) -> TokenFiles:
        """A fresh directory under the system temp dir, owned by and visible to this user only."""
        return cls(Path(tempfile.mkdtemp(prefix="openfin-runtime-emulator-")))

    def issue(self) -> tuple[Path, str]:
        """A new (file, token) pair; the file does not exist until the client writes it."""
        token = str(uuidlib.uuid4())
        register_secret(token)
        return self.directory / f"auth-{uuidlib.uuid4()}", token

    def verify(self, file: Path, token: str) -> bool:
        """True when ``file`` contains ``token``; the file is deleted either way."""
        try:
            content = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            content = ""
        finally:
            self.discard(file, token)
        return token in content

    @staticmethod
    def discard(file: Path, token: str) -> None:
        """Delete an unused token file and forget its token."""
        forget_secret(token)
        try:
            file.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("auth.token_file.undeletable", file=str(file), error=str(exc))

    def remove(self) -> None:
        """Delete the directory and anything left in it (at shutdown)."""
        shutil.rmtree(self.directory, ignore_errors=True)


class RegisteredTokens:
    """Tokens handed out by ``register-external-connection``, by uuid.

    Like CORE, a registered token stays valid after use (only file tokens are one-shot), so a sponsored
    process can reconnect with the token it was launched with.
    """

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}

    def register(self, uuid: str) -> str:
        """A new token for ``uuid`` (replacing an older one)."""
        token = str(uuidlib.uuid4())
        old = self._tokens.get(uuid)
        if old is not None:
            forget_secret(old)
        register_secret(token)
        self._tokens[uuid] = token
        return token

    def check(self, uuid: str, token: str) -> bool:
        """True when ``token`` is the one registered for ``uuid``."""
        expected = self._tokens.get(uuid)
        return expected is not None and hmac.compare_digest(expected, token)
