"""Compiled reads: a validated GraphQL document, its operation and the caller's Scope become one SQL
statement whose rows are shaped into the response's data, without a Python resolver per field.

collect.py  the selections graphql-core's executor would run (fragments, aliases, @include/@skip)
plan.py     the plan: what to read and how to write it, by object type (frozen, cached per document)
build.py    selections -> plan, or Unsupported (the resolver tree answers, and the fallback is counted)
sql.py      plan + the request's arguments and scope -> one SELECT (SQLite and PostgreSQL)
shape.py    rows -> data, FORBIDDEN_FIELD errors derived per row mask, the receipt's exposure
run.py      one request through all of it

The resolver tree (schema/, resolvers/) stays the executable specification: tests/planner holds the two
byte-identical on random documents and principals. The planner imports no strawberry.
"""
