"""The ``servicenow-adapter`` command line (docs/configuration.md is the contract other scripts rely on).

Every way the command can end badly goes through ``main``: a misused flag or command, a bad setting, a
start-up failure (``StartupError``), a stop before READY, and any other error end with one sentence on stderr
and a documented exit code (see ``EXIT_CODES``), never a traceback unless ``--log-level debug`` asks for it.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import itertools
import os
import re
import sys
import tempfile
import textwrap
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from adapter import __version__
from adapter.lifecycle import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    StartupError,
    run_until_signalled,
)
from adapter.setting_flags import setting_flags
from adapter.settings import ENV_PREFIX, LOG_LEVELS, SettingsError, load_settings

PROG = "servicenow-adapter"
_TOP_LEVEL_FLAGS = ("-h", "--help", "--version")

EXIT_CODES = """exit codes:
  0    stopped cleanly (SIGINT/SIGTERM after READY)
  1    could not start (runtime not reachable or refused us, a port taken, ...)
  2    bad command line or settings; for run also: the runtime stayed away longer than --reconnect-grace
  70   an unexpected error (rerun with --log-level debug for the details)
  130  stopped (Ctrl-C, SIGTERM) before start-up finished"""

SETTINGS_EPILOG = f"""Every flag can also be set by an environment variable SERVICENOW_ADAPTER_<FLAG_NAME>
(for example SERVICENOW_ADAPTER_POLL_INTERVAL=5) or in the TOML file given by --config (poll_interval = 5);
a flag wins over the environment, which wins over the file. All settings: docs/configuration.md.

