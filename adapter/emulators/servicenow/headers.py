"""Headers every instance response carries (``Server``, ``X-Transaction-ID``, no-cache directives)."""

from __future__ import annotations

import random

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_CACHE_HEADERS = (
    (b"pragma", b"no-store,no-cache"),
    (b"cache-control", b"no-cache,no-store,must-revalidate,max-age=-1"),
    (b"expires", b"0"),
)
_NO_CACHE_NAMES = frozenset(name for name, _ in NO_CACHE_HEADERS)


class InstanceHeadersMiddleware:
    """Adds the instance's headers: ``Server`` always (replacing the ASGI server's), a fresh
    ``X-Transaction-ID``, and the no-cache directives unless the response set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # A transaction id only tells transactions apart in logs; it guards nothing, so a generator seeded
        # once from the OS does, without a system call per response.
        self._ids = random.Random()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        transaction = b"%012x" % self._ids.getrandbits(48)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = []
                present = set()
                for name, value in message.get("headers", []):
                    lowered = name.lower()
                    if lowered != b"server":
                        headers.append((name, value))
                        if lowered in _NO_CACHE_NAMES:
                            present.add(lowered)
                headers.append((b"server", b"ServiceNow"))
                headers.extend((k, v) for k, v in NO_CACHE_HEADERS if k not in present)
                headers.append((b"x-transaction-id", transaction))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
