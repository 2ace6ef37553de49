"""The adapter on a corporate network: an https instance, a forward proxy as the only way out, and a proxy
that inspects TLS with a CA the company put in the operating system's trust store.

Every part is a real process: the ServiceNow emulator over TLS (``--tls``, its CA made at start), proxy.py
from PyPI (``tests/support/forward_proxy.py``), the adapter, and official node-adapter apps. The instance is
named ``servicenow.example.test``, a name only the proxy resolves (to the emulator on loopback), so the
adapter reaches it through the proxy or not at all; the proxy notes every host it is asked for.

The "operating system's store" on Linux is OpenSSL's default CA file, which ``SSL_CERT_FILE`` replaces:
setting it for the adapter process is how these tests put a CA into the OS store without root or touching
the machine (on Windows and macOS ``truststore`` asks the OS itself, which a test cannot stage as simply).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.conformance.adapter.conftest import AppError
from tests.reliability.desktop import CASES, Desktop, desktop
from tests.support.forward_proxy import Interception, RunningProxy, forward_proxy

INSTANCE_HOST = "servicenow.example.test"
CREDENTIALS = "alice:s3cret"
READ = f"{CASES}?sysparm_limit=1"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corporate-network")


@pytest.fixture(scope="module")
def instance_ca(folder: Path) -> Path:
    """Where the emulator writes its CA (``--tls-ca-out``)."""
    return folder / "instance-ca.pem"


def tls_instance(instance_ca: Path) -> list[str]:
    return ["--tls", "--tls-ca-out", str(instance_ca), "--tls-name", INSTANCE_HOST]


@pytest.fixture(scope="module")
def interception(folder: Path, instance_ca: Path) -> Interception:
    """The inspecting proxy's CA and signing key (RSA: proxy.py signs with the openssl command)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Corp TLS inspection CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    plain = serialization.NoEncryption()
    (folder / "inspection-ca.pem").write_bytes(cert.public_bytes(pem))
    (folder / "inspection-ca-key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL, plain)
    )
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "inspection-signing-key.pem").write_bytes(
        signing.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL, plain)
    )
    return Interception(
        ca_cert=folder / "inspection-ca.pem",
        ca_key=folder / "inspection-ca-key.pem",
        signing_key=folder / "inspection-signing-key.pem",
        upstream_ca=instance_ca,
    )


def signs_in_and_reads(stack: Desktop, uuid: str) -> None:
    app = stack.app(uuid)
    app.connect()
    answer = app.request(READ)
    assert answer["status"] == 200
    assert len(answer["data"]) == 1


def only_the_instance_was_asked_for(proxy: RunningProxy) -> None:
    seen = proxy.seen()
    assert seen, "the proxy saw no request"
    assert {line.split(" ")[0] for line in seen} == {"CONNECT"}
    assert {line.split(" ")[1].rsplit(":", 1)[0] for line in seen} == {INSTANCE_HOST}


@pytest.fixture
def proxy(folder: Path) -> Iterator[RunningProxy]:
    with forward_proxy(folder, credentials=CREDENTIALS) as running:
        running.seen_file.unlink(missing_ok=True)
        yield running


# ----- trust ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_https_instance_whose_ca_is_given_as_an_extra_bundle(instance_ca: Path) -> None:
    with desktop(
        "--ca-bundle",
        str(instance_ca),
        instance_args=tls_instance(instance_ca),
        hooks_ca=instance_ca,
    ) as stack:
        assert stack.instance.startswith("https://127.0.0.1:")
        signs_in_and_reads(stack, "tls-crm")
        assert stack.stats().get("POST /oauth_token.do") == 1


