"""dlrun's Hydra sweeper for `hparams_search=optuna` (conf/hydra/sweeper/optuna.yaml): Optuna's
ask-and-tell interface over Hydra's launchers. Each batch of `n_jobs` trials is asked from the
study, launched as ordinary runs (job number = trial number, so run folder `7_...` is trial 7),
and told what became of them:

    completed -> its value (the run's best monitored val metric)
    diverged  -> the worst value (-inf when maximizing, +inf when minimizing)
    pruned    -> PRUNED (the run stopped itself: dlrun.tuning.pruning)
    anything else (failed, a crashed job) -> FAIL; the search goes on

The study is a journal file in the sweep folder (dlrun.tuning.study): running the same command
with the same hydra.sweep.dir continues it; a trial that a stopped search left running is run
again first, from the start, as the same trial in the same run folder. Hydra imports every module under hydra_plugins at
start-up, so Optuna is imported only when a search runs."""

import json
import logging
from pathlib import Path
from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("dlrun")


class DlrunOptunaSweeper(Sweeper):
    def __init__(
        self,
        sampler: DictConfig,
        pruner: DictConfig,
        direction: str,
        study_name: str,
        n_trials: int,
        n_jobs: int,
        params: DictConfig | None = None,
    ) -> None:
        self.sampler_cfg, self.pruner_cfg = sampler, pruner
        self.direction, self.study_name = direction, study_name
        if n_jobs < 0:  # joblib's -1: one job per core, -2: one fewer, ...
            from dlrun.results.sweep import available_cores

            n_jobs = available_cores() + 1 + n_jobs
        self.n_trials, self.n_jobs = int(n_trials), max(1, int(n_jobs))
        self.params = OmegaConf.to_container(params, resolve=True) if params else {}
        self.config: DictConfig | None = None
        self.launcher = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        from dlrun.tuning import study as studies
        from dlrun.tuning.space import n_grid_points, parse_space

        space = parse_space(self.params, arguments)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        n_trials, extra = self.n_trials, {}
        if self.sampler_cfg.get("_target_", "").endswith("GridSampler"):
            extra["search_space"] = space.grid()
            n_trials = min(n_trials, n_grid_points(extra["search_space"]))
        pruner = studies.build(self.pruner_cfg)
        study = studies.open_study(sweep_dir, self.study_name, self.direction, pruner=pruner)
        studies.record_search(study, space.lines)  # a later command must search the same (dlrun.tuning.check)
        # a continued study draws on from seed + its trials so far, not the first trials' numbers again
        if self.sampler_cfg.get("seed") is not None and study.trials:
            extra["seed"] = int(self.sampler_cfg.seed) + len(study.trials)
        study.sampler = sampler = studies.build(self.sampler_cfg, **extra)
        rerun = studies.left_running(study)
        done = len(studies.counted(study))
        log.info(f"Study name: {self.study_name}, Storage: {sweep_dir / studies.STUDY_FILE}")
        log.info(
            f"Sampler: {type(sampler).__name__}, Pruner: {type(pruner).__name__}, Directions: ['{self.direction}']"
        )
        if done or rerun:
            log.info(
                f"continuing the study: {done} of {n_trials} trials done"
                + (f"; run again from the start: interrupted trial(s) {[t.number for t in rerun]}" if rerun else "")
            )

        returns = []
        while done < n_trials:
            k = min(self.n_jobs, n_trials - done)
            trials, rerun = rerun[:k], rerun[k:]
            trials += [study.ask(space.distributions) for _ in range(k - len(trials))]
            returns += self.launch(trials, space)
            for trial, ret in zip(trials, returns[-len(trials) :]):
                self.tell(study, trial, ret, sweep_dir)
            done += len(trials)
            studies.write_results(study, sweep_dir)
        results = studies.write_results(study, sweep_dir)
        if results:
            log.info(
                f"Best trial {results['best_trial']}: {self.direction[:3]} value "
                f"{results['best_value']} with {results['best_params']} ({results['best_run_dir']})"
            )
        return returns

    def launch(self, trials: list, space) -> list:
        """Job number = trial number (consecutive within a batch unless another process asked)."""
        numbers = [t.number for t in trials]
        batches = [trials] if numbers == list(range(numbers[0], numbers[0] + len(numbers))) else [[t] for t in trials]
        returns = []
        for batch in batches:
            overrides = [space.overrides(t.params) for t in batch]
            self.validate_batch_is_legal(overrides)
            returns += self.launcher.launch(overrides, initial_job_idx=batch[0].number)
        return returns

    def tell(self, study, trial, ret, sweep_dir: Path) -> None:
        from optuna.trial import TrialState

        from dlrun.tuning.study import RUN_DIR

        run_dir, status, value = None, "failed", None
        try:
            value = ret.return_value  # raises what the job raised
            run_dir = Path(ret.hydra_cfg.hydra.runtime.output_dir)
            status = json.loads((run_dir / "summary.json").read_text()).get("status", "failed")
        except Exception as e:  # a crashed job: recorded as failed, the search goes on
            log.warning(f"trial {trial.number} failed: {e}")
        if run_dir is not None:
            trial.set_user_attr(
                RUN_DIR,
                str(
                    run_dir.relative_to(sweep_dir.resolve()) if run_dir.is_relative_to(sweep_dir.resolve()) else run_dir
                ),
            )
        trial.set_user_attr("status", status)
        if status in ("completed", "diverged") and value is not None:
            state, values = TrialState.COMPLETE, value
        elif status == "pruned":
            state, values = TrialState.PRUNED, None
        else:
            state, values = TrialState.FAIL, None
        try:
            study.tell(trial, values, state=state)
        except RuntimeError as e:  # the grid sampler stops the study when its grid is done
            if "Study.stop" not in str(e):
                raise
        shown = f" {values}" if values is not None else ""
        log.info(f"trial {trial.number}: {status}{shown} {trial.params}")
