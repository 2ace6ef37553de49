"""The one TLS context: the OS store (truststore), an extra bundle besides it, certifi without a store."""

from __future__ import annotations

import asyncio
import ssl
import sys
from pathlib import Path

import certifi
import pytest
import truststore

from adapter.emulators.servicenow.tls import TlsFiles, make_certificates
from adapter.servicenow import trust
from adapter.settings import SettingsError, load_settings


def test_the_context_verifies_through_the_os_store() -> None:
    context = trust.ssl_context()
    assert isinstance(context, truststore.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


@pytest.fixture
def tls_server(tmp_path: Path) -> TlsFiles:
    return make_certificates(tmp_path / "server", tmp_path / "test-ca.pem")


async def handshake(files: TlsFiles, client: ssl.SSLContext) -> bool:
    """Whether ``client`` accepts a loopback server presenting ``files``' certificate."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(files.cert, files.key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname="localhost")
    except ssl.SSLCertVerificationError:
        return False
    finally:
        server.close()
    writer.close()
    return True


async def test_an_extra_bundle_is_trusted_besides_the_store(tls_server: TlsFiles) -> None:
    assert tls_server.ca is not None
    assert not await handshake(tls_server, trust.ssl_context())
    assert await handshake(tls_server, trust.ssl_context(tls_server.ca))


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the OS itself verifies there")
async def test_without_an_os_store_certifi_stands_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tls_server: TlsFiles
) -> None:
    # certifi's bundle is replaced by the test CA, so that the fallback shows in a handshake.
    monkeypatch.setattr(certifi, "where", lambda: str(tls_server.ca))
    assert trust.os_store_found()
    assert not await handshake(tls_server, trust.ssl_context())  # with a store, certifi is not used
    empty = ssl.DefaultVerifyPaths(None, None, "SSL_CERT_FILE", "", "SSL_CERT_DIR", "")  # type: ignore[arg-type]
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: empty)
    monkeypatch.setattr(trust, "_LINUX_BUNDLES", (str(tmp_path / "none.pem"),))
    assert not trust.os_store_found()
    try:
        assert await handshake(tls_server, trust.ssl_context())
    finally:
        trust._ssl_context.cache_clear()


def test_a_bundle_that_is_no_pem_is_a_setting_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate", encoding="ascii")
    with pytest.raises(SettingsError, match=r"ca_bundle \(--ca-bundle / SERVICENOW_ADAPTER_CA_BUNDLE\)"):
        load_settings({"ca_bundle": junk})
    with pytest.raises(SettingsError, match="no such file"):
        load_settings({"ca_bundle": tmp_path / "missing.pem"})
