"""`dlrun lr-find [--start 1e-6] [--end 1] [--steps 100] [overrides]`: the learning-rate range test
(dlrun.tuning.lr_find) on the run that `dlrun [overrides]` would train. Writes lr_find.csv,
lr_find.png and the config into its own folder under outputs/lr_find/, and prints a suggested lr
with the command that trains with it."""

import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

from dlrun.commands import Parser, check_out_folder, command, new_parser
from dlrun.errors import DlrunError


def parser() -> Parser:
    p = new_parser("lr-find", __doc__)
    p.add_argument("overrides", nargs="*", help="config overrides, as for `dlrun` (e.g. model=cnn)")
    p.add_argument("--start", type=float, default=1e-6, help="the first learning rate (default 1e-6)")
    p.add_argument("--end", type=float, default=1.0, help="the last learning rate (default 1)")
    p.add_argument("--steps", type=int, default=100, help="batches, at least 10 (default 100)")
    p.add_argument("--out", metavar="DIR", help="the folder to write into (default: a new one under outputs/lr_find/)")
    return p


def short(target: str) -> str:
    return target.rsplit(".", 1)[-1].lower().removeprefix("load_")


@command
def main(argv: list[str]) -> int:
    from dlrun.cli import CONFIG_NAME, RUN_ID, composing
    from dlrun.tuning.lr_find import check_range

    scratch = None
    try:
        args = parser().parse_intermixed_args(argv)
        check_range(args.start, args.end, args.steps)
        if args.out:
            check_out_folder(args.out, "lr-find: --out")
        with composing(None) as check:
            cfg = check(list(args.overrides), CONFIG_NAME)
        name = "-".join(short(cfg[g]._target_) for g in ("dataset", "model", "optim"))
        out = Path(args.out or f"outputs/lr_find/{time.strftime('%Y-%m-%d/%H-%M-%S')}_{name}_{RUN_ID}")
        from dlrun.training.trainer import Trainer

        scratch = tempfile.mkdtemp(prefix="dlrun-lr-find-")  # the Trainer's folder: nothing is kept
        trainer = Trainer(cfg, scratch)
        if not trainer.data.is_classification:
            raise DlrunError(
                "lr-find: the dataset is a regression task; the range test here is for "
                "classification (pick a classification dataset, e.g. dataset=mnist1d)"
            )
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    from omegaconf import OmegaConf

    from dlrun.tuning.lr_find import plot, run_range_test, write_csv

    t0 = time.perf_counter()
    test = run_range_test(trainer, args.start, args.end, args.steps)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(test, out / "lr_find.csv")
    plot(test, out / "lr_find.png", f"lr range test: {name}")
    OmegaConf.save(cfg, out / "config.yaml")
    end = "stopped when the loss blew up" if test.stopped_early else "reached the end of the range"
    print(
        f"lr range test: {len(test.lrs)} steps from {args.start:g} to {test.lrs[-1]:.3g} "
        f"({end}), {time.perf_counter() - t0:.1f}s"
    )
    print(f"wrote {out / 'lr_find.csv'} and {out / 'lr_find.png'}")
    if test.suggestion is None:
        print("no suggestion: the loss did not go down; try a lower --start or more --steps", file=sys.stderr)
        return 1
    kept = [o for o in args.overrides if not o.startswith("optim.lr=")]
    print(f"suggested lr: {test.suggestion:.3g} (steepest fall of the smoothed loss)")
    print("train with:   " + shlex.join(["dlrun", *kept, f"optim.lr={test.suggestion:.3g}"]))
    return 0
