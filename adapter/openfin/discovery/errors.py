"""Every error port discovery can raise; each says which step failed, so the caller can fall back."""

from __future__ import annotations

from adapter.openfin.errors import OpenFinError, ProtocolError


class PortDiscoveryError(OpenFinError):
    """Port discovery did not produce a runtime port."""


class RvmNotFoundError(PortDiscoveryError):
    """No OpenFin RVM where one was looked for (or this platform has none)."""


class RvmLaunchError(PortDiscoveryError):
    """The RVM could not be started, or it exited with a failure before any runtime answered."""


class DiscoveryFrameError(PortDiscoveryError, ProtocolError):
    """A peer on the discovery pipe sent bytes that are not the expected Chromium-IPC frames."""


class RuntimeMismatchError(PortDiscoveryError):
    """The runtime that answered runs another version or security realm than the one asked for."""

    def __init__(
        self,
        *,
        wanted_version: str,
        wanted_realm: str | None,
        got_version: str | None,
        got_realm: str | None,
    ) -> None:
        super().__init__(
            f"runtime answered for version {got_version!r} realm {got_realm!r}, "
            f"wanted version {wanted_version!r} realm {wanted_realm!r}"
        )
        self.wanted_version = wanted_version
        self.wanted_realm = wanted_realm
        self.got_version = got_version
        self.got_realm = got_realm


class DiscoveryTimeoutError(PortDiscoveryError, TimeoutError):
    """No runtime reported its port in time."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"no runtime reported its port within {timeout:g} s")
        self.timeout = timeout
