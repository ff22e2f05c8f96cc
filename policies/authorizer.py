"""Turns a principal into the Scope every database read of the request goes through.

Interim rule of the foundation issue: any authenticated caller reads everything. The casbin policies
(the authorization issue) replace the body of `scope_for`; its callers and the SQL that applies the
scope stay as they are.
"""

from db.scoping import Everyone, Grant, Scope
from policies.principal import Principal

# Placeholder field set of the interim grant; per-field decisions arrive with the casbin policies.
ALL_FIELDS = frozenset({"*"})

_EVERYTHING = Scope(grants=(Grant(predicate=Everyone(), fields=ALL_FIELDS, basis="interim:authenticated"),))


def scope_for(principal: Principal) -> Scope:
    del principal  # every authenticated principal gets the same scope until the policies land
    return _EVERYTHING
