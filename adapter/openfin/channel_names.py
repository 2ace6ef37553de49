"""Channel names the OpenFin runtime protocol fixes, shared by our client and the runtime emulator.

Defined here, in the protocol room, so the emulator uses the client's name instead of a copy of its own: the
dependency runs from the emulator (a test tool) to the client (the product), never back. A wrong name cannot
hide behind the shared definition: the conformance tests connect the official node-adapter to the emulator's
broker and our client to node-adapter's stock ``InteropBroker``.
"""

from __future__ import annotations


def broker_channel_name(platform_uuid: str) -> str:
    """The channel a platform's interop broker serves: ``interop-broker-<platform uuid>``."""
    return f"interop-broker-{platform_uuid}"
