"""`dlrun predict RUN_DIR INPUT --out preds.csv`: a trained run's predictions for INPUT (a CSV
table, an NPZ with `x`, or a folder of images), one row per input: the predicted class and each
class's probability, or the predicted value for regression."""

import csv
import io
import sys

from dlrun.commands import Parser, add_trained_run, check_out_file, command, new_parser
from dlrun.errors import DlrunError


def parser() -> Parser:
    p = new_parser("predict", __doc__)
    add_trained_run(p)
    p.add_argument(
        "input",
        metavar="INPUT",
        help="a .csv (the training table's columns; the target may be absent), "
        "an .npz (array x or x_test) or a folder of images",
    )
    p.add_argument("--out", metavar="FILE.csv", help="where to write the predictions (default: stdout)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, auto, ...")
    return p


@command
def main(argv: list[str]) -> int | None:
    args = parser().parse_args(argv)
    out = check_out_file(args.out, "predict: --out", "preds.csv") if args.out else None
    from dlrun.inference.evaluate import outputs, predictions
    from dlrun.inference.predict import read_inputs
    from dlrun.inference.run import load_run
    from dlrun.results.run_folder import atomic_write
    from dlrun.training.device import select_device

    device = select_device(args.device)
    run = load_run(args.run_dir, args.checkpoint, args.trust_code)
    x, ids, id_name = read_inputs(args.input, run.stats)
    if list(x.shape[1:]) != run.stats["input_shape"]:
        raise DlrunError(
            f"{args.input}: inputs are {tuple(x.shape[1:])}, the model of {args.run_dir} "
            f"takes {tuple(run.stats['input_shape'])}"
        )
    pred, probs = predictions(outputs(run.build_model(device), x, run.stats, device), run.stats)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if probs is None:
        w.writerow([id_name, "value"])
        w.writerows([i, f"{v:.6g}"] for i, v in zip(ids, pred.tolist()))
    else:
        names = run.class_names
        w.writerow([id_name, "pred", *(f"p_{c}" for c in names)])
        w.writerows([i, names[k], *(f"{q:.4f}" for q in row)] for i, k, row in zip(ids, pred.tolist(), probs.tolist()))
    if out:
        atomic_write(out, lambda f: f.write(buf.getvalue().encode()))
        print(f"wrote {len(ids)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(buf.getvalue())
