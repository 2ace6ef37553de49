"""The ``servicenow-adapter`` command line (see shared/DESIGN.md for the contract other scripts rely on)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path

from adapter import __version__
from adapter.lifecycle import run_until_signalled
from adapter.logging import configure_logging


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-level", default="info", help="debug, info, warning or error (default: info)")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines instead of console text")


def _asset(text: str) -> tuple[str, str]:
    alias, sep, command = text.partition("=")
    if not sep or not alias or not command:
        raise argparse.ArgumentTypeError(f"expected ALIAS=COMMAND, got {text!r}")
    return alias, command


def build_parser() -> argparse.ArgumentParser:
    """The full parser; exposed so that tests and docs can inspect the contract."""
    parser = argparse.ArgumentParser(
        prog="servicenow-adapter",
        description="One shared ServiceNow connection for every app on an OpenFin desktop.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    emulate = commands.add_parser("emulate", help="run a local emulator of ServiceNow or the OpenFin runtime")
    emulators = emulate.add_subparsers(dest="emulator", required=True, metavar="EMULATOR")

    servicenow = emulators.add_parser("servicenow", help="a ServiceNow instance on SQLite")
    _common(servicenow)
    servicenow.add_argument("--host", default="127.0.0.1")
    servicenow.add_argument("--port", type=int, default=8180, help="0 picks a free port")
    servicenow.add_argument("--db", type=Path, default=None, help="SQLite file (default: in memory)")
    servicenow.add_argument(
        "--auto-login", metavar="USER", default=None, help="approve /oauth_auth.do at once as USER"
    )

    runtime = emulators.add_parser("runtime", help="an OpenFin runtime websocket bus")
    _common(runtime)
    runtime.add_argument("--host", default="127.0.0.1")
    runtime.add_argument("--port", type=int, default=9696, help="0 picks a free port")
    runtime.add_argument(
        "--broker", metavar="PLATFORM_UUID", default=None, help="start the built-in interop broker"
    )
    runtime.add_argument(
        "--asset",
        metavar="ALIAS=COMMAND",
        type=_asset,
        action="append",
        default=[],
        help="map an appAsset alias to a local command for launch-external-process (repeatable)",
    )
    return parser


def _emulate(args: argparse.Namespace) -> int:
    if args.emulator == "servicenow":
        from adapter.emulators.servicenow import server as servicenow_server

        async def serve_servicenow(stop: asyncio.Event) -> int:
            return await servicenow_server.serve(
                stop, host=args.host, port=args.port, db=args.db, auto_login=args.auto_login
            )

        return run_until_signalled(serve_servicenow)

    from adapter.emulators.runtime import server as runtime_server

    async def serve_runtime(stop: asyncio.Event) -> int:
        return await runtime_server.serve(
            stop, host=args.host, port=args.port, broker=args.broker, assets=dict(args.asset)
        )

    return run_until_signalled(serve_runtime)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``servicenow-adapter`` and ``python -m adapter``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level, json=args.log_json)
    if args.command == "emulate":
        return _emulate(args)
    parser.error(f"unknown command {args.command!r}")
    return 2
