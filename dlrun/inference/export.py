"""Export and compress a trained model. The exported model is self-contained: it takes raw
inputs (as the dataset gives them, e.g. uint8 pixel values as floats) and standardizes them with
the training statistics itself; it returns logits (classification) or values in the target's units
(regression).

- ONNX (torch.onnx, dynamo exporter) checked with onnxruntime, or pt2 (torch.export) checked by
  loading it back: outputs on the test inputs must match PyTorch's within
  |exported - torch| <= ATOL + RTOL * |torch|. The ONNX file is one file, its weights inside
  (external_data=False: no model.onnx.data sidecar; a stale one is removed), and onnxruntime checks
  it loaded from its bytes alone, as a user who copies only model.onnx would.
- `prune`: global magnitude (L1) pruning of that fraction of all weights of linear, convolutional and
  recurrent layers (torch.nn.utils.prune.global_unstructured), made permanent. Zeros shrink the
  compressed (gzip) file, not the dense one.
- `quantize int8`: dynamic quantization (torch.ao.quantization.quantize_dynamic) of Linear, LSTM and
  GRU layers: int8 weights, activations quantized on the fly. Such a model cannot go through
  torch.export/ONNX; it is saved as a state dict (model-int8.pt, rebuilt by `load_int8`)."""

import contextlib
import gzip
import io
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from dlrun.errors import DlrunError

log = logging.getLogger("dlrun")

ATOL, RTOL = 1e-4, 1e-4
CHECK_ROWS = 512  # test inputs compared between the exported model and PyTorch
QUANTIZED = {nn.Linear, nn.LSTM, nn.GRU}
PRUNED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.LSTM, nn.GRU, nn.RNN)


class Deployable(nn.Module):
    """Training normalization + the model (+ the target's scale, for regression)."""

    def __init__(self, model: nn.Module, stats: dict):
        super().__init__()
        self.model = model
        shape = stats["input_shape"]
        bshape = [1, shape[0], *[1] * (len(shape) - 1)]
        self.register_buffer("mean", torch.tensor(stats["mean"]).view(bshape))
        self.register_buffer("std", torch.tensor(stats["std"]).view(bshape))
        self.regression = not stats["num_classes"]
        self.target_mean, self.target_std = float(stats["target_mean"]), float(stats["target_std"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model((x.float() - self.mean) / self.std)
        return out * self.target_std + self.target_mean if self.regression else out


def prune_model(model: nn.Module, amount: float) -> None:
    from torch.nn.utils import prune

    params = [
        (m, n)
        for m in model.modules()
        if isinstance(m, PRUNED)
        for n, _ in m.named_parameters(recurse=False)
        if n.startswith("weight")
    ]
    if not params:
        raise DlrunError("--prune: this model has no linear, convolutional or recurrent weights")
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
    for m, n in params:
        prune.remove(m, n)


def quantize_int8(model: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's notice that it moves to torchao
        return torch.ao.quantization.quantize_dynamic(model, QUANTIZED, dtype=torch.qint8)


def load_int8(model: nn.Module, stats: dict, path) -> nn.Module:
    """The int8 model written by `dlrun export --quantize int8`: `model` is the run's model
    (e.g. TrainedRun.build_model()), its weights replaced by the file's."""
    q = quantize_int8(Deployable(model, stats).eval())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage deprecation notices from quantized tensors
        q.load_state_dict(torch.load(path, weights_only=True))
    return q


def sizes(state: dict) -> tuple[int, int]:
    """(bytes of the saved state dict, bytes gzip-compressed)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    raw = buf.getvalue()
    return len(raw), len(gzip.compress(raw, compresslevel=6))


def nonzero_weights(model: nn.Module) -> tuple[int, int]:
    """(nonzero, total) weights and biases of the model (int8 ones dequantized; the normalization
    buffers left out)."""
    counts = [0, 0]

    def add(v) -> None:
        if isinstance(v, (tuple, list)):
            for item in v:
                add(item)
        elif isinstance(v, torch.Tensor) and (v.is_floating_point() or v.is_quantized):
            v = v.dequantize() if v.is_quantized else v
            counts[0] += int((v != 0).sum())
            counts[1] += v.numel()

    for key, value in model.state_dict().items():
        if key not in ("mean", "std") and not key.endswith(("running_mean", "running_var", "scale", "zero_point")):
            add(value)
    return counts[0], counts[1]


@contextlib.contextmanager
def quiet():
    """The exporters print progress lines and warnings: into dlrun.log, not the terminal."""
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        warnings.simplefilter("ignore")
        yield
    if out.getvalue().strip():
        log.info("exporter: %s", out.getvalue().strip())


def _onnx(model: nn.Module, x: torch.Tensor, path, dynamo: bool) -> torch.Tensor:
    import onnxruntime

    if dynamo:
        shapes = {"dynamic_shapes": {"x": {0: torch.export.Dim("batch", min=1)}}}
    else:
        shapes = {"dynamic_axes": {"x": {0: "batch"}, "y": {0: "batch"}}}
    # external_data=False: the weights inside model.onnx (torch's default for the dynamo exporter
    # writes them to a model.onnx.data sidecar, and model.onnx alone does not load)
    torch.onnx.export(
        model,
        (x,),
        str(path),
        input_names=["x"],
        output_names=["y"],
        dynamo=dynamo,
        external_data=False,
        **shapes,
    )
    # loaded from its bytes, not its path: the file alone must hold the whole model
    session = onnxruntime.InferenceSession(Path(path).read_bytes(), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"x": x.numpy()})[0])


def _within(got: torch.Tensor, expected: torch.Tensor) -> bool:
    return bool(((got - expected).abs() <= ATOL + RTOL * expected.abs()).all())


def export(model: nn.Module, x: torch.Tensor, fmt: str, path) -> tuple[float, str]:
    """Write `model` as `fmt` to `path`: (the max |difference| from PyTorch's outputs on `x`, the
    exporter used); DlrunError beyond the tolerance. ONNX: torch.onnx's dynamo exporter, and where
    its model does not match (measured: torch 2.13 translates nn.GRU wrongly, 0.05 off), the
    TorchScript exporter."""
    x = x[:CHECK_ROWS].float()
    with torch.no_grad():
        expected = model(x)
    with quiet():
        if fmt == "pt2":
            ep = torch.export.export(model, (x,), dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1)}})
            torch.export.save(ep, str(path))
            got, exporter = torch.export.load(str(path)).module()(x).detach(), "torch.export"
        else:
            try:
                import onnxruntime  # noqa: F401
            except ImportError as e:
                raise DlrunError(
                    "--format onnx needs onnx, onnxscript and onnxruntime (pip install onnx onnxscript onnxruntime)"
                ) from e
            sidecar = Path(f"{path}.data")  # an earlier export's external weights
            sidecar.unlink(missing_ok=True)
            got, exporter = _onnx(model, x, path, dynamo=True), "torch.onnx (dynamo)"
            if not _within(got, expected):
                log.info(
                    "the dynamo ONNX exporter's model differs by %.3g; trying the TorchScript exporter",
                    (got - expected).abs().max().item(),
                )
                got, exporter = _onnx(model, x, path, dynamo=False), "torch.onnx (torchscript)"
    diff = (got - expected).abs()
    if not _within(got, expected):
        raise DlrunError(
            f"{path}: the exported model's outputs differ from PyTorch's by up to "
            f"{diff.max().item():.3g} (tolerance {ATOL} + {RTOL} x |output|)"
        )
    return diff.max().item(), exporter