{EXIT_CODES}"""


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"port {port} is out of range: use 1 to 65535, or 0 for any free port"
        )
    return port


def _number(kind: type[int] | type[float] | type[str]) -> Callable[[str], object]:
    def parse(text: str) -> object:
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None

    parse.__name__ = kind.__name__
    return parse


def _asset(text: str) -> tuple[str, str]:
    alias, sep, command = text.partition("=")
    if not sep or not alias or not command:
        raise argparse.ArgumentTypeError(f"expected ALIAS=COMMAND, got {text!r}")
    return alias, command


class CommandLineError(Exception):
    """A misused command line; the message is one sentence that already names the command."""


class _Parser(argparse.ArgumentParser):
    """argparse with whole flags only, and misuse reported as one sentence with a "did you mean"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # An abbreviation (--tok for --token) must never stand for a flag: the launcher's guard against
        # overriding its reserved flags compares whole names.
        kwargs["allow_abbrev"] = False
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        if kwargs.get("description"):
            paragraphs = str(kwargs["description"]).split("\n\n")
            kwargs["description"] = "\n\n".join(textwrap.fill(text, 100) for text in paragraphs)
        super().__init__(*args, **kwargs)

    def known_words(self) -> list[str]:
        """Every flag and sub-command this parser accepts."""
        words = [option for action in self._actions for option in action.option_strings]
        for commands in self._commands():
            words += list(commands)
        return words

    def command_parser(self, word: str | None) -> _Parser | None:
        """The parser of sub-command ``word``, if this parser has one."""
        for commands in self._commands():
            if word in commands:
                parser = commands[word]
                return parser if isinstance(parser, _Parser) else None
        return None

    def _commands(self) -> list[dict[str, argparse.ArgumentParser]]:
        # argparse has no public name for the action that holds sub-commands.
        kind = argparse._SubParsersAction  # noqa: SLF001
        return [action.choices for action in self._actions if isinstance(action, kind)]

    def error(self, message: str) -> NoReturn:
        """Raise ``CommandLineError`` rather than print the usage and exit."""
        raise CommandLineError(f"{self.prog}: {self._explain(message)}; see '{self.prog} --help'")

    def _explain(self, message: str) -> str:
        unknown = re.match(r"unrecognized arguments: (.*)", message)
        if unknown:
            word = unknown.group(1).split()[0]
            kind = "flag" if word.startswith("-") else "argument"
            return f"unknown {kind} {word}{_did_you_mean(word.split('=')[0], self.known_words())}"
        choice = re.match(r"argument (\S+): invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            name, given, allowed = choice.groups()
            options = re.findall(r"'([^']*)'", allowed)
            suggestion = _did_you_mean(given, options) or f" (choose from {', '.join(options)})"
            if name in ("COMMAND", "EMULATOR"):
                return f"unknown command {given!r}{suggestion}"
            return f"{name} does not take {given!r}{suggestion}"
        return message


def _did_you_mean(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not close and word.startswith("--"):
        # A prefix (--runtime-a) is not accepted, but it tells us which flag was meant.
        close = [c for c in candidates if c.startswith(word)][:1]
    return f" (did you mean {close[0]}?)" if close else ""


def _logging_flags(parser: argparse.ArgumentParser, default_level: str) -> None:
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=default_level,
        help=f"how much to log (default: {default_level})",
    )
    parser.add_argument("--log-json", action="store_true", help="log JSON lines instead of console text")


def _run_flags(run: argparse.ArgumentParser) -> None:
    # Every flag comes from the settings model, and every default is None so that the environment and the
    # config file can still supply the value.
    for setting in setting_flags():
        if setting.kind == "switch":
            run.add_argument(setting.flag, action="store_const", const=True, help=setting.help)
        elif setting.kind == "list":
            run.add_argument(setting.flag, action="append", metavar=setting.metavar, help=setting.help)
        elif setting.kind == "choice":
            run.add_argument(setting.flag, choices=setting.choices, help=setting.help)
        else:
            value_type: Callable[[str], object] = (
                _port
                if setting.metavar == "PORT"
                else _number(setting.value_type)
                if setting.kind == "number" and setting.value_type is not str
                else str
            )
            run.add_argument(setting.flag, type=value_type, metavar=setting.metavar, help=setting.help)
    run.add_argument("--config", type=Path, metavar="FILE", help="TOML file of settings (default: none)")


def build_parser() -> argparse.ArgumentParser:
    """The full parser; exposed so that tests and docs can inspect the contract."""
    parser = _Parser(
        prog=PROG,
        description="One shared ServiceNow connection for every app on an OpenFin desktop.\n\n"
        "Without a command, 'run' is meant: servicenow-adapter --instance-url URL ... is "
        "servicenow-adapter run --instance-url URL ....",
        epilog=SETTINGS_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="serve the servicenow channel (the default command)",
        description="Join the OpenFin runtime, serve the servicenow channel to apps from one shared "
        "ServiceNow login, broadcast case changes and handle FDC3 intents. Prints 'READY channel <name>' "
        "once apps can connect.",
        epilog=SETTINGS_EPILOG,
    )
    _run_flags(run)

    demo = commands.add_parser(
        "demo",
        help="run both emulators, the adapter and a narrated app end to end",
        description="Start the ServiceNow and OpenFin runtime emulators and the adapter on free ports, "
        "then walk through what a desktop app does with it. Needs no OpenFin and no ServiceNow.",
        epilog=EXIT_CODES,
    )
    _logging_flags(demo, "warning")
    demo.add_argument(
        "--keep-running", action="store_true", help="leave the stack up afterwards for your own apps"
    )

    doctor = commands.add_parser(
        "doctor",
        help="say whether the runtime, the adapter, the broker, the instance and the login are healthy",
        description="Check what servicenow-adapter run depends on, with the same settings (flags, "
        "environment, --config), and say in a sentence how each is: the runtime, the adapter serving the "
        "channel (its status), the platform's interop broker, the instance and the login. "
        "Exits 0 when nothing failed, 1 otherwise.",
        epilog=SETTINGS_EPILOG,
    )
    _run_flags(doctor)

    emulate = commands.add_parser(
        "emulate",
        help="run a local emulator of ServiceNow or the OpenFin runtime",
        description="Run a local emulator; it prints 'READY <url>' once it listens.",
        epilog=EXIT_CODES,
    )
    emulators = emulate.add_subparsers(dest="emulator", required=True, metavar="EMULATOR")

    servicenow = emulators.add_parser(
        "servicenow",
        help="a ServiceNow instance on SQLite",
        description="A ServiceNow instance (Table API, OAuth, scripted API) on SQLite, with demo data.",
        epilog=EXIT_CODES,
    )
    _logging_flags(servicenow, "info")
    servicenow.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    servicenow.add_argument(
        "--port", type=_port, default=8180, help="port to listen on; 0 picks a free one (default: 8180)"
    )
    servicenow.add_argument("--db", type=Path, default=None, help="SQLite file (default: in memory)")
    servicenow.add_argument(
        "--auto-login",
        metavar="USER",
        default=None,
        help="approve /oauth_auth.do at once as USER (default: show the login page)",
    )
    servicenow.add_argument(
        "--tls", action="store_true", help="serve https with a CA and certificate made at start"
    )
    servicenow.add_argument(
        "--tls-ca-out",
        type=Path,
        metavar="PEM",
        default=Path(tempfile.gettempdir()) / "servicenow-emulator-ca.pem",
        help="where --tls writes its CA for clients to trust (default: in the temporary directory)",
    )
    servicenow.add_argument(
        "--tls-name", metavar="NAME", action="append", default=[], help="extra host name for the certificate"
    )
    servicenow.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve https with this certificate")
    servicenow.add_argument("--tls-key", type=Path, metavar="PEM", help="the private key of --tls-cert")

    runtime = emulators.add_parser(
        "runtime",
        help="an OpenFin runtime websocket bus",
        description="An OpenFin runtime's websocket bus: external connections, channels, interop broker.",
        epilog="Its behaviour settings come from RUNTIME_EMULATOR_<NAME> environment variables; see "
        f"docs/emulators/runtime.md.\n\n{EXIT_CODES}",
    )
    _logging_flags(runtime, "info")
    runtime.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    runtime.add_argument(
        "--port", type=_port, default=9696, help="port to listen on; 0 picks a free one (default: 9696)"
    )
    runtime.add_argument(
        "--broker",
        metavar="PLATFORM_UUID",
        default=None,
        help="start the built-in interop broker for this platform uuid (default: none)",
    )
    runtime.add_argument(
        "--asset",
        metavar="ALIAS=COMMAND",
        type=_asset,
        action="append",
        default=[],
        help="map an appAsset alias to a local command for launch-external-process "
        "(repeatable; default: none)",
    )
    return parser


def _emulate(args: argparse.Namespace) -> int:
    if args.emulator == "servicenow":
        return _emulate_servicenow(args)
    return _emulate_runtime(args)


def _emulate_servicenow(args: argparse.Namespace) -> int:
    from adapter.emulators.servicenow.server import TlsRequest, serve

    tls = None
    if args.tls or args.tls_cert or args.tls_key:
        tls = TlsRequest(
            ca_out=args.tls_ca_out, names=tuple(args.tls_name), cert=args.tls_cert, key=args.tls_key
        )

    async def serve_servicenow(stop: asyncio.Event) -> int:
        return await serve(
            stop, host=args.host, port=args.port, db=args.db, auto_login=args.auto_login, tls=tls
        )

    return run_until_signalled(serve_servicenow)


def _emulate_runtime(args: argparse.Namespace) -> int:
    from adapter.emulators.runtime.server import serve

    async def serve_runtime(stop: asyncio.Event) -> int:
        return await serve(stop, host=args.host, port=args.port, broker=args.broker, assets=dict(args.asset))

    return run_until_signalled(serve_runtime)


def _settings(args: argparse.Namespace) -> Any:
    flags = {key: value for key, value in vars(args).items() if key not in ("command", "config")}
    try:
        return load_settings(flags, config_file=args.config)
    except SettingsError as error:
        raise StartupError(str(error), EXIT_USAGE) from None


def _run(args: argparse.Namespace) -> int:
    from adapter.logging import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_level, json=settings.log_json)
    from adapter.bridge.service import AdapterService

    async def serve(stop: asyncio.Event) -> int:
        return await AdapterService(settings).serve(stop)

    return run_until_signalled(serve)


