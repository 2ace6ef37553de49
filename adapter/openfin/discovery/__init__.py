"""Port discovery: find a running OpenFin runtime's port through the RVM, as the official adapters do.

``protocol`` is pure (manifest, Chromium-IPC frames, the listener's state machine, which answer to accept);
``pipe`` (the named pipe or unix socket), ``rvm`` (finding and starting the RVM) and ``discover`` (one
discovery with its timeout and clean-up) do the I/O. Facts: docs/deployment.md section 7.
"""

from adapter.openfin.discovery.discover import DEFAULT_TIMEOUT, discover_runtime
from adapter.openfin.discovery.errors import (
    DiscoveryFrameError,
    DiscoveryTimeoutError,
    PortDiscoveryError,
    RuntimeMismatchError,
    RvmLaunchError,
    RvmNotFoundError,
)
from adapter.openfin.discovery.protocol import DiscoveryRequest, RuntimeInformation
from adapter.openfin.discovery.rvm import find_rvm

__all__ = [
    "DEFAULT_TIMEOUT",
    "DiscoveryFrameError",
    "DiscoveryRequest",
    "DiscoveryTimeoutError",
    "PortDiscoveryError",
    "RuntimeInformation",
    "RuntimeMismatchError",
    "RvmLaunchError",
    "RvmNotFoundError",
    "discover_runtime",
    "find_rvm",
]
