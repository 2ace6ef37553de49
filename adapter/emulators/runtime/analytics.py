"""Fire-and-forget actions node-adapter sends for the runtime's usage analytics.

node-adapter sends each of these with an empty payload and ignores the reply (docs/emulators/runtime.md); the
emulator acks them so that they stay invisible. The names were read from the ``sendAction('…').catch(…)``
call sites of @openfin/node-adapter 42.103.2.
"""

from __future__ import annotations

ANALYTICS_ACTIONS = frozenset(
    {
        "application-create",
        "application-create-from-manifest",
        "application-start-from-manifest",
        "create-window",
        "external-application-wrap",
        "external-application-wrap-sync",
        "frame-get-current",
        "frame-get-current-sync",
        "frame-wrap",
        "frame-wrap-sync",
        "get-current-application",
        "get-current-application-sync",
        "get-current-window",
        "get-current-window-sync",
        "interop-connect-sync",
        "interop-init",
        "layout-add-view",
        "layout-apply-preset",
        "layout-close-view",
        "layout-get-by-view-identity",
        "layout-get-config",
        "layout-get-current",
        "layout-get-current-sync",
        "layout-get-root-item",
        "layout-get-stack-by-view",
        "layout-get-views",
        "layout-init",
        "layout-replace",
        "layout-replace-view",
        "layout-wrap",
        "layout-wrap-sync",
        "platform-get-current",
        "platform-get-current-sync",
        "platform-start",
        "platform-start-from-manifest",
        "platform-wrap",
        "platform-wrap-sync",
        "snapshot-source-apply-snapshot",
        "snapshot-source-get-snapshot",
        "snapshot-source-init",
        "snapshot-source-ready",
        "snapshot-source-wrap",
        "snapshot-source-wrap-sync",
        "start-application",
        "system-register-shutdown-handler",
        "view-get-current",
        "view-get-current-stack",
        "view-get-current-sync",
        "view-get-parent-layout",
        "view-wrap",
        "view-wrap-sync",
        "window-create-window",
        "window-dispatch-popup-result",
        "window-get-layout",
        "window-get-parent-application",
        "window-get-parent-window",
        "window-get-web-window",
        "window-is-main-window",
        "window-wrap",
        "window-wrap-sync",
        "wrap-application",
        "wrap-application-sync",
    }
)

# Families of analytics actions, one name per public method; new methods appear with each release.
ANALYTICS_PREFIXES = ("interop-client-", "interop-broker-", "interop-session-context-group-", "fdc3-")


def is_analytics(action: str) -> bool:
    """True for an action whose reply node-adapter ignores."""
    return action in ANALYTICS_ACTIONS or action.startswith(ANALYTICS_PREFIXES)
