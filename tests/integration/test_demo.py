"""``make demo`` runs the whole desktop, narrated, and exits 0 with no OpenFin and no ServiceNow around."""

from __future__ import annotations

import subprocess

from tests.support.processes import ROOT, adapter_command


def test_the_demo_tells_the_whole_story_and_exits_cleanly() -> None:
    done = subprocess.run(
        adapter_command("demo"), cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr
    story = done.stdout
    assert "signed in as Beth Anglin <beth.anglin@example.com>" in story
    assert "HTTP 201: created CS" in story
    assert "FDC3 context servicenow.case" in story
    assert "has " in story
    assert "case(s):" in story
    assert "apps left: 0, tokens revoked: True" in story
    assert "Everything is shut down" in story
    assert "Traceback" not in done.stderr
