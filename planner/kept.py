"""What the gateway keeps between requests that repeat: a bounded LRU map, and the key a request's
variables give (the plans, the statements, the collected selections and the operations' costs use them)."""

from collections import OrderedDict
from typing import Any, Generic, TypeVar

import orjson

K = TypeVar("K")
V = TypeVar("V")


class Kept(Generic[K, V]):
    """A bounded LRU map: the plans, the statements and the requests' collected selections are each one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.kept: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self.kept.get(key)
        if found is not None:
            self.kept.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> V:
        self.kept[key] = value
        if len(self.kept) > self.size:
            self.kept.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self.kept)


def variables_key(variables: dict[str, Any] | None) -> bytes | None:
    """The variables as a key (None when they are not plain JSON, which then is not kept)."""
    try:
        return orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer past 64 bits: graphql-core refuses it, and nothing is kept
        return None
