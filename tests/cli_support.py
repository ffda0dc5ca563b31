"""The command line run in the test's own process: its exit code and what it printed."""

from __future__ import annotations

import pytest

from drumjam.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``drumjam ARGS``; its exit code, stdout and stderr."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    printed = capsys.readouterr()
    return stop.value.code, printed.out, printed.err


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``drumjam ARGS``, which must stop with exit code 2 and one line on stderr; the line."""
    code, _, err = run_cli(capsys, *args)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err
