"""A search space from Hydra's override syntax, as Optuna distributions:

    optim.lr=tag(log, interval(1e-4, 1e-1))   -> FloatDistribution(1e-4, 1e-1, log=True)
    trainer.epochs=tag(int, interval(2, 8))   -> IntDistribution(2, 8)       (Hydra's interval is float)
    trainer.batch_size=choice(32, 64)         -> CategoricalDistribution([32, 64])
    model.hidden=choice([64], [128, 64])      -> CategoricalDistribution(["[64]", "[128,64]"])
    trainer.epochs=range(2, 10, 2)            -> IntDistribution(2, 8, step=2) (stop excluded)
    dataset=digits                            -> a fixed override, passed to every trial

`hydra.sweeper.params` gives the space, overrides on the command line replace or extend it."""

import math
from dataclasses import dataclass, field
from typing import Any

from dlrun.errors import DlrunError

PRIMITIVE = (str, int, float, bool, type(None))


@dataclass
class Space:
    distributions: dict[str, Any] = field(default_factory=dict)  # name -> optuna distribution
    fixed: list[str] = field(default_factory=list)  # overrides every trial gets
    # name -> {sampled value: its override text}, for choices
    texts: dict[str, dict] = field(default_factory=dict)
    # key -> its override as given (searched and fixed): what defines the search, for a continued study
    lines: dict[str, str] = field(default_factory=dict)

    def overrides(self, params: dict[str, Any]) -> list[str]:
        """The overrides that run a trial with `params`."""
        sampled = []
        for name, value in params.items():
            text = self.texts.get(name, {}).get(value)
            if text is None:
                text = repr(value) if isinstance(value, float) else str(value)
            sampled.append(f"{name}={text}")
        return self.fixed + sampled

    def grid(self) -> dict[str, list]:
        """The values of each parameter, for the grid sampler: choices and ranges only."""
        from optuna.distributions import CategoricalDistribution, IntDistribution

        grid = {}
        for name, d in self.distributions.items():
            if isinstance(d, CategoricalDistribution):
                grid[name] = list(d.choices)
            elif isinstance(d, IntDistribution) and not d.log:
                grid[name] = list(range(d.low, d.high + 1, d.step))
            else:
                raise DlrunError(
                    f"hydra/sweeper/sampler=grid: {name} is an interval; the grid "
                    "sampler needs choice(...) or range(...) for every parameter"
                )
        return grid


TAGS = {"log", "int"}  # what tag(...) may say around an interval


def parse_space(params: dict | None, arguments: list[str]) -> Space:
    """The space from the sweeper's `params` and the command line's task overrides; a bad range
    is a DlrunError naming its key."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    lines = [f"{k}={v}" for k, v in (params or {}).items()] + list(arguments)
    try:
        parsed = OverridesParser.create().parse_overrides(lines)
    except Exception as e:
        raise DlrunError(f"cannot parse the search space: {str(e).splitlines()[0]}") from e
    by_key = {o.key_or_group: o for o in parsed}  # a later override of a key replaces an earlier one
    space = Space(lines={k: o.input_line for k, o in by_key.items()})
    for override in by_key.values():
        if not override.is_sweep_override():
            space.fixed.append(override.input_line)
            continue
        name = override.get_key_element()
        space.distributions[name], texts = distribution(name, override)
        if texts:
            space.texts[name] = texts
    return space


def distribution(name: str, override) -> tuple[Any, dict]:
    from hydra.core.override_parser.types import ChoiceSweep, Glob, IntervalSweep, RangeSweep
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    sweep = override.value()
    known = TAGS if isinstance(sweep, IntervalSweep) else set()
    unknown = sorted(set(getattr(sweep, "tags", ())) - known)
    if unknown:
        raise DlrunError(
            f"{name}: unknown tag '{unknown[0]}' (an interval takes tag(log, ...) and tag(int, ...); "
            "choice and range take none)"
        )
    if isinstance(sweep, IntervalSweep):
        low, high, log = sweep.start, sweep.end, "log" in sweep.tags
        if not low < high:
            raise DlrunError(f"{name}: the interval ({low}, {high}) is empty")
        if log and low <= 0:
            raise DlrunError(f"{name}: a log interval needs a positive start, not {low}")
        if "int" in sweep.tags:
            if int(low) != low or int(high) != high:
                raise DlrunError(f"{name}: tag(int, ...) needs whole numbers, not ({low}, {high})")
            return IntDistribution(int(low), int(high), log=log), {}
        return FloatDistribution(float(low), float(high), log=log), {}
    if isinstance(sweep, RangeSweep):
        values = list(override.sweep_iterator())
        if not values:
            raise DlrunError(f"{name}: range({sweep.start}, {sweep.stop}, {sweep.step}) is empty")
        if all(isinstance(v, int) for v in values) and isinstance(sweep.step, int):
            return IntDistribution(values[0], values[-1], step=sweep.step), {}
        return CategoricalDistribution(values), {}
    if isinstance(sweep, ChoiceSweep):
        values, texts = list(override.sweep_iterator()), list(override.sweep_string_iterator())
        if not values:
            raise DlrunError(f"{name}: choice() is empty")
        if all(isinstance(v, PRIMITIVE) for v in values) and len(set(map(repr, values))) == len(values):
            return CategoricalDistribution(values), dict(zip(values, texts))
        return CategoricalDistribution(texts), {}  # lists, dicts: sampled as their override text
    kind = "a glob" if isinstance(sweep, Glob) else type(sweep).__name__
    raise DlrunError(f"{name}: {kind} cannot be searched; use interval(...), choice(...) or range(...)")


def n_grid_points(grid: dict[str, list]) -> int:
    return math.prod(len(v) for v in grid.values())
