"""The model table: layers in call order, output shapes from a real forward pass, parameter counts."""

import torch
from torch import nn

from dlrun.models import CNN, MLP, RNN
from dlrun.reporting.console import as_text
from dlrun.reporting.model_summary import model_table, summarize


def test_mlp_rows_shapes_and_params():
    model = MLP(input_shape=(40,), num_outputs=10, hidden=[16, 8])
    rows = summarize(model, torch.zeros(4, 40))
    assert [(r["layer"], r["type"]) for r in rows] == [
        ("blocks.0.0", "Linear"),
        ("blocks.0.1", "ReLU"),
        ("blocks.1.0", "Linear"),
        ("blocks.1.1", "ReLU"),
        ("out", "Linear"),
    ]
    assert [r["output"] for r in rows] == ["[4, 16]", "[4, 16]", "[4, 8]", "[4, 8]", "[4, 10]"]
    assert [r["params"] for r in rows] == [40 * 16 + 16, 0, 16 * 8 + 8, 0, 8 * 10 + 10]
    assert sum(r["params"] for r in rows) == sum(p.numel() for p in model.parameters())


def test_cnn_and_rnn_shapes():
    cnn = CNN(input_shape=(1, 40), num_outputs=10, channels=[4, 8], kernel_size=3, hidden=[16])
    rows = summarize(cnn, torch.zeros(2, 1, 40))
    convs = [r for r in rows if r["type"] == "Conv1d"]
    assert [r["output"] for r in convs] == ["[2, 4, 40]", "[2, 8, 20]"]  # 2x max pooling after block 1
    assert rows[-1]["output"] == "[2, 10]"
    assert sum(r["params"] for r in rows) == sum(p.numel() for p in cnn.parameters())

    rnn = RNN(input_shape=(1, 40), num_outputs=10, cell="gru", hidden_size=6, bidirectional=True)
    rows = summarize(rnn, torch.zeros(3, 1, 40))
    gru = next(r for r in rows if r["type"] == "GRU")
    assert gru["output"] == "[3, 40, 12], [2, 3, 6]"  # (outputs, h_n)
    assert sum(r["params"] for r in rows) == sum(p.numel() for p in rnn.parameters())


def test_shared_module_counted_once_and_model_left_as_found():
    layer = nn.Linear(5, 5)
    model = nn.Sequential(layer, nn.Tanh(), layer)
    model.train()
    rows = summarize(model, torch.zeros(2, 5))
    assert [r["params"] for r in rows] == [30, 0, 0]
    assert model.training
    assert all(not m._forward_hooks for m in model.modules())


def test_table_text_has_layers_and_total():
    model = MLP(input_shape=(40,), num_outputs=10, hidden=[16])
    text = as_text(model_table(summarize(model, torch.zeros(4, 40)), model))
    assert "blocks.0.0" in text and "Linear" in text and "[4, 16]" in text
    total = sum(p.numel() for p in model.parameters())
    assert any(line.split()[:1] == ["total"] and line.split()[-1] == f"{total:,}" for line in text.splitlines())
