"""The adapter's ServiceNow side, with no knowledge of OpenFin.

OAuth 2.0 authorization code + PKCE, refresh and revocation on authlib; authorizers (how the user consents);
request execution with the semantics of the official ``@openfin/servicenow`` package; typed errors; a
``ConnectionManager`` that shares one ``Connection`` per (instance origin, client id) across every app; a
change watcher that polls a table for records other people changed.
"""
