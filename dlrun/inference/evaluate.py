"""Model outputs over whole arrays, in batches, with the training normalization; and the test
metrics the trainer reports (loss, acc or rmse/mae, per-class table)."""

import math

import torch

from dlrun.inference.stats import normalizer

BATCH = 4096


@torch.no_grad()
def outputs(model, x, stats: dict, device="cpu") -> torch.Tensor:
    """Raw model outputs (logits, or standardized regression values) for inputs x (N, *input_shape)."""
    norm = normalizer(stats, device)
    x = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    return torch.cat([model(norm(x[i:i + BATCH])).float().cpu() for i in range(0, len(x), BATCH)])


def metrics(out: torch.Tensor, y, stats: dict) -> dict:
    """Loss and metrics as in summary.json's "test" (classification: also macro_f1, per_class,
    confusion_matrix)."""
    from dlrun.training.classification import classification_report, confusion_matrix

    y = torch.as_tensor(y)
    k = stats["num_classes"]
    if k:
        y = y.long()
        loss = torch.nn.functional.cross_entropy(out, y).item()
        report = classification_report(confusion_matrix(y, out.argmax(1), k))
        return {"loss": loss, "acc": (out.argmax(1) == y).float().mean().item(), **report}
    t = (y.float() - stats["target_mean"]) / stats["target_std"]
    loss = torch.nn.functional.mse_loss(out.squeeze(1), t).item()
    err = (out.squeeze(1) - t) * stats["target_std"]
    return {"loss": loss, "rmse": math.sqrt(err.pow(2).mean().item()), "mae": err.abs().mean().item()}


def predictions(out: torch.Tensor, stats: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(predicted class index or value in the target's units, class probabilities or None)."""
    if stats["num_classes"]:
        probs = out.softmax(1)
        return probs.argmax(1), probs
    return out.squeeze(1) * stats["target_std"] + stats["target_mean"], None
