"""The ``servicenow-adapter`` command line (see shared/DESIGN.md for the contract other scripts rely on)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from adapter import __version__
from adapter.lifecycle import run_until_signalled
from adapter.logging import configure_logging
from adapter.settings import SettingsError, load_settings

_COMMANDS = ("run", "emulate", "demo")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-level", default="info", help="debug, info, warning or error (default: info)")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines instead of console text")


def _asset(text: str) -> tuple[str, str]:
    alias, sep, command = text.partition("=")
    if not sep or not alias or not command:
        raise argparse.ArgumentTypeError(f"expected ALIAS=COMMAND, got {text!r}")
    return alias, command


def _run_flags(run: argparse.ArgumentParser) -> None:
    # Every default is None so that the environment and the config file can still supply the value.
    run.add_argument("--runtime-address", metavar="WS_URL", help="the runtime, e.g. ws://127.0.0.1:9696")
    run.add_argument(
        "--runtime-version", metavar="VERSION", help="the platform's runtime version (enables port discovery)"
    )
    run.add_argument("--security-realm", metavar="REALM", help="the platform's security realm, if any")
    run.add_argument("--rvm-path", type=Path, metavar="PATH", help="the OpenFin RVM used for port discovery")
    run.add_argument("--uuid", help="our identity on the runtime (default: servicenow-adapter)")
    run.add_argument("--token", help="one-off token from registerExternalConnection")
    run.add_argument("--broker", metavar="PLATFORM_UUID", help="join this platform's interop broker")
    run.add_argument("--channel", help="the channel apps connect to (default: servicenow)")
    run.add_argument("--authorizer", choices=["openfin-window", "browser", "http"], help="how users consent")
    run.add_argument(
        "--browser-port", type=int, metavar="PORT", help="loopback redirect port of --authorizer browser"
    )
    run.add_argument(
        "--token-endpoint", choices=["standard", "scripted"], help="OAuth endpoints (default: standard)"
    )
    run.add_argument("--instance-url", help="instance used when an app names none")
    run.add_argument("--client-id", help="OAuth client id used when an app names none")
    run.add_argument(
        "--allow-app", metavar="UUID", action="append", help="app allowed on the channel (repeatable)"
    )
    run.add_argument("--poll-interval", type=float, metavar="SECONDS", help="change polling (default: 15)")
    run.add_argument(
        "--watch-table", metavar="TABLE", action="append", help="table to broadcast (repeatable)"
    )
    run.add_argument(
        "--context-group", metavar="ID", help="also broadcast case contexts on this user channel"
    )
    run.add_argument(
        "--keyring", action="store_const", const=True, help="keep refresh tokens in the OS keyring"
    )
    run.add_argument("--request-timeout", type=float, metavar="SECONDS", help="per ServiceNow request")
    run.add_argument("--reconnect-grace", type=float, metavar="SECONDS", help="wait for a lost runtime")
    run.add_argument(
        "--sign-out-grace", type=float, metavar="SECONDS", help="keep a sign-in after its last app went away"
    )
    run.add_argument(
        "--app-event-backlog", type=int, metavar="EVENTS", help="events waiting per app (default: 100)"
    )
    run.add_argument(
        "--app-requests-in-flight", type=int, metavar="N", help="requests per app at once (default: 16)"
    )
    run.add_argument(
        "--app-request-backlog", type=int, metavar="N", help="requests per app waiting (default: 1000)"
    )
    run.add_argument(
        "--max-frame-bytes", type=int, metavar="BYTES", help="largest frame sent or handled (default: 8 MiB)"
    )
    run.add_argument(
        "--max-json-depth", type=int, metavar="LEVELS", help="deepest JSON frame handled (default: 64)"
    )
    run.add_argument("--config", type=Path, metavar="FILE", help="TOML file of settings")
    run.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    run.add_argument("--log-json", action="store_const", const=True, help="log JSON lines")


def build_parser() -> argparse.ArgumentParser:
    """The full parser; exposed so that tests and docs can inspect the contract."""
    parser = argparse.ArgumentParser(
        prog="servicenow-adapter",
        description="One shared ServiceNow connection for every app on an OpenFin desktop.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="serve the servicenow channel (the default command)")
    _run_flags(run)

    demo = commands.add_parser("demo", help="run both emulators, the adapter and a narrated app end to end")
    _common(demo)
    demo.set_defaults(log_level="warning")
    demo.add_argument(
        "--keep-running", action="store_true", help="leave the stack up afterwards for your own apps"
    )

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


def _run(args: argparse.Namespace) -> int:
    flags = {key: value for key, value in vars(args).items() if key not in ("command", "config")}
    try:
        settings = load_settings(flags, config_file=args.config)
    except SettingsError as error:
        sys.stderr.write(f"servicenow-adapter: {error}\n")
        return 2
    configure_logging(settings.log_level, json=settings.log_json)
    from adapter.bridge.service import AdapterService

    async def serve(stop: asyncio.Event) -> int:
        return await AdapterService(settings).serve(stop)

    return run_until_signalled(serve)


def _with_default_command(argv: Sequence[str]) -> list[str]:
    # An app asset is launched with options alone: "run" is implied unless a command is named.
    words = list(argv)
    if words and (words[0] in _COMMANDS or words[0] in ("-h", "--help", "--version")):
        return words
    return ["run", *words]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``servicenow-adapter`` and ``python -m adapter``."""
    parser = build_parser()
    args = parser.parse_args(_with_default_command(sys.argv[1:] if argv is None else argv))
    if args.command == "run":
        return _run(args)
    configure_logging(args.log_level, json=args.log_json)
    if args.command == "emulate":
        return _emulate(args)
    if args.command == "demo":
        from adapter.demo import run_demo

        async def demo(stop: asyncio.Event) -> int:
            return await run_demo(stop, keep_running=args.keep_running)

        return run_until_signalled(demo)
    parser.error(f"unknown command {args.command!r}")
    return 2
