"""The static cost of an operation, worked out from the document and its variables before anything runs:
how many fields its answer can hold, and how many SQL statements running it can take. The README's
"Limits on what one request may ask" says the same with worked examples.

fields
    Every field counts 1 for each object it is asked on. A list of objects multiplies what is asked below
    it by its bound (LIST_BOUNDS): a connection's `nodes` and `edges` by its `first`, `units` by the number
    of top-level units, `Unit.children` (and `units(parent:)`) by the most children any unit has,
    `Unit.positions` by the most positions any unit has, an official's child records by CHILD_RECORDS.
    `exportOfficials` adds its `limit` (ROWS: one row of the file per official). Introspection counts
    exactly what it answers.
statements
    A field with statements of its own (OWN_STATEMENTS: a page of officials, `totalCount`, `units`, a
    lookup by code, a mutation) runs them for each object it is asked on. A field read through the
    request's loaders (LOADED: an official's unit, a unit's children, the child records…) costs one
    statement per wave of objects it is asked on, and never more than one per object: objects that
    arrive together are loaded in one batch. What one statement (or one connection) returns arrives as
    one wave; a loaded field splits each wave in two below it, because objects answered from the
    loader's cache go on before their batch's statement returns.

The walk follows graphql-core's own field collection (fragments, `@include`/`@skip` with the request's
variables, aliases), so it sees exactly the fields that would run; it visits each field of the answer's
shape once, and no more fields than the document has once its fragments are written out (schema/shape.py
bounds that before validation).
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any, Final

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_abstract_type,
    is_list_type,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    GroupedFieldSet,
    collect_fields,
    collect_subfields,
)
from graphql.execution.get_variable_signature import GraphQLVariableSignature, get_variable_signature
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from resolvers.aggregates import MAX_DIMENSIONS, MAX_MONTHS, MAX_STAFFING_UNITS, most_buckets
from resolvers.changes import (
    APPROVE_STATEMENTS,
    CHANGES_PAGE,
    MAX_CHANGES_PAGE,
    MAX_FIELD_CHANGES,
    MAX_HISTORY,
    MAX_PENDING_PER_OFFICIAL,
    MAX_VERSION_CHANGES,
)
from resolvers.cv import CV_STATEMENTS
from resolvers.exports import MAX_EXPORT_ROWS, export_statements
from resolvers.limits import LARGEST_CODE_LIST, TreeShape
from resolvers.maintenance import MAX_AHEAD_WINDOWS
from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from resolvers.sync import SYNC_STATEMENTS
from schema.shape import CEILING

Args = dict[str, Any]
Tree = Callable[[], TreeShape]

# The audit record of a request that wrote: its event, and the officials it exposed.
AUDIT_IN_TRANSACTION: Final = 2
# The bound on an official's child records of one kind (training, family members, …): a whole career
# fits (yearly evaluations for forty years, a salary step every two or three). It bounds the cost only:
# an official with more records is answered in full.
CHILD_RECORDS: Final = 50
# The grants `accessGrants` lists at most (db.queries.grants.list_).
LISTED_GRANTS: Final = 1000
# Marks a connection's `nodes` and `edges`: as many as the `first` of the connection above.
PAGE: Final = "page"

CONNECTIONS: Final = frozenset(
    {"Query.officials", "Unit.officials", "Position.holders", "Official.accessLog", "Query.auditEvents"}
)
RECORDS: Final = (
    "workHistory",
    "training",
    "salaryHistory",
    "familyMembers",
    "rewards",
    "disciplines",
    "evaluations",
)

# How many objects each list of objects holds at most.
LIST_BOUNDS: Final[dict[str, int | str | Callable[[Args, Tree], int]]] = {
    "Query.units": lambda args, tree: tree().top_units if args.get("parent") is None else tree().most_children,
    "Unit.children": lambda args, tree: tree().most_children,
    "Unit.positions": lambda args, tree: tree().most_positions,
    "OfficialConnection.nodes": PAGE,
    "OfficialConnection.edges": PAGE,
    "AccessLogConnection.nodes": PAGE,
    "AuditEventConnection.nodes": PAGE,
    **{f"Official.{name}": CHILD_RECORDS for name in RECORDS},
    "Query.codeList": LARGEST_CODE_LIST,
    "Query.accessGrants": LISTED_GRANTS,
    "Query.pendingChanges": lambda args, tree: _changes_page(args),
    "ApprovalBatch.changes": lambda args, tree: _changes_page(args),
    "Official.pendingChanges": MAX_PENDING_PER_OFFICIAL,
    "Official.history": lambda args, tree: min(max(int(args.get("first", MAX_HISTORY)), 0), MAX_HISTORY),
    "PendingChange.changes": MAX_FIELD_CHANGES,
    "Query.workforceStats": lambda args, tree: most_buckets(_dimension_names(args), tree().top_units),
    "StatBucket.keys": MAX_DIMENSIONS,
    "Staffing.units": MAX_STAFFING_UNITS,
    "UnitStaffing.positions": lambda args, tree: tree().most_positions,
    "RecordVersion.changes": MAX_VERSION_CHANGES,
    "Query.headcountHistory": MAX_MONTHS,
    "Query.maintenanceWindows": MAX_AHEAD_WINDOWS,
}


def _dimension_names(args: Args) -> list[str]:
    given = args.get("groupBy") or args.get("group_by") or []
    return [str(getattr(d, "value", d)) for d in given] if isinstance(given, list) else []


def _changes_page(args: Args) -> int:
    return min(max(int(args.get("first", CHANGES_PAGE)), 0), MAX_CHANGES_PAGE)


def _first(args: Args) -> int:
    return min(max(int(args.get("first", DEFAULT_PAGE_SIZE)), 0), MAX_PAGE_SIZE)


def _limit(args: Args) -> int:
    return min(max(int(args.get("limit", 0)), 0), MAX_EXPORT_ROWS)


def _names_a_unit(args: Args) -> bool:
    given = args.get("filter")
    unit = given.get("unit") if isinstance(given, dict) else getattr(given, "unit", None)
    return unit is not None


def _page(args: Args) -> int:
    """A page of officials, and the filter's unit looked up when the filter names one."""
    return 1 + _names_a_unit(args)


