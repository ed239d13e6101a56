"""Classification metrics from a confusion matrix: per-class precision, recall, F1 and macro-F1.
`confusion_matrix` counts on the device in torch; `classification_report` is a pure function of the
counts (rows = true class, columns = predicted class)."""

import torch


def confusion_matrix(y: torch.Tensor, pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """counts[i, j] = how many samples of true class i were predicted as class j."""
    index = y.long() * num_classes + pred.long()
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def classification_report(counts) -> dict:
    """{"macro_f1", "per_class": [{class, precision, recall, f1, support}], "confusion_matrix"}.

    A class never predicted has precision 0, one never present has recall 0. macro-F1 averages the
    classes that occur in the truth or the predictions (as scikit-learn does)."""
    cm = [[int(c) for c in row] for row in (counts.tolist() if hasattr(counts, "tolist") else counts)]
    per_class, f1s = [], []
    for k, row in enumerate(cm):
        tp, support, predicted = row[k], sum(row), sum(r[k] for r in cm)
        precision, recall = _ratio(tp, predicted), _ratio(tp, support)
        f1 = _ratio(2 * precision * recall, precision + recall)
        per_class.append({"class": k, "precision": precision, "recall": recall, "f1": f1,
                          "support": support})
        if support or predicted:
            f1s.append(f1)
    return {"macro_f1": _ratio(sum(f1s), len(f1s)), "per_class": per_class, "confusion_matrix": cm}
