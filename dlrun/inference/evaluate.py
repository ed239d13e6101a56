"""Model outputs over whole arrays, in batches, with the training normalization; and the test
metrics the trainer reports (loss, acc or rmse/mae, per-class table)."""

import torch

from dlrun.inference.stats import normalizer

BATCH = 4096


@torch.no_grad()
def outputs(model, x, stats: dict, device="cpu") -> torch.Tensor:
    """Raw model outputs (logits, or standardized regression values) for inputs x (N, *input_shape)."""
    norm = normalizer(stats, device)
    x = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    return torch.cat([model(norm(x[i : i + BATCH])).float().cpu() for i in range(0, len(x), BATCH)])


def metrics(out: torch.Tensor, y, stats: dict) -> dict:
    """Loss and metrics as in summary.json's "test" (classification: also macro_f1, per_class,
    confusion_matrix), summed as training sums them."""
    from dlrun.training.distributed import Dist
    from dlrun.training.metric_sums import MetricSums

    y = torch.as_tensor(y)
    k = stats["num_classes"]
    sums = MetricSums(k, stats["target_std"], per_class=bool(k))
    if k:
        y = y.long()
        sums.add(torch.nn.functional.cross_entropy(out, y), out, y)
    else:
        t = (y.float() - stats["target_mean"]) / stats["target_std"]
        sums.add(torch.nn.functional.mse_loss(out.squeeze(1), t), out, t)
    found = sums.means(Dist())
    found.pop("count")
    return found


def predictions(out: torch.Tensor, stats: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(predicted class index or value in the target's units, class probabilities or None)."""
    if stats["num_classes"]:
        probs = out.softmax(1)
        return probs.argmax(1), probs
    return out.squeeze(1) * stats["target_std"] + stats["target_mean"], None
