"""Errors that are the user's to fix: the CLI prints them as one line, without a traceback."""


class UserError(Exception):
    """Bad input (a name, a file, a config key); the message says what is wrong and how to fix it.

    Its message is one line: the CLI prints it as is, without a traceback.
    """


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type), for a one-line error."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
