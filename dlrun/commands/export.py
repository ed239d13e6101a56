"""`dlrun export RUN_DIR --format onnx|pt2 [--prune 0.5] [--quantize int8]`: write a trained run's
model (best.pt) to RUN_DIR/export/, checked against PyTorch's outputs on the test inputs, optionally
pruned and/or quantized; a table (and export/report-FORMAT.json, one per format, so an ONNX and a
pt2 export keep their own) compares size and test accuracy before and after. model.onnx is one
file, its weights inside."""

import argparse
import json
import os
import sys

from dlrun.commands import Parser, add_trained_run, command, new_parser


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in (0, 1), got {text!r}")
    return v


def parser() -> Parser:
    p = new_parser("export", __doc__)
    add_trained_run(p)
    p.add_argument(
        "--format",
        choices=["onnx", "pt2"],
        default="onnx",
        help="onnx (checked with onnxruntime) or pt2 (torch.export; checked by loading it back)",
    )
    p.add_argument(
        "--prune",
        type=_fraction,
        metavar="FRACTION",
        help="zero this fraction of all weights, smallest magnitude first (global L1 pruning)",
    )
    p.add_argument("--quantize", choices=["int8"], help="dynamic int8 quantization of Linear/LSTM/GRU layers")
    return p


@command
def main(argv: list[str]) -> int | None:
    args = parser().parse_args(argv)
    import torch

    from dlrun.inference import export as ex
    from dlrun.inference.evaluate import metrics
    from dlrun.inference.run import compose_dataset, load_run, load_test_data
    from dlrun.reporting.console import console
    from dlrun.results.run_folder import atomic_write

    torch.manual_seed(0)
    run = load_run(args.run_dir, args.checkpoint, args.trust_code)
    x, y = load_test_data(run, compose_dataset(run, [], args.trust_code))
    x = torch.as_tensor(x).float()
    model = ex.Deployable(run.build_model(), run.stats).eval()
    score = "acc" if run.classification else "rmse"

    def row(name: str, m, file: str | None, counts: tuple[int, int] | None = None) -> dict:
        with torch.no_grad():
            out = torch.cat([m(x[i : i + 4096]) for i in range(0, len(x), 4096)])
        if not run.classification:  # back to standardized outputs, as metrics() expects
            out = (out - run.stats["target_mean"]) / run.stats["target_std"]
        size, gz = ex.sizes(m.state_dict())
        nonzero, total = counts or ex.nonzero_weights(m)
        return {
            "model": name,
            "file": file,
            "size_bytes": size,
            "gzip_bytes": gz,
            "nonzero_params": nonzero,
            "params": total,
            f"test_{score}": metrics(out, y, run.stats)[score],
        }

    folder = run.path / "export"
    folder.mkdir(exist_ok=True)
    rows = [row("original", model, str(run.checkpoint))]
    if args.prune:
        ex.prune_model(model, args.prune)
        rows.append(row(f"pruned {args.prune:.0%}", model, None))
    path = folder / f"model.{args.format}"
    max_diff, exporter = ex.export(model, x, args.format, path)
    rows[-1]["file"] = str(path)
    if args.quantize:
        q = ex.quantize_int8(model)
        qpath = folder / "model-int8.pt"
        atomic_write(qpath, lambda f: torch.save(q.state_dict(), f))
        # symmetric int8 keeps zeros zero: the counts are the float model's (packed recurrent
        # weights are not in the state dict as tensors)
        counts = rows[-1]["nonzero_params"], rows[-1]["params"]
        rows.append(row(("pruned + " if args.prune else "") + "int8", q, str(qpath), counts))
    report = {
        "run": str(run.path),
        "checkpoint": run.checkpoint.name,
        "format": args.format,
        "exporter": exporter,
        "check": {
            "inputs": min(len(x), ex.CHECK_ROWS),
            "max_abs_diff": max_diff,
            "tolerance": f"|exported - torch| <= {ex.ATOL} + {ex.RTOL} * |torch|",
        },
        "prune": args.prune,
        "quantize": args.quantize,
        "test_samples": len(y),
        "models": rows,
    }
    text = json.dumps(report, indent=2) + "\n"
    report_path = folder / f"report-{args.format}.json"  # one per format: each export's survives
    atomic_write(report_path, lambda f: f.write(text.encode()))
    console.print(table(rows, score))
    if args.quantize:
        print(f"wrote {qpath} (load it with dlrun.inference.export.load_int8)")
    alone = "one file, weights inside; " if args.format == "onnx" else ""
    print(
        f"wrote {path} ({alone}outputs match PyTorch on {report['check']['inputs']} test inputs: "
        f"max |diff| {max_diff:.2g}, tolerance {ex.ATOL} + {ex.RTOL}·|y|)"
    )
    print(f"wrote {report_path}")


def table(rows: list[dict], score: str):
    from rich.table import Table

    t = Table(title="export", title_justify="left", box=None, pad_edge=False)
    for name in ("model", "size", "gzip", "nonzero params", f"test {score}", "file"):
        t.add_column(name, justify="left" if name in ("model", "file") else "right")
    for r in rows:
        t.add_row(
            r["model"],
            f"{r['size_bytes'] / 1024:,.1f} KiB",
            f"{r['gzip_bytes'] / 1024:,.1f} KiB",
            f"{r['nonzero_params']:,}/{r['params']:,}",
            f"{r[f'test_{score}']:.4f}",
            os.path.basename(r["file"]) if r["file"] else "",
        )
    return t


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
