"""Per-class metrics and macro-F1 against a confusion matrix worked out by hand."""

import pytest
import torch

from dlrun.metrics import classification_report
from dlrun.training.metric_sums import confusion_matrix

# rows: true class, columns: predicted class
HAND = [[5, 1, 0], [2, 3, 1], [0, 0, 4]]


def test_report_matches_hand_computed_values():
    r = classification_report(HAND)
    # class 0: tp 5, 6 true, 7 predicted; class 1: tp 3, 6 true, 4 predicted; class 2: tp 4, 4 true, 5 predicted
    expected = [(5 / 7, 5 / 6, 10 / 13, 6), (3 / 4, 1 / 2, 6 / 10, 6), (4 / 5, 1.0, 8 / 9, 4)]
    for c, (p, rec, f1, n) in zip(r["per_class"], expected):
        assert c["precision"] == pytest.approx(p)
        assert c["recall"] == pytest.approx(rec)
        assert c["f1"] == pytest.approx(f1)
        assert c["support"] == n
    assert [c["class"] for c in r["per_class"]] == [0, 1, 2]
    assert r["macro_f1"] == pytest.approx((10 / 13 + 6 / 10 + 8 / 9) / 3)
    assert r["confusion_matrix"] == HAND


def test_confusion_matrix_counts_true_rows_predicted_columns():
    y = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2])
    pred = torch.tensor([0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2])
    cm = confusion_matrix(y, pred, 3)
    assert cm.tolist() == HAND
    assert classification_report(cm)["confusion_matrix"] == HAND  # tensors are accepted too


def test_classes_never_predicted_or_absent():
    # class 1 is never predicted (precision 0), class 2 neither occurs nor is predicted
    r = classification_report([[3, 0, 0], [2, 0, 0], [0, 0, 0]])
    c0, c1, c2 = r["per_class"]
    assert (c1["precision"], c1["recall"], c1["f1"]) == (0.0, 0.0, 0.0)
    assert c2["support"] == 0 and c2["f1"] == 0.0
    # macro over the classes that occur in truth or predictions (0 and 1), as scikit-learn does
    assert r["macro_f1"] == pytest.approx(c0["f1"] / 2)


def test_agrees_with_scikit_learn():
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 5, (500,), generator=g)
    pred = torch.where(torch.rand(500, generator=g) < 0.6, y, torch.randint(0, 5, (500,), generator=g))
    r = classification_report(confusion_matrix(y, pred, 5))
    p, rec, f1, n = precision_recall_fscore_support(y.numpy(), pred.numpy(), labels=range(5))
    assert [c["precision"] for c in r["per_class"]] == pytest.approx(list(p))
    assert [c["recall"] for c in r["per_class"]] == pytest.approx(list(rec))
    assert [c["f1"] for c in r["per_class"]] == pytest.approx(list(f1))
    assert [c["support"] for c in r["per_class"]] == list(n)
    assert r["macro_f1"] == pytest.approx(f1_score(y.numpy(), pred.numpy(), average="macro"))


def test_terminal_table():
    from dlrun.reporting.console import as_text, per_class_table

    lines = as_text(per_class_table(classification_report(HAND), width=80)).splitlines()
    assert lines[1].split() == ["class", "precision", "recall", "f1", "n", "0", "1", "2"]
    assert lines[3].split() == ["1", "0.750", "0.500", "0.600", "6", "2", "3", "1"]  # metrics, then the matrix row
    assert lines[-1].startswith(f"macro-F1 {(10 / 13 + 6 / 10 + 8 / 9) / 3:.4f}")


def test_terminal_table_many_or_large_classes():
    from dlrun.reporting.console import as_text, per_class_table

    big = [[1000 if i == j else 7 for j in range(10)] for i in range(10)]
    text = as_text(per_class_table(classification_report(big), width=60), width=60)
    assert text.splitlines()[1].split() == ["class", "precision", "recall", "f1", "n"]  # no room for the matrix
    many = [[5 if i == j else (1 if j == (i + 1) % 30 and i < 10 else 0) for j in range(30)] for i in range(30)]
    lines = as_text(per_class_table(classification_report(many), width=200)).splitlines()
    assert len(lines) == 2 + 10 + 1  # title, header, the 10 lowest-F1 classes, the note
    assert "the 10 classes of 30 with the lowest F1" in lines[-1]
