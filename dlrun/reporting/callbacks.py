"""What plugs into a run: every node of the `callbacks` and `logger` config groups is a `_target_`,
built here by one loop. The protocol is duck-typed; a callback defines any of

    on_fit_start(trainer)            before the first epoch (after a resume: before the next one)
    on_epoch_end(trainer, row)       after each epoch is recorded; `row` is its metrics.csv row
    on_fit_end(trainer, summary)     after the test of best.pt; `summary` is summary.json's content

`trainer` is the running dlrun.training.trainer.Trainer (its `folder`, `cfg`, `model`, `data`,
`rows`). A callback may raise dlrun.errors.RunStopped(status, message) to end the run with that
status (a search's pruner does). Add a logger: one class with these methods and one YAML in
conf/logger/ naming it; the run imports its module only when the logger is chosen."""

from hydra.utils import instantiate
from omegaconf import DictConfig

CALLBACK_GROUPS = ("callbacks", "logger")  # reports first: loggers ship what they wrote (curves.png)
EVENTS = ("on_fit_start", "on_epoch_end", "on_fit_end")


def build_callbacks(cfg: DictConfig) -> list:
    return [instantiate(node) for group in CALLBACK_GROUPS for node in (cfg.get(group) or {}).values()]
