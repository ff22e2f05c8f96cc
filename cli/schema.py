"""`ccvc schema print`: the GraphQL schema as SDL, the same text as GET /graphql/schema.graphql."""

import argparse
import sys

from cli._common import Commands
from gateway.config import Settings


def cmd_print(settings: Settings, _: argparse.Namespace) -> int:
    from gateway.app import schema_for  # the schema's types: a second's import only this command needs
    from schema import sdl

    sys.stdout.write(sdl(schema_for(settings)))
    return 0


def register(commands: Commands) -> None:
    group = commands.add_parser("schema", help="the GraphQL schema").add_subparsers(
        dest="schema_command", required=True
    )
    group.add_parser(
        "print", help="print the schema as SDL (docs/schema.graphql is this output, committed)"
    ).set_defaults(run=cmd_print)
