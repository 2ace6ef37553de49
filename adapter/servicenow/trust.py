"""Which certificate authorities the adapter trusts for its instance and OAuth calls: one context for all.

As a browser on the same desktop: the operating system's store (``truststore``: Windows' and macOS' own
verification, the distribution's bundle on Linux, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured there), which
is where companies install the CA of their TLS-inspecting proxy. An extra PEM bundle (``--ca-bundle``) is
trusted besides it. certifi's bundle stands in only where no OS store is found (a bare container).
"""

from __future__ import annotations

import functools
import os
import ssl
import sys
from pathlib import Path

import certifi
import structlog
import truststore

log = structlog.get_logger(__name__)

# Where Linux distributions keep their bundle when OpenSSL's compiled-in default is empty (truststore's list).
_LINUX_BUNDLES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)


class TrustSettingError(ValueError):
    """The extra CA bundle cannot be used; the message says why."""


def os_store_found() -> bool:
    """Whether the platform has a store to verify against (always on Windows and macOS)."""
    if sys.platform in ("win32", "darwin"):
        return True
    defaults = ssl.get_default_verify_paths()
    if defaults.cafile:
        return True
    if defaults.capath and os.path.isdir(defaults.capath) and any(os.scandir(defaults.capath)):
        return True
    return any(os.path.isfile(path) for path in _LINUX_BUNDLES)


def ssl_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """A verifying client context: the OS store, plus ``ca_bundle`` when given, else certifi's bundle."""
    return _ssl_context(str(ca_bundle) if ca_bundle is not None else None, os_store_found())


# Building a context costs tens of milliseconds: once per (bundle, store) for the process.
@functools.cache
def _ssl_context(ca_bundle: str | None, os_store: bool) -> ssl.SSLContext:
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not os_store:
        log.warning("trust.no_os_store", fallback="certifi")
        context.load_verify_locations(cafile=certifi.where())
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as error:
            raise TrustSettingError(f"cannot read the CA bundle {ca_bundle}: {error}") from None
    return context