# Statements a field runs by itself, for each object it is asked on.
OWN_STATEMENTS: Final[dict[str, int | Callable[[Args], int]]] = {
    "Query.officials": _page,
    "Unit.officials": 1,  # its unit is looked up through the loader (LOADED), then the page
    "Position.holders": _page,
    "OfficialConnection.totalCount": 1,
    "Query.official": 1,
    "Query.unit": 1,
    "Query.units": 1,
    "Query.accessGrants": 2,  # the grantee's account, the grants
    "Query.verifyReceipt": 1,
    # A request that writes takes the database's write lock first, on SQLite (resolvers/transaction.py).
    "Mutation.grantAccess": 6,  # the unit or the officials (two), the grantee, the grant, reading it back; the lock
    "Mutation.revokeGrant": 4,  # the grant, the revocation, reading it back; the lock
    "Mutation.exportOfficials": lambda args: export_statements(_limit(args)),
    "Query.pendingChanges": 2,  # the unit, the changes
    "Query.approvalBatch": 2,  # the unit, the batch
    # The lock; the official (and by code), the unit or position named, the count of pending changes, the
    # change, reading it back.
    "Mutation.proposeChange": 8,
    "Mutation.withdrawChange": 5,  # the lock; the change (twice when the caller is its proposer), deciding, reading back
    "Mutation.rejectChange": 4,  # the lock; the change, deciding, reading back
    "Mutation.approveBatch": APPROVE_STATEMENTS,
    "Official.cv": CV_STATEMENTS,
    "Query.workforceStats": 4,  # the unit, the data version, the counts, the units labelling them
    "Query.staffing": 4,  # the unit, the units below it, the filled posts, the positions
    "Query.headcountHistory": 3,  # the unit, today's count, the months' moves
    "Mutation.syncApprovedBatch": SYNC_STATEMENTS,
    "Official.accessLog": 1,  # the reads (the unit, for a subtree's reach, through the loader)
    "Query.auditEvents": 2,  # the events, the officials each exposed
    "Query.maintenanceWindows": 1,
    "Mutation.announceMaintenance": 3,  # the lock; the windows ahead counted, the window
    "Mutation.cancelMaintenance": 2,  # the lock; the window
}
# Fields read through the request's loaders: one statement per wave of objects.
LOADED: Final = frozenset(
    {
        "Query.me",
        "Query.position",
        "Official.unit",
        "Official.topUnit",
        "Official.position",
        *(f"Official.{name}" for name in RECORDS),
        "Unit.parent",
        "Unit.topUnit",
        "Unit.children",
        "Unit.positions",
        "Unit.officials",
        "Position.unit",
        "AccessGrant.managingUnit",
        "AccessGrant.unit",
        "Official.pendingChanges",
        "Official.history",
        "AccessLogEntry.unit",
        "PendingChange.official",
        "ApprovalBatch.unit",
        "Approval.unit",
    }
)
# Rows a field produces besides its answer's fields.
ROWS: Final[dict[str, Callable[[Args], int]]] = {"Mutation.exportOfficials": _limit}
# Fields that make an exported file with its receipt (MAX_EXPORTS_PER_REQUEST bounds them).
EXPORTS: Final = frozenset({"Mutation.exportOfficials", "Official.cv"})


