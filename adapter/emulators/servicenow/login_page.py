"""HTML of the instance's pages: the login + consent form of ``/oauth_auth.do``, its error page, the redirect
landing page and the page a hibernating instance shows.

Every value placed in a page is HTML-escaped; the form posts back to ``/oauth_auth.do`` with the authorize
request's parameters in hidden fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

_STYLE = (
    "body{font-family:Arial,sans-serif;background:#f3f4f5;margin:0}"
    "main{max-width:380px;margin:60px auto;background:#fff;padding:24px 28px;border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.2)}"
    "label{display:block;margin:12px 0 4px}input[type=text],input[type=password]{width:100%;padding:6px}"
    ".buttons{margin-top:18px;display:flex;gap:12px}.error{color:#c83c36}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def consent_form(
    *, client_name: str, params: Mapping[str, str], error: str | None = None, user_name: str = ""
) -> str:
    """The login and consent form: user name, password, and the Allow / Deny buttons."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(key)}" value="{escape(value)}">' for key, value in params.items()
    )
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        "<h1>ServiceNow</h1>"
        f"<p><strong>{escape(client_name)}</strong> would like to connect to your account.</p>"
        f"{message}"
        '<form method="post" action="/oauth_auth.do" id="oauth_consent">'
        f"{hidden}"
        '<label for="user_name">User name</label>'
        f'<input type="text" id="user_name" name="user_name" value="{escape(user_name)}"'
        ' autocomplete="username">'
        '<label for="user_password">Password</label>'
        '<input type="password" id="user_password" name="user_password" autocomplete="current-password">'
        '<div class="buttons">'
        '<button type="submit" name="action" value="allow" id="allow">Allow</button>'
        '<button type="submit" name="action" value="deny" id="deny">Deny</button>'
        "</div></form>"
    )
    return _page("Log in | ServiceNow", body)


def error_page(message: str) -> str:
    """The page the instance shows when the authorize request itself is unusable."""
    return _page(
        "OAuth error | ServiceNow", f'<h1>OAuth error</h1><p class="error" role="alert">{escape(message)}</p>'
    )


def redirect_landing_page() -> str:
    """What ``/oauth_redirect.do`` shows; clients read only its URL."""
    return _page(
        "Authorization complete | ServiceNow",
        "<h1>Authorization complete</h1><p>You can close this window.</p>",
    )


def hibernating_page() -> str:
    """The HTML a hibernating developer instance answers with instead of JSON."""
    return _page(
        "Instance Hibernating page",
        "<h1>Your instance is hibernating</h1><p>Log in to the developer portal to wake it up.</p>",
    )


def bad_gateway_page() -> str:
    """The load balancer's page when no application node answers."""
    return _page("502 Bad Gateway", "<h1>502 Bad Gateway</h1><p>The server returned an invalid response.</p>")
