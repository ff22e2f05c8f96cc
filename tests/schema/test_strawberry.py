"""What the gateway relies on in strawberry beyond its public API, held here so that an upgrade that
changes it fails a test rather than production: the graphql-core schema strawberry keeps (read by the
planner and wrapped by the field policy, through schema.common.core) is the one it executes."""

import asyncio
from types import SimpleNamespace
from typing import Any

from policies.authorizer import Authorizer
from schema import build_schema
from schema.common import core


def test_the_graphql_core_schema_behind_strawberry_is_the_one_it_executes() -> None:
    schema = build_schema(authorizer=Authorizer(), max_depth=12, max_aliases=50, max_tokens=5000)
    query_type = core(schema).query_type
    assert query_type is not None
    field = query_type.fields["codeList"]

    def pinned(root: Any, info: Any, **arguments: Any) -> list[SimpleNamespace]:
        return [SimpleNamespace(code="X", label="from the core schema")]

    field.resolve = pinned
    result = asyncio.run(schema.execute('{ codeList(name: "gender") { code label } }'))
    assert result.errors is None and result.data == {"codeList": [{"code": "X", "label": "from the core schema"}]}