@pytest.mark.slow
def test_an_untrusted_instance_certificate_is_a_named_error(instance_ca: Path) -> None:
    with desktop(instance_args=tls_instance(instance_ca), hooks_ca=instance_ca) as stack:
        app = stack.app("untrusting-crm")
        with pytest.raises(AppError) as refused:
            app.connect()
        assert refused.value.name == "AuthorizationError"
        assert "the instance's TLS certificate is not trusted" in refused.value.reason
        assert "--ca-bundle" in refused.value.reason
        assert stack.stats().get("POST /oauth_token.do") is None  # nothing was sent to the instance
        assert stack.adapter_alive()


# ----- proxies --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("given_as", ["--proxy", "HTTPS_PROXY"])
def test_sign_in_and_requests_go_through_the_proxy_over_connect(
    instance_ca: Path, proxy: RunningProxy, given_as: str
) -> None:
    flags = ["--ca-bundle", str(instance_ca)]
    env: dict[str, str] = {}
    if given_as == "--proxy":
        flags += ["--proxy", proxy.url]
        env["HTTPS_PROXY"] = "http://127.0.0.1:9"  # the flag wins over the environment
    else:
        env["HTTPS_PROXY"] = proxy.url
    with desktop(
        *flags,
        instance_args=tls_instance(instance_ca),
        instance_host=INSTANCE_HOST,
        adapter_env=env,
        hooks_ca=instance_ca,
    ) as stack:
        signs_in_and_reads(stack, "proxied-crm")
        only_the_instance_was_asked_for(proxy)
        assert CREDENTIALS.split(":")[1] not in stack.adapter.stderr


@pytest.mark.slow
def test_refused_proxy_credentials_are_a_named_error(instance_ca: Path, proxy: RunningProxy) -> None:
    wrong = proxy.url.replace(CREDENTIALS, "alice:wrong")
    with desktop(
        "--ca-bundle",
        str(instance_ca),
        "--proxy",
        wrong,
        instance_args=tls_instance(instance_ca),
        instance_host=INSTANCE_HOST,
        hooks_ca=instance_ca,
    ) as stack:
        app = stack.app("wrong-proxy-crm")
        with pytest.raises(AppError) as refused:
            app.connect()
        assert refused.value.name == "AuthorizationError"
        assert "refused the tunnel" in refused.value.reason
        assert "407" in refused.value.reason
        assert stack.stats().get("GET /oauth_auth.do") is None
        assert stack.adapter_alive()


@pytest.mark.slow
def test_a_tls_inspecting_proxy_whose_ca_is_in_the_os_store(
    folder: Path, instance_ca: Path, interception: Interception
) -> None:
    with (
        forward_proxy(folder, credentials=CREDENTIALS, intercept=interception) as inspecting,
        desktop(
            "--proxy",
            inspecting.url,
            instance_args=tls_instance(instance_ca),
            instance_host=INSTANCE_HOST,
            # The inspection CA alone: the instance's own CA is trusted nowhere in the adapter, so a
            # success means every answer came through the inspecting proxy, trusted through the OS store.
            adapter_env={"SSL_CERT_FILE": str(interception.ca_cert)},
            hooks_ca=instance_ca,
        ) as stack,
    ):
        signs_in_and_reads(stack, "inspected-crm")
        only_the_instance_was_asked_for(inspecting)


@pytest.mark.slow
def test_behind_the_inspecting_proxy_without_its_ca_nothing_is_sent(
    folder: Path, instance_ca: Path, interception: Interception
) -> None:
    """The positive control of the test above: the same path, the inspection CA not trusted."""
    with (
        forward_proxy(folder, credentials=CREDENTIALS, intercept=interception) as inspecting,
        desktop(
            "--proxy",
            inspecting.url,
            "--ca-bundle",
            str(instance_ca),
            instance_args=tls_instance(instance_ca),
            instance_host=INSTANCE_HOST,
            hooks_ca=instance_ca,
        ) as stack,
    ):
        app = stack.app("uninspected-crm")
        with pytest.raises(AppError) as refused:
            app.connect()
        assert "the instance's TLS certificate is not trusted" in refused.value.reason
        assert stack.stats().get("POST /oauth_token.do") is None
