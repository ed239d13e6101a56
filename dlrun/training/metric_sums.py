"""Accumulating a pass's metrics over batches: running sums on the device (no host sync per batch),
turned into means over every sample, on all DDP ranks together, at the end of the pass. The metric
names are those of dlrun.metrics; regression errors are reported in the targets' own units."""

import math

import torch

from dlrun.metrics import classification_report


def confusion_matrix(y: torch.Tensor, pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """counts[i, j] = how many samples of true class i were predicted as class j."""
    index = y.long() * num_classes + pred.long()
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


class MetricSums:
    """Sums over the batches of one pass (train, val or test). `add` takes a batch's mean loss (a
    tensor, or a float the loop has already read) and its outputs; `means` divides by the sample
    count. Saved inside last.pt for a pass interrupted mid-epoch (`state`)."""

    def __init__(self, num_classes: int, target_std: float = 1.0, per_class: bool = False, state: dict | None = None):
        self.num_classes, self.target_std, self.per_class = num_classes, target_std, per_class
        self.sums: dict = dict(state or {})
        self.counts = 0  # the confusion matrix, with per_class

    def add(self, loss: torch.Tensor | float, out: torch.Tensor, y: torch.Tensor) -> None:
        n = len(y)
        s = self.sums
        s["count"] = s.get("count", 0) + n
        if torch.is_tensor(loss) and torch.is_tensor(s.get("loss")):
            s["loss"] = torch.add(s["loss"], loss.detach(), alpha=n)  # one kernel: few launches per step
        else:
            s["loss"] = s.get("loss", 0.0) + (loss.detach() if torch.is_tensor(loss) else loss) * n
        if self.num_classes:
            pred = out.argmax(1)
            s["acc"] = s.get("acc", 0) + (pred == y).sum()
            if self.per_class:
                self.counts = self.counts + confusion_matrix(y, pred, self.num_classes)
        else:
            err = (out.squeeze(1).float() - y) * self.target_std  # in the targets' own units
            s["mse"] = s.get("mse", 0) + err.pow(2).sum()
            s["mae"] = s.get("mae", 0) + err.abs().sum()

    def state(self) -> dict:
        return self.sums

    def means(self, dist) -> dict:
        """{"count", "loss", "acc" | "rmse", "mae"} over every sample of the pass on all ranks (one
        host sync); with per_class also macro_f1, per_class and confusion_matrix."""
        sums = dist.sum(self.sums)
        n = sums["count"]
        metrics = {k: float(v) / n if k != "count" else int(v) for k, v in sums.items()}
        if "mse" in metrics:
            metrics["rmse"] = math.sqrt(metrics.pop("mse"))
            metrics["mae"] = metrics.pop("mae")  # after rmse: the column order of dlrun.metrics
        if self.per_class:
            metrics.update(classification_report(dist.reduce(self.counts)))
        return metrics
