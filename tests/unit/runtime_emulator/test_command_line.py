"""Splitting an asset command line the way each platform's shell conventions do."""

from __future__ import annotations

from adapter.emulators.runtime.processes import split_command_line


def test_posix_split_honours_quotes_and_escapes() -> None:
    assert split_command_line("python -c 'print(1)' \"two words\" a\\ b", windows=False) == [
        "python",
        "-c",
        "print(1)",
        "two words",
        "a b",
    ]


def test_windows_split_keeps_backslashes_in_paths() -> None:
    command = r'"C:\Program Files\Adapter\servicenow-adapter.exe" --runtime-address ws://127.0.0.1:9696'

    assert split_command_line(command, windows=True) == [
        r"C:\Program Files\Adapter\servicenow-adapter.exe",
        "--runtime-address",
        "ws://127.0.0.1:9696",
    ]


def test_windows_split_unescapes_quotes_after_backslashes() -> None:
    assert split_command_line(r'a\"b "c d" e\\"f g"', windows=True) == ['a"b', "c d", "e\\f g"]


def test_windows_split_keeps_empty_quoted_arguments() -> None:
    assert split_command_line('x "" y', windows=True) == ["x", "", "y"]