class TreeUnknown(Exception):
    """The operation lists units or positions, and the tree's shape has not been read yet."""


class CostRuleError(Exception):
    """The schema and the cost rules disagree: a list of objects has no bound, or a rule names no field."""


@dataclass(frozen=True, slots=True)
class Cost:
    fields: int
    statements: int
    exports: int  # `exportOfficials` fields that would run
    steps: int  # fields of the answer's shape this walk visited


@dataclass(frozen=True, slots=True)
class _Objects:
    """Objects of one type that the same fields are asked on."""

    type: GraphQLObjectType
    fields: GroupedFieldSet
    count: int  # at most this many
    waves: int  # arriving in at most this many waves
    page: int  # the `first` of the connection they belong to


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDetails]
    variables: VariableValues
    operation: OperationDefinitionNode
    tree: Tree
    most_fields: int
    fields: int = 0
    statements: int = 0
    exports: int = 0
    steps: int = 0
    info: Any = field(init=False)

    def __post_init__(self) -> None:
        # Introspection's resolvers read nothing of their `info` but the schema.
        self.info = SimpleNamespace(schema=self.schema)

    def run(self, root: GraphQLObjectType) -> Cost:
        grouped = collect_fields(self.schema, self.fragments, self.variables, root, self.operation).grouped_field_set
        pending = [_Objects(root, grouped, count=1, waves=1, page=0)]
        while pending:
            objects = pending.pop()
            for details in objects.fields.values():
                self.steps += 1
                below = self._field(objects, details)
                if below is not None:
                    pending.append(below)
        return Cost(fields=self.fields, statements=self.statements, exports=self.exports, steps=self.steps)

    def _field(self, objects: _Objects, details: FieldDetailsList) -> _Objects | None:
        node, name, count = details[0].node, details[0].node.name.value, objects.count
        if name == "__typename":
            self.fields = _add(self.fields, count)
            return None
        if name in ("__schema", "__type"):
            self.fields = _add(self.fields, self._introspection(details))
            return None
        definition = objects.type.fields[name]
        key = f"{objects.type.name}.{name}"
        args = get_argument_values(definition, node, self.variables, details[0].fragment_variable_values)
        rows = ROWS[key](args) if key in ROWS else 0
        self.fields = _add(self.fields, _times(count, 1 + rows))
        own = OWN_STATEMENTS.get(key, 0)
        own = own(args) if callable(own) else own
        loaded = key in LOADED
        self.statements = _add(self.statements, _times(count, own) + (min(count, objects.waves) if loaded else 0))
        self.exports += count if key in EXPORTS else 0
        target = get_named_type(definition.type)
        if not isinstance(target, GraphQLObjectType):
            return None
        waves = count if own else min(count, 2 * objects.waves) if loaded else objects.waves
        sub = collect_subfields(self.schema, self.fragments, self.variables, self.operation, target, details)
        return _Objects(
            type=target,
            fields=sub.grouped_field_set,
            count=_times(count, self._many(key, definition, args, objects.page)),
            waves=waves,
            page=_first(args) if key in CONNECTIONS else objects.page,
        )

    def _many(self, key: str, definition: GraphQLField, args: Args, page: int) -> int:
        if not is_list_type(get_nullable_type(definition.type)):
            return 1
        bound = LIST_BOUNDS[key]
        if isinstance(bound, str):  # PAGE: the connection's own `first`
            return page
        return bound if isinstance(bound, int) else bound(args, self.tree)

    def _introspection(self, details: FieldDetailsList) -> int:
        """Exactly the fields introspection answers with, counted against the schema itself; counting
        stops once it passes what the request may still cost."""
        node = details[0].node
        meta = SchemaMetaFieldDef if node.name.value == "__schema" else TypeMetaFieldDef
        args = get_argument_values(meta, node, self.variables, details[0].fragment_variable_values)
        budget = self.most_fields - self.fields
        total = 1
        resolve = meta.resolve
        assert resolve is not None  # graphql-core's own __schema and __type resolve their values
        pending: list[tuple[GraphQLOutputType, FieldDetailsList, Any]] = [
            (meta.type, details, resolve(None, self.info, **args))
        ]
        while pending and total <= budget:
            output, collected, value = pending.pop()
            target = get_named_type(output)
            if value is None or not isinstance(target, GraphQLObjectType):
                continue
            items = list(value) if is_list_type(get_nullable_type(output)) else [value]
            sub = collect_subfields(self.schema, self.fragments, self.variables, self.operation, target, collected)
            for item in items:
                for inner in sub.grouped_field_set.values():
                    total += 1
                    self.steps += 1
                    inner_node = inner[0].node
                    if inner_node.selection_set is None or inner_node.name.value == "__typename":
                        continue
                    definition = target.fields[inner_node.name.value]
                    inner_args = get_argument_values(
                        definition, inner_node, self.variables, inner[0].fragment_variable_values
                    )
                    child = definition.resolve(item, self.info, **inner_args) if definition.resolve else None
                    pending.append((definition.type, inner, child))
        return total


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    tree: Tree,
    *,
    most_fields: int,
) -> Cost | None:
    """The cost of the operation that would run; None when none would (an unknown or ambiguous
    operation, variables that do not coerce): graphql-core then refuses the request before running it.
    Raises TreeUnknown when `tree` does, which it may only if the operation lists units or positions."""
    operation = get_operation_ast(document, operation_name)
    root = schema.get_root_type(operation.operation) if operation is not None else None
    fragments = _fragments(schema, document)
    if operation is None or root is None or fragments is None:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return None
    cost = _Walk(schema, fragments, coerced, operation, tree, most_fields).run(root)
    if cost is None or (operation.operation != OperationType.MUTATION and not cost.exports):
        return cost
    # A request that writes (a mutation; a query making a file, the CV's) records its audit in its own
    # transaction (gateway/audit.py); a read's record goes to the audit's own engine, in a batch shared
    # with others, outside the request's statements.
    return replace(cost, statements=cost.statements + AUDIT_IN_TRANSACTION)


