"""How every command reports errors: one ``Error: ...`` line on stderr and exit code 2, no traceback.

Library errors, file-system errors (including a full disk), a closed or full standard output (``| head``,
``> /dev/full``: BrokenPipeError / ENOSPC while printing) all end that way; Ctrl-C prints ``Interrupted.``
and exits with 130.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cevns_hf.exceptions import CevnsHFError, OutputExistsError

__all__ = ["CevnsHFCLIError", "friendly"]


def __dir__() -> list[str]:
    return __all__


F = TypeVar("F", bound=Callable[..., Any])


class CevnsHFCLIError(click.ClickException):
    """A library error reported as one line (whitespace collapsed), exit code 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


def friendly(func: F) -> F:
    """Turn library errors (and file-system errors) raised by a command into :class:`CevnsHFCLIError`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OutputExistsError as err:
            text = str(err).replace("(overwrite=False)", "").replace("overwrite=True", "--force").rstrip("; ")
            raise CevnsHFCLIError(f"{text}; pass --force to replace it") from err
        except CevnsHFError as err:
            raise CevnsHFCLIError(str(err)) from err
        except OSError as err:
            if err.errno == errno.EPIPE:
                _silence_stdout()
                raise CevnsHFCLIError("standard output was closed before all output was written") from err
            if err.errno == errno.ENOSPC:
                _silence_stdout()
                raise CevnsHFCLIError(f"no space left on device: {err}") from err
            raise CevnsHFCLIError(f"{type(err).__name__}: {err}") from err
        except KeyboardInterrupt:  # Ctrl-C: one line, no traceback; atomic writes leave no partial file
            click.echo("Interrupted.", err=True)
            raise SystemExit(130) from None

    return wrapper  # type: ignore[return-value]


def _silence_stdout() -> None:
    """Point standard output at /dev/null so that the interpreter's final flush of the closed or full stream
    raises nothing after the one error line."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):  # not a real file (a test runner's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
