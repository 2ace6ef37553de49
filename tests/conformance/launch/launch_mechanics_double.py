"""Test double of the launch mechanics (NOT of the adapter): stands in for the app asset's executable.

Usage, as the emulator's ``--asset`` command: ``launch_mechanics_double.py HOST:PORT [--exit-code N] ARGS``.
It connects to HOST:PORT and sends the arguments it was launched with (``ARGS``, everything after its own
options) as one JSON line. With ``--exit-code N`` it then exits with N; without, it creates no channel and
lives until it is ended, so that the test sees its socket close exactly when the process ends.
"""

from __future__ import annotations

import json
import socket
import sys


def main(argv: list[str]) -> int:
    """Report the launch arguments, then exit with the given code or live until ended."""
    host, _, port = argv[0].rpartition(":")
    rest = argv[1:]
    exit_code = None
    if rest[:1] == ["--exit-code"]:
        exit_code, rest = int(rest[1]), rest[2:]
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall((json.dumps(rest) + "\n").encode())
        if exit_code is not None:
            return exit_code
        connection.settimeout(None)
        while connection.recv(1024):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
