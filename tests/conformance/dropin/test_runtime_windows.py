"""The runtime calls @openfin/servicenow makes for its auth window, made by node-adapter on the emulator."""

from __future__ import annotations

from tests.conformance.conftest import NodeScripts


def test_a_named_child_window_can_be_created_found_moved_and_closed(
    runtime_emulator: str, node_script: NodeScripts
) -> None:
    page = runtime_emulator.replace("ws://", "http://") + "/popup"
    result = node_script.run("dropin/window_calls.mjs", {"address": runtime_emulator, "url": page})

    # node-adapter itself refuses Window.create outside a window; the shim gives it the runtime's route.
    assert result["refused"] == "Not Implemented"
    assert result["before"] == []
    owner = {"uuid": "window-owner", "name": "popup"}
    assert result["identity"] == owner
    assert result["children"] == [owner]
    assert result["url"] == page
    assert result["primary"] == {"left": 0, "top": 0, "right": 1920, "bottom": 1040}
    # defaultCentered on the available area of the one monitor.
    assert result["initialBounds"] == {
        "left": 685, "top": 220, "width": 550, "height": 600, "right": 1235, "bottom": 820
    }  # fmt: skip
    assert result["boundsChanged"] == {"left": 100, "top": 50, "changeType": 0}
    assert result["bounds"] == {
        "left": 100,
        "top": 50,
        "width": 550,
        "height": 600,
        "right": 650,
        "bottom": 650,
    }
    assert result["showing"] is False
    assert result["closed"] is True
    assert result["after"] == []
    assert result["usage"] == "registered"
