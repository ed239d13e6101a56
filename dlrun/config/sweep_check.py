"""Which compositions to check before a sweep starts, so that a typo in any of its jobs is a
one-line error before the first run instead of a crash in the middle of the sweep.

Checking every job would cost a composition each (~0.1 s); instead: every combination of the swept
config-group choices (`model=mlp,cnn` x `optim=adam,sgd`: these change which keys exist), each with
the first value of every other swept key, plus each further value of those keys once."""

import itertools
from collections.abc import Callable

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Glob


def compositions_to_check(overrides: list[str], is_group: Callable[[str], bool]) -> list[list[str]]:
    fixed: list[str] = []
    group_sweeps: list[list[str]] = []
    value_sweeps: list[list[str]] = []
    for override in OverridesParser.create().parse_overrides(overrides):
        if not override.is_sweep_override():
            fixed.append(override.input_line)
            continue
        if not override.is_discrete_sweep() or isinstance(override.value(), Glob):
            continue  # a search range (Optuna samples it per trial) or a glob: not listed here
        key = override.get_key_element()
        options = [f"{key}={value}" for value in override.sweep_string_iterator()]
        if not options:
            raise ValueError(f"{key}: {override.input_line.split('=', 1)[1]} gives no values")
        (group_sweeps if is_group(override.key_or_group) else value_sweeps).append(options)
    firsts = [options[0] for options in value_sweeps]
    combos = [fixed + list(choice) for choice in itertools.product(*group_sweeps)]
    checks = [combo + firsts for combo in combos]
    for i, options in enumerate(value_sweeps):
        checks += [combos[0] + firsts[:i] + [option] + firsts[i + 1 :] for option in options[1:]]
    return checks
