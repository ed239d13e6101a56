"""The plots of a search (`dlrun report SWEEP_DIR`), drawn by Optuna's matplotlib visualizations
from the study in the sweep folder."""

from pathlib import Path

PLOTS = {  # file name -> optuna.visualization.matplotlib function, and how many complete trials it needs
    "optimization_history.png": ("plot_optimization_history", 1),
    "intermediate_values.png": ("plot_intermediate_values", 1),
    "param_importances.png": ("plot_param_importances", 2),
    "parallel_coordinate.png": ("plot_parallel_coordinate", 1),
    "slice.png": ("plot_slice", 1),
}


def write_plots(study, sweep_dir: Path) -> tuple[list[Path], list[str]]:
    """The PNGs written, and a note for each plot that could not be drawn (too few trials)."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as ovm
    from optuna.trial import TrialState

    complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    written, skipped = [], []
    for name, (function, needed) in PLOTS.items():
        if complete < needed:
            skipped.append(f"{name}: needs {needed} completed trials, the study has {complete}")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "plot_x is experimental"
            try:
                ax = getattr(ovm, function)(study)
            except Exception as e:  # e.g. importances of a space with one value per parameter
                skipped.append(f"{name}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
                continue
        figure = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
        figure.savefig(sweep_dir / name, dpi=100, bbox_inches="tight")
        plt.close(figure)
        written.append(sweep_dir / name)
    return written, skipped