def _doctor(args: argparse.Namespace) -> int:
    from adapter.doctor import run_doctor
    from adapter.logging import configure_logging

    settings = _settings(args)
    # The doctor speaks in sentences; log lines would only repeat them.
    configure_logging("debug" if settings.log_level == "debug" else "error", json=settings.log_json)

    async def doctor(_stop: asyncio.Event) -> int:
        return await run_doctor(settings, out=sys.stdout)

    return run_until_signalled(doctor)


def _with_default_command(argv: Sequence[str]) -> list[str]:
    # An app asset is launched with options alone: "run" is implied when the first word is a flag. A first
    # word that is not a flag is a command, even a mistyped one, so that it is reported as such.
    words = list(argv)
    if words and (not words[0].startswith("-") or words[0] in _TOP_LEVEL_FLAGS):
        return words
    return ["run", *words]


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    args, extra = parser.parse_known_args(argv)
    if extra:
        # Reported by the command's own parser, so that the message names it and its flags are suggested.
        leaf = parser
        for word in (args.command, getattr(args, "emulator", None)):
            child = leaf.command_parser(word) if isinstance(leaf, _Parser) else None
            leaf = child or leaf
        leaf.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(args)
    if args.command == "doctor":
        return _doctor(args)
    if (
        args.command == "emulate"
        and args.emulator == "servicenow"
        and bool(args.tls_cert) != bool(args.tls_key)
    ):
        raise CommandLineError(
            f"{PROG} emulate servicenow: --tls-cert and --tls-key go together: "
            "give both files, or --tls alone"
        )
    from adapter.logging import configure_logging

    configure_logging(args.log_level, json=args.log_json)
    if args.command == "emulate":
        return _emulate(args)
    from adapter.demo import run_demo

    async def demo(stop: asyncio.Event) -> int:
        return await run_demo(
            stop, keep_running=args.keep_running, log_level=args.log_level, log_json=args.log_json
        )

    return run_until_signalled(demo)


def _debugging(argv: Sequence[str]) -> bool:
    words = list(argv)
    if os.environ.get(f"{ENV_PREFIX}LOG_LEVEL", "").lower() == "debug":
        return True
    return "--log-level=debug" in words or any(
        a == "--log-level" and b == "debug" for a, b in itertools.pairwise(words)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``servicenow-adapter`` and ``python -m adapter``; returns the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(_parse(build_parser(), _with_default_command(words)))
    except CommandLineError as error:
        sys.stderr.write(f"{error}\n")
        return EXIT_USAGE
    except StartupError as error:
        sys.stderr.write(f"{PROG}: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: stopped\n")
        return EXIT_INTERRUPTED
    except Exception as error:
        if _debugging(words):
            traceback.print_exc()
        sys.stderr.write(
            f"{PROG}: unexpected error {type(error).__name__}: {error}; "
            "rerun with --log-level debug for the details\n"
        )
        return EXIT_INTERNAL
