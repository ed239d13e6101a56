"""`dlrun compare --where KEY OP VALUE`: keep the runs whose KEY compares with VALUE. KEY is a
config-group choice (`model`), a config key (`optim.lr`), `status`, or a column of the per-run
table (`val_acc`, `test_acc`, `epochs`, `wall_s`); OP one of = == != < <= > >=. Numbers compare as
numbers, anything else as text (= and != only)."""

import operator
import re
from dataclasses import dataclass
from typing import Any

from dlrun.errors import DlrunError

OPS = {
    "<=": operator.le,
    ">=": operator.ge,
    "!=": operator.ne,
    "==": operator.eq,
    "=": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}
PATTERN = re.compile(r"^\s*([A-Za-z_][\w.@/-]*)\s*(<=|>=|!=|==|=|<|>)\s*(.*?)\s*$")


@dataclass
class Where:
    key: str
    op: str
    value: str
    text: str

    def matches(self, found: Any) -> bool:
        if found is None:
            return False
        want, have = number(self.value), number(found)
        if want is not None and have is not None:
            return OPS[self.op](have, want)
        if self.op in ("<", "<=", ">", ">="):
            return False  # text has no order here
        same = str(found).lower() == self.value.lower() if isinstance(found, bool) else str(found) == self.value
        return same == (self.op != "!=")


def parse_where(text: str) -> Where:
    m = PATTERN.match(text)
    if not m or not m.group(3):
        raise DlrunError(
            f"--where {text!r}: expected KEY OP VALUE, e.g. 'optim.lr<0.01', "
            f"'status=completed', 'model=cnn' (OP: {' '.join(OPS)})"
        )
    return Where(m.group(1), m.group(2), m.group(3).strip("'\""), text)


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def keep(items: list, conditions: list[Where], lookup) -> list:
    """The items for which every condition holds; `lookup(item, key)` -> (known, value). A key no
    item knows is an error (a typo would otherwise silently empty the table)."""
    for cond in conditions:
        if not any(lookup(item, cond.key)[0] for item in items):
            raise DlrunError(f"--where {cond.text!r}: no run has a key '{cond.key}'")
        items = [item for item in items if cond.matches(lookup(item, cond.key)[1])]
    if not items:
        raise DlrunError("no run matches " + " and ".join(repr(c.text) for c in conditions))
    return items
