"""`dlrun report SWEEP_DIR`: a search's plots (optimization history, intermediate values, parameter
importances, parallel coordinates, slices) as PNGs in the sweep folder, and its best trial: value,
parameters and run folder."""

from pathlib import Path

from dlrun.commands import Parser, command, new_parser
from dlrun.errors import DlrunError


def parser() -> Parser:
    p = new_parser("report", __doc__)
    p.add_argument("sweep_dir", metavar="SWEEP_DIR", help="the sweep folder of a search (hparams_search=optuna)")
    return p


def load_study(sweep_dir: Path):
    import optuna

    from dlrun.tuning.study import STUDY_FILE, quiet_optuna, storage

    if not sweep_dir.is_dir():
        raise DlrunError(f"report: {sweep_dir} is not a folder")
    if not (sweep_dir / STUDY_FILE).is_file():
        raise DlrunError(
            f"report: {sweep_dir} has no {STUDY_FILE}; is it the sweep folder of a "
            "search (dlrun -m hparams_search=optuna ...)?"
        )
    quiet_optuna()
    st = storage(sweep_dir)
    names = [s.study_name for s in optuna.get_all_study_summaries(st, include_best_trial=False)]
    if not names:
        raise DlrunError(f"report: {sweep_dir / STUDY_FILE} holds no study")
    return optuna.load_study(study_name=names[-1], storage=st)


@command
def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    sweep_dir = Path(args.sweep_dir)
    study = load_study(sweep_dir)
    from optuna.trial import TrialState

    from dlrun.tuning.report import write_plots
    from dlrun.tuning.study import RUN_DIR, write_results

    states = [t.state for t in study.get_trials(deepcopy=False)]
    counts = ", ".join(f"{states.count(s)} {s.name.lower()}" for s in TrialState if states.count(s))
    print(
        f"study {study.study_name} in {sweep_dir}: {len(states)} trials ({counts or 'none'}), "
        f"direction {study.direction.name.lower()}"
    )
    written, skipped = write_plots(study, sweep_dir)
    for path in written:
        print(f"wrote {path}")
    for note in skipped:
        print(f"skipped {note}")
    results = write_results(study, sweep_dir)
    if results is None:
        print("no completed trial yet")
        return 0
    best = study.best_trial
    print(f"best trial {best.number}: value {best.value:.6g}")
    for key, value in best.params.items():
        print(f"  {key}={value}")
    print(f"run folder: {sweep_dir / best.user_attrs.get(RUN_DIR, '?')}")
    return 0
