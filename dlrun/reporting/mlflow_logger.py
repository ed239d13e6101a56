"""`logger=[csv,mlflow]`: the run in an MLflow tracking store, with MLflow's own client (the
`mlflow-skinny` package; no server). Default store: the folder outputs/mlruns (an absolute path
made from the working directory); `logger.mlflow.tracking_uri` names another (any MLflow URI,
e.g. a folder, sqlite:///mlflow.db with the full `mlflow`, or http://server:5000).

- at the start: the params (the flattened config and the group choices, as TensorBoard's HParams
  get them) and tags naming the run folder;
- after each epoch: the metrics.csv row (step = epoch; a value a row lacks, e.g. val_* in an epoch
  trainer.val_every skips, is not logged);
- at the end: the test metrics (test_acc, ...), summary.json and curves.png as artifacts, and the
  run's end status (completed: FINISHED; interrupted: KILLED; diverged, pruned, failed: FAILED).

Grouping: a single run goes to the experiment `dlrun`; every run of a sweep goes to one experiment
named after the sweep folder (`dlrun sweep <sweep dir>`), each MLflow run named after its run
folder. `logger.mlflow.experiment` overrides both. A resumed run continues its own MLflow run:
the run's id and the epochs already logged are kept in mlflow.json in the run folder."""

import json
import os
from pathlib import Path

from dlrun.reporting.tensorboard import _hydra_choices, flat_hparams
from dlrun.results.run_folder import atomic_write

STATE = "mlflow.json"
DEFAULT_STORE = "outputs/mlruns"
END_STATUS = {"completed": "FINISHED", "interrupted": "KILLED"}  # anything else: FAILED


def store_uri(tracking_uri: str | None) -> str:
    uri = tracking_uri or DEFAULT_STORE
    if "://" in uri or uri.startswith("file:"):
        return uri
    return Path(uri).resolve().as_uri()  # a folder


def names(run_dir: Path) -> tuple[str, str]:
    """(experiment, run name): `dlrun` and the run folder's name for a single run; for a sweep's
    run, one experiment per sweep named after its folder, and the run's path inside it."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        sweep = Path(HydraConfig.get().sweep.dir)
        here, top = run_dir.resolve(), sweep.resolve()
        return f"dlrun sweep {sweep}", str(here.relative_to(top) if here.is_relative_to(top) else run_dir.name)
    return "dlrun", run_dir.name


class MLflowLogger:
    def __init__(self, tracking_uri: str | None = None, experiment: str | None = None):
        self.uri = store_uri(tracking_uri)
        self.experiment = experiment
        self.client = self.run_id = None
        self.logged = 0  # epochs logged so far

    def on_fit_start(self, trainer) -> None:
        if self.uri.startswith("file:"):  # MLflow 3 asks for an opt-in to its folder store
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=self.uri)
        self.path = Path(trainer.folder.path)
        state = self.path / STATE
        if state.exists():  # a resumed run: the same MLflow run
            saved = json.loads(state.read_text())
            self.run_id, self.logged = saved["run_id"], saved["epochs_logged"]
            self.client.update_run(self.run_id, status="RUNNING")
        else:
            experiment, run_name = names(self.path)
            experiment = self.experiment or experiment
            found = self.client.get_experiment_by_name(experiment)
            experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
            run = self.client.create_run(
                experiment_id, run_name=run_name, tags={"dlrun.run_dir": str(self.path.resolve())}
            )
            self.run_id = run.info.run_id
            self.log(params=flat_hparams(trainer.cfg, _hydra_choices()))
            self.save_state()
        self.on_epoch_end(trainer, None)  # epochs last.pt holds but the last session did not log

    def on_epoch_end(self, trainer, row) -> None:
        for r in trainer.rows[self.logged :]:
            self.log(metrics={k: v for k, v in r.items() if k != "epoch" and v is not None}, step=int(r["epoch"]))
        if len(trainer.rows) > self.logged:
            self.logged = len(trainer.rows)
            self.save_state()

    def on_fit_end(self, trainer, summary: dict) -> None:
        test = {
            f"test_{k}": v
            for k, v in (summary.get("test") or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        if test:
            self.log(metrics=test, step=trainer.epoch)
        for name in ("summary.json", "curves.png"):
            if (self.path / name).exists():
                self.client.log_artifact(self.run_id, str(self.path / name))
        self.client.set_terminated(self.run_id, status=END_STATUS.get(summary["status"], "FAILED"))

    def log(self, metrics: dict | None = None, params: dict | None = None, step: int = 0) -> None:
        import time

        from mlflow.entities import Metric, Param

        now = int(time.time() * 1000)
        self.client.log_batch(
            self.run_id,
            metrics=[Metric(k, float(v), now, step) for k, v in (metrics or {}).items()],
            params=[Param(k, str(v)[:6000]) for k, v in (params or {}).items()],
        )

    def save_state(self) -> None:
        text = json.dumps({"tracking_uri": self.uri, "run_id": self.run_id, "epochs_logged": self.logged})
        atomic_write(self.path / STATE, lambda f: f.write(text.encode()))
