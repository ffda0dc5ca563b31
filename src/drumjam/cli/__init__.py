"""The ``drumjam`` command line (Typer + Rich).

Each command family lives in its own module with a ``register(app)`` function. Every error a
person can cause ends as one line on stderr and exit code 2, never a traceback. Anything else
(a bug, a full disk) ends as one line and exit code 1; ``DRUMJAM_DEBUG=1`` shows its trace.
"""

from __future__ import annotations

import os
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
    from drumjam.cli import (analysis_cmds, batch_cmds, lesson_cmds, scoring_cmds, transcribe_cmds,
                             web_cmds)

    for module in (scoring_cmds, web_cmds, analysis_cmds, transcribe_cmds, lesson_cmds, batch_cmds):
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
    except BrokenPipeError:  # the reader of our output went away (``drumjam ... | head``)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as exc:  # the last resort: one line, the trace only on request
        if os.environ.get("DRUMJAM_DEBUG", "") not in ("", "0"):
            raise
        err_console.print(f"drumjam: unexpected error: {unexpected_error_line(exc)}", markup=False)
        sys.exit(1)


def unexpected_error_line(exc: BaseException, max_chars: int = 300) -> str:
    """One line for an error nobody foresaw: its kind, its message, and what to do."""
    text = " ".join(str(exc).split())
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    kind = type(exc).__name__
    hint = ("drumjam ran out of memory; give it a smaller file" if isinstance(exc, MemoryError)
            else "run again with DRUMJAM_DEBUG=1 to see where, and report it if it looks like a bug")
    return f"{kind}: {text} ({hint})" if text else f"{kind} ({hint})"
