"""What the resolver tree answers with: database rows, which strawberry reads by field name (the schema
names its types' fields as the rows' columns). The schema layer never imports SQLAlchemy: it names
rows through this alias."""

from typing import Any

from sqlalchemy import Row

AnyRow = Row[Any]