def _fragments(schema: GraphQLSchema, document: DocumentNode) -> dict[str, FragmentDetails] | None:
    """The document's fragments as graphql-core's execution builds them."""
    fragments: dict[str, FragmentDetails] = {}
    for definition in document.definitions:
        if not isinstance(definition, FragmentDefinitionNode):
            continue
        signatures: dict[str, GraphQLVariableSignature] | None = None
        if definition.variable_definitions:
            signatures = {}
            for variable in definition.variable_definitions:
                signature = get_variable_signature(schema, variable)
                if isinstance(signature, GraphQLError):
                    return None
                signatures[signature.name] = signature
        fragments[definition.name.value] = FragmentDetails(definition, signatures)
    return fragments


def check_rules(schema: GraphQLSchema) -> None:
    """Every list of objects has a bound and every rule names a field: build_schema refuses otherwise."""
    fields = {
        f"{name}.{field_name}": definition
        for name, graphql_type in schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType) and not name.startswith("__")
        for field_name, definition in graphql_type.fields.items()
    }
    abstract = sorted(name for name, t in schema.type_map.items() if is_abstract_type(t) and not name.startswith("__"))
    if abstract:
        raise CostRuleError(f"The cost walk knows object types only; give {', '.join(abstract)} a rule")
    unbounded = sorted(
        key
        for key, definition in fields.items()
        if is_list_type(get_nullable_type(definition.type))
        and isinstance(get_named_type(definition.type), GraphQLObjectType)
        and key not in LIST_BOUNDS
    )
    if unbounded:
        raise CostRuleError(f"No bound in LIST_BOUNDS for the lists {', '.join(unbounded)}")
    named = LIST_BOUNDS.keys() | OWN_STATEMENTS.keys() | LOADED | CONNECTIONS | ROWS.keys()
    unknown = sorted(named - fields.keys())
    if unknown:
        raise CostRuleError(f"The cost rules name fields the schema does not have: {', '.join(unknown)}")


def _add(total: int, more: int) -> int:
    return min(total + more, CEILING)


def _times(count: int, each: int) -> int:
    return min(count * each, CEILING)
