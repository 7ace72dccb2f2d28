"""The CLI speaks with one voice: every command and option says what it is for."""

from __future__ import annotations

import argparse

import pytest

from cortexbench.cli import build_parser


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


ALL = list(commands(build_parser()))


@pytest.mark.parametrize(
    ("path", "parser"), ALL, ids=[" ".join(p) or "cortexbench" for p, _ in ALL]
)
def test_every_command_has_a_description_and_every_option_help(path, parser):
    assert parser.description, f"cortexbench {' '.join(path)} has no description"
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        assert action.help, f"cortexbench {' '.join(path)} {action.option_strings or action.dest}"


def test_a_config_option_is_described_one_way():
    texts = {
        action.help
        for _, parser in ALL
        for action in parser._actions
        if "--config" in action.option_strings
    }
    assert len(texts) == 1, texts
