"""`dlrun eval RUN_DIR [overrides]`: test a trained run's best.pt (or --checkpoint last) on its
own test split, or on the test split of any dataset the overrides name (dataset=npz
dataset.path=other.npz, dataset.test_path=new.csv, ...) with the same input shape and classes.
Prints the same per-class table as training and writes eval/<name>.json in the run folder."""

import json
import sys

from dlrun.commands import Parser, add_trained_run, command, new_parser


def parser() -> Parser:
    p = new_parser("eval", __doc__)
    add_trained_run(p)
    p.add_argument("overrides", nargs="*", help="dataset overrides, as for training (e.g. dataset.test_path=new.csv)")
    p.add_argument("--name", help="the result's name: eval/NAME.json (default: <dataset>-<checkpoint>)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, auto, ...")
    return p


def default_name(run, overrides: list[str], checkpoint: str) -> str:
    choice = next((o.split("=", 1)[1] for o in overrides if o.startswith("dataset=")), None)
    if choice is None:
        from omegaconf import OmegaConf

        hydra_yaml = run.path / ".hydra" / "hydra.yaml"
        choice = (
            OmegaConf.load(hydra_yaml).hydra.runtime.choices.get("dataset") if hydra_yaml.is_file() else None
        ) or "data"
    if any(o.startswith("dataset.") for o in overrides):
        import hashlib

        choice += "-" + hashlib.sha1(" ".join(sorted(overrides)).encode()).hexdigest()[:6]
    return f"{choice}-{checkpoint}"


@command
def main(argv: list[str]) -> int | None:
    args = parser().parse_args(argv)
    from dlrun.inference.evaluate import metrics, outputs
    from dlrun.inference.run import compose_dataset, load_run, load_test_data
    from dlrun.reporting.console import console, per_class_table, scalars, show
    from dlrun.results.run_folder import atomic_write
    from dlrun.training.device import select_device

    device = select_device(args.device)
    run = load_run(args.run_dir, args.checkpoint, args.trust_code)
    dataset = compose_dataset(run, args.overrides, args.trust_code)
    x, y = load_test_data(run, dataset)
    model = run.build_model(device)
    result = metrics(outputs(model, x, run.stats, device), y, run.stats)
    name = args.name or default_name(run, args.overrides, args.checkpoint)
    if result.get("per_class"):
        show(per_class_table(result, console.width))
    print(
        f"test ({len(y)} samples, {run.checkpoint.name}): "
        + ", ".join(f"{k} {v:.4f}" for k, v in scalars(result).items())
    )
    out = run.path / "eval" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    from omegaconf import OmegaConf

    record = {
        "run": str(run.path),
        "checkpoint": run.checkpoint.name,
        "overrides": args.overrides,
        "dataset": OmegaConf.to_container(dataset, resolve=True),
        "n": len(y),
        "test": result,
    }
    text = json.dumps(record, indent=2, default=str) + "\n"
    atomic_write(out, lambda f: f.write(text.encode()))
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
