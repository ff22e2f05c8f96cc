"""One list of an official's fields (db/catalog.py), and every reader held to it."""

from db.catalog import OFFICIAL, OFFICIAL_FIELDS, ORDERS
from db.queries.officials import FILTER_FIELDS, ORDER_FIELDS
from policies.authorizer import Authorizer
from resolvers.exports import EXPORTABLE


def test_every_field_of_the_catalog_is_a_data_field_of_the_policy_and_no_other() -> None:
    """A field the catalog lists is decided row by row by the policy's groups, and the policy checks row
    by row no Official field the catalog does not list."""
    data = {name for name in Authorizer().data_fields if name.startswith("Official.")}
    assert data == {field.policy for field in OFFICIAL_FIELDS}


def test_filters_orders_and_exports_read_catalog_fields() -> None:
    policies = {field.policy for field in OFFICIAL_FIELDS}
    assert set(FILTER_FIELDS.values()) <= policies
    assert {name for name in ORDER_FIELDS.values() if name is not None} == {f.policy for f in ORDERS.values()}
    by_kind = [
        [f.name for f in OFFICIAL_FIELDS if f.kind in kinds] for kinds in (("plain",), ("code",), ("unit", "position"))
    ]
    assert list(EXPORTABLE) == [name for names in by_kind for name in names]


def test_field_names_are_unique_and_camel_case() -> None:
    assert len(OFFICIAL) == len(OFFICIAL_FIELDS)
    assert all(name[0].islower() and "_" not in name for name in OFFICIAL)
