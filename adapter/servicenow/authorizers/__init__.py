"""How the user consents: ``openfin-window``, ``browser`` or ``http``, behind one ``Authorizer`` interface."""

from adapter.servicenow.authorizers.base import AuthorizationAttempt, Authorizer
from adapter.servicenow.authorizers.browser import BrowserAuthorizer
from adapter.servicenow.authorizers.plain_http import HttpAuthorizer
from adapter.servicenow.authorizers.window import AuthWindow, AuthWindowHost, WindowAuthorizer, WindowEvent

__all__ = [
    "AuthWindow",
    "AuthWindowHost",
    "AuthorizationAttempt",
    "Authorizer",
    "BrowserAuthorizer",
    "HttpAuthorizer",
    "WindowAuthorizer",
    "WindowEvent",
]
