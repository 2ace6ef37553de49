"""Where the RVM is looked for: an explicit path, else where OpenFin installs it (Windows, macOS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapter.openfin.discovery import RvmNotFoundError, find_rvm
from adapter.openfin.discovery.rvm import default_rvm_path


def test_windows_rvm_is_under_local_app_data(tmp_path: Path) -> None:
    path = default_rvm_path("win32", {"LOCALAPPDATA": str(tmp_path)}, Path("/home/u"))
    assert path == tmp_path / "OpenFin" / "OpenFinRVM.exe"


def test_macos_rvm_is_in_the_users_applications(tmp_path: Path) -> None:
    path = default_rvm_path("darwin", {}, tmp_path)
    assert path == tmp_path / "Applications" / "OpenFinRVM.app" / "Contents" / "MacOS" / "OpenFinRVM"


@pytest.mark.parametrize(("platform", "environ"), [("linux", {}), ("win32", {})])
def test_no_default_rvm_without_a_known_location(platform: str, environ: dict[str, str]) -> None:
    assert default_rvm_path(platform, environ, Path("/home/u")) is None


def test_installed_rvm_is_found(tmp_path: Path) -> None:
    rvm = tmp_path / "OpenFin" / "OpenFinRVM.exe"
    rvm.parent.mkdir()
    rvm.write_bytes(b"MZ")
    assert find_rvm(None, platform="win32", environ={"LOCALAPPDATA": str(tmp_path)}) == rvm


def test_missing_installed_rvm_names_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(RvmNotFoundError, match=r"no RVM at .*OpenFinRVM"):
        find_rvm(None, platform="darwin", home=tmp_path)


def test_platform_without_rvm_points_to_the_flag() -> None:
    with pytest.raises(RvmNotFoundError, match="--rvm-path"):
        find_rvm(None, platform="linux", environ={})


def test_explicit_rvm_path_wins_over_the_install_location(tmp_path: Path) -> None:
    explicit = tmp_path / "my-rvm"
    explicit.write_bytes(b"")
    assert find_rvm(explicit, platform="linux") == explicit


def test_explicit_rvm_path_that_does_not_exist_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(RvmNotFoundError, match="no such file"):
        find_rvm(tmp_path / "absent", platform="win32", environ={"LOCALAPPDATA": str(tmp_path)})
