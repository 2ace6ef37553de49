"""An app asset for the launch tests: reports its arguments, then stays alive or exits with a code.

Usage: ``asset_child.py HOST:PORT [--exit CODE]``. It connects to HOST:PORT, sends its arguments as one JSON
line, and then either exits with CODE or blocks reading until the connection closes, so that the test sees
the socket close exactly when this process ends (a portable way to observe a child's death).
"""

from __future__ import annotations

import json
import socket
import sys


def main(argv: list[str]) -> int:
    """Report ``argv`` to the test, then exit with ``--exit CODE`` or live until killed."""
    host, _, port = argv[0].rpartition(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall((json.dumps(argv) + "\n").encode())
        if "--exit" in argv:
            return int(argv[argv.index("--exit") + 1])
        connection.settimeout(None)
        while connection.recv(1024):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
