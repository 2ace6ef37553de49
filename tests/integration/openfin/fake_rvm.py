"""TEST DOUBLE of the OpenFin RVM plus the runtime it would start, for port discovery tests (POSIX only).

Started exactly as the adapter starts the real RVM:
``fake_rvm.py --no-ui --config=<manifest> --runtime-arguments=--runtime-information-channel-v6=<socket>``.
It reads the manifest, connects to the unix socket named by the channel, sends a Chromium-IPC hello, checks
that the adapter echoes it byte for byte, then sends the ``runtime-information`` string frame (in two
writes, as a stream may deliver it) and exits 0.

The frames are built here with ``struct`` from their layout in docs/deployment.md section 7, not with the
adapter's codec, so that a layout mistake on either side shows up.

Environment:
- ``FAKE_RVM_RUNTIME_PORT``: the port to report (a real ``servicenow-adapter emulate runtime``).
- ``FAKE_RVM_MODE``: ``answer`` (default); ``silent`` (never connects, sleeps until killed, at most 60 s);
  ``fail`` (exits 3 at once, as an RVM that cannot launch a runtime).
- ``FAKE_RVM_REPORTED_VERSION``: report this ``requestedVersion`` instead of the manifest's runtime version.
- ``FAKE_RVM_RECORD``: write what it was given (argv, manifest) and its pid to this JSON file.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time

CHANNEL_PREFIX = "--runtime-arguments=--runtime-information-channel-v6="
POSIX_HEADER = "<5i2h"  # payload_size, routing_id, message_type, flags, attachment_count, num_fds, pad
HELLO_TYPE = 0xFFFF
MSG_ROUTING_NONE = -2


def frame(message_type: int, payload: bytes, routing_id: int = 0) -> bytes:
    return struct.pack(POSIX_HEADER, len(payload), routing_id, message_type, 0, 0, 0, 0) + payload


def pickle_string(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<i", len(data)) + data + b"\0" * (-len(data) % 4)


def receive_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def main(argv: list[str]) -> int:
    config = next(arg.removeprefix("--config=") for arg in argv if arg.startswith("--config="))
    channel = next(arg.removeprefix(CHANNEL_PREFIX) for arg in argv if arg.startswith(CHANNEL_PREFIX))
    with open(config, encoding="utf-8") as file:
        manifest = json.load(file)
    record = os.environ.get("FAKE_RVM_RECORD")
    if record:
        with open(record, "w", encoding="utf-8") as file:
            json.dump({"argv": argv, "manifest": manifest, "pid": os.getpid()}, file)

    mode = os.environ.get("FAKE_RVM_MODE", "answer")
    if mode == "fail":
        return 3
    if mode == "silent":
        time.sleep(60)  # the subject: an RVM that never answers (killed by the test long before)
        return 0

    runtime = manifest["runtime"]
    realm_args = [a for a in runtime.get("arguments", "").split() if a.startswith("--security-realm=")]
    payload: dict[str, object] = {
        "version": "42.103.2.1",
        "sslPort": -1,
        "port": int(os.environ["FAKE_RVM_RUNTIME_PORT"]),
        "options": {"runtime-information-channel-v6": channel, "version-keyword": runtime["version"]},
        "requestedVersion": os.environ.get("FAKE_RVM_REPORTED_VERSION", runtime["version"]),
        "runtimeInformationChannel": channel,
        "multiRuntime": False,
    }
    if realm_args:
        payload["securityRealm"] = realm_args[0].removeprefix("--security-realm=")

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        conn.connect(channel)
        hello = frame(HELLO_TYPE, struct.pack("<i", os.getpid()), routing_id=MSG_ROUTING_NONE)
        conn.sendall(hello)
        echo = receive_exactly(conn, len(hello))
        if echo != hello:
            sys.stderr.write(f"fake RVM: hello not echoed: {echo!r}\n")
            return 4
        message = json.dumps({"action": "runtime-information", "payload": payload})
        info = frame(0, pickle_string(message))
        conn.sendall(info[:10])
        time.sleep(0.05)  # the subject: the frame arrives in two reads, as a pipe may deliver it
        conn.sendall(info[10:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
