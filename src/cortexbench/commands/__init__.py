"""One module per CLI subcommand; each defines ``register(subparsers)``."""

from __future__ import annotations

import argparse
from pathlib import Path

from cortexbench import paths

CONFIG_HELP = f"the config file (default {paths.CONFIG}; without one, the schema's defaults)"


def add_config(parser: argparse.ArgumentParser) -> None:
    """The one ``--config`` option: None means config/config.yaml, or defaults without it
    (cortexbench.config.optional_config); commands that measure need the file."""
    parser.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)


class Commands(argparse._SubParsersAction):
    """Subcommands whose help line is also their description (``COMMAND --help``)."""

    def add_parser(self, name: str, **kwargs):  # type: ignore[override]
        summary = kwargs.get("help")
        if summary and "description" not in kwargs:
            kwargs["description"] = summary[0].upper() + summary[1:] + "."
        return super().add_parser(name, **kwargs)


class CommandParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", Commands)
