"""The ``drumjam`` command line (Typer + Rich).

Each command family lives in its own module with a ``register(app)`` function. Every error a
person can cause ends as one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from drumjam.errors import DrumjamError

app = typer.Typer(
    name="drumjam",
    help="Drum jam sessions: play along, score every hit, analyse duets, teach grooves.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _register_all() -> None:
    from drumjam.cli import analysis_cmds, lesson_cmds, scoring_cmds, web_cmds

    for module in (scoring_cmds, web_cmds, analysis_cmds, lesson_cmds):
        module.register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``drumjam`` console script."""
    try:
        app(args=argv, prog_name="drumjam")
    except DrumjamError as exc:
        err_console.print(f"drumjam: error: {exc}", markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("drumjam: interrupted", markup=False)
        sys.exit(130)
