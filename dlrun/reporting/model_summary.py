"""The model at a glance: one forward pass of a batch with hooks on the leaf modules gives each
layer's output shape and parameter count; shown as a rich table at the start of a run and written
to dlrun.log."""

import torch
from rich.table import Table
from torch import nn

from dlrun.data import iterate_batches
from dlrun.reporting.console import show


def _shape(output) -> str:
    if isinstance(output, torch.Tensor):
        return str(list(output.shape))
    if isinstance(output, (tuple, list)):
        return ", ".join(_shape(o) for o in output)
    return type(output).__name__


def _has(iterable) -> bool:
    return next(iter(iterable), None) is not None


def summarize(model: nn.Module, x: torch.Tensor) -> list[dict]:
    """Rows {layer, type, output, params} in call order for the modules that hold parameters
    themselves or have no children; a module called twice gets two rows, its parameters counted once."""
    rows, counted = [], set()

    def hook(name):
        def record(module, inputs, output):
            params = 0 if id(module) in counted else sum(p.numel() for p in module.parameters(recurse=False))
            counted.add(id(module))
            rows.append(
                {
                    "layer": name or type(module).__name__,
                    "type": type(module).__name__,
                    "output": _shape(output),
                    "params": params,
                }
            )

        return record

    handles = [
        m.register_forward_hook(hook(name))
        for name, m in model.named_modules()
        if not _has(m.children()) or _has(m.parameters(recurse=False))
    ]
    training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(training)
    return rows


def model_table(rows: list[dict], model: nn.Module) -> Table:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    table = Table(
        title=f"model: {type(model).__name__}", title_justify="left", show_footer=True, box=None, pad_edge=False
    )
    table.add_column("layer", footer="total")
    table.add_column("type")
    table.add_column("output shape", footer=f"{trainable:,} trainable" if trainable != total else "")
    table.add_column("params", justify="right", footer=f"{total:,}")
    for r in rows:
        table.add_row(r["layer"], r["type"], r["output"], f"{r['params']:,}" if r["params"] else "")
    return table


class ModelSummary:
    """Trainer callback: the model table for one training batch, at the start of the run."""

    def on_fit_start(self, trainer) -> None:
        x, _ = next(iterate_batches(trainer.data.train, trainer.batch_size))  # either data path
        show(model_table(summarize(trainer.model, x), trainer.model))
