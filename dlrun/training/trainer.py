"""One training run, top to bottom: data -> model -> optimizer/schedule -> epochs -> test.
`dlrun` builds a `Trainer` per run (resuming it from last.pt for `dlrun resume`) and calls
`fit()`, which returns the run's summary; `train(cfg, run_dir)` does both in one call."""

import logging
import math
import platform
import signal
import threading
import time
from contextlib import contextmanager, nullcontext

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

import dlrun
from dlrun.reporting.callbacks import build_callbacks
from dlrun.config.instantiate import instantiate_without
from dlrun.reporting.console import EpochReporter, print_summary
from dlrun.data import iterate_batches, prepare
from dlrun.data.augment import build_augment
from dlrun.data.core import DEFAULT_MAX_MEMORY_GB
from dlrun.data.weights import class_weights
from dlrun.training.device import AUTOCAST_DTYPES, select_device
from dlrun.training.distributed import device_for, setup
from dlrun.errors import DlrunError, RunStopped
from dlrun.training.classification import classification_report, confusion_matrix
from dlrun.training.optim import Schedule, build_optimizer
from dlrun.training.regularization import EarlyStopping, better, loss_function, metric_mode, weight_penalty
from dlrun.results.run_folder import RunFolder

log = logging.getLogger("dlrun")

# dlrun's own keys in a dataset config (not passed to the loader)
DATASET_KEYS = ("train_subset", "class_weights", "max_memory_gb", "augment")
EVAL_BATCH = 4096


class Diverged(Exception):
    pass


class Interrupted(Exception):
    """SIGINT/SIGTERM. `clean`: the run stopped at a batch boundary and saved last.pt."""

    def __init__(self, signum: int, clean: bool):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum, self.clean = signum, clean


@contextmanager
def stop_on_signals(trainer: "Trainer"):
    """First SIGINT/SIGTERM: finish the current batch, save last.pt, stop. Second: stop at once
    (files stay intact: every write is atomic)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if trainer.stop_signal is not None:
            raise Interrupted(signum, clean=False)
        trainer.stop_signal = signum

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class Trainer:
    def __init__(self, cfg: DictConfig, run_dir: str):
        self.cfg, t = cfg, cfg.trainer
        self.started = time.time()
        self.dist = setup(t.strategy, t.device)
        self.shard = (self.dist.rank, self.dist.world)
        # every rank works in rank 0's run folder; only rank 0 writes there
        self.folder = RunFolder(self.dist.broadcast(run_dir), writable=self.dist.is_main)
        self.device = select_device(device_for(self.dist, t.device))
        torch.manual_seed(t.seed)

        d = cfg.dataset
        raw = instantiate_without(d, DATASET_KEYS)
        self.data = prepare(raw, t.val_fraction, t.seed, self.device, train_subset=d.get("train_subset"),
                            max_memory_gb=d.get("max_memory_gb", DEFAULT_MAX_MEMORY_GB))
        log.info("data: %d train / %d val / %d test, %s", len(self.data.train), len(self.data.val),
                 len(self.data.test), "on the device" if self.data.in_memory else "through a DataLoader")
        self.model = instantiate(cfg.model, input_shape=self.data.input_shape,
                                 num_outputs=self.data.num_outputs, _convert_="all").to(self.device)
        self.num_params = sum(p.numel() for p in self.model.parameters())
        # channels_last speeds up 2-D convolutions on CUDA (tensor cores)
        self.channels_last = self.device.type == "cuda" and any(
            isinstance(m, torch.nn.Conv2d) for m in self.model.modules())
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.net, self.eval_net = self.wrap_model(t)
        if self.dist.enabled:
            torch.manual_seed(t.seed + self.dist.rank)  # same initial weights, own dropout masks

        shard_size = len(self.data.train) // self.dist.world
        self.batch_size = shard_size if t.batch_size == "full" else int(t.batch_size)
        self.steps_per_epoch = math.ceil(shard_size / self.batch_size)
        self.optimizer = build_optimizer(cfg.optim, self.model, self.device)
        self.schedule = Schedule(cfg.sched, self.optimizer, self.steps_per_epoch, t.epochs)

        reg = cfg.get("regularization") or DictConfig({})
        self.criterion = loss_function(reg, self.data.is_classification,
                                       class_weights(d.get("class_weights"), self.data, self.device))
        self.penalty = weight_penalty(self.model, reg)
        self.max_grad_norm = reg.grad_clip.max_norm if "grad_clip" in reg else None
        es = reg.get("early_stopping")
        self.early_stopping = EarlyStopping(es.monitor, es.mode, es.patience, es.min_delta) if es else None

        self.monitor = t.monitor if t.monitor != "auto" else (
            "val_acc" if self.data.is_classification else "val_rmse")
        self.autocast_dtype = AUTOCAST_DTYPES[t.precision]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=t.precision == "fp16")
        self.batch_rng = torch.Generator().manual_seed(t.seed)
        # its own stream (saved in last.pt), so that a resumed run draws the same shifts and flips
        self.augment_rng = torch.Generator().manual_seed(t.seed + 1)
        self.augment = build_augment(reg.get("augment"), self.data, self.augment_rng)  # training batches only

        # objects with any of on_fit_start(trainer), on_epoch_end(trainer, row),
        # on_fit_end(trainer, summary): loggers and reports plug in here
        self.callbacks: list = build_callbacks(cfg) if self.dist.is_main else []

        self.checkpoint_every = t.checkpoint_every_steps
        self.epoch = 0  # epochs completed
        self.step = 0   # optimizer steps taken
        self.best: dict | None = None  # {"epoch", "value", "val"}
        self.rows: list[dict] = []
        # the epoch in progress: batches done, its permutation's RNG state, running sums
        self.batch_in_epoch = 0
        self.epoch_rng = self.batch_rng.get_state()
        self.sums: dict = {}
        self.elapsed_before = 0.0  # wall time of earlier sessions of this run (resume)
        self.stop_signal: int | None = None

    def wrap_model(self, t: DictConfig):
        """The modules that train and evaluate: DistributedDataParallel under DDP, torch.compile with
        trainer.compile. Checkpoints always hold the plain model's weights."""
        net = self.model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(net, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        if t.compile:
            net = torch.compile(net, backend=t.compile_backend)
        # evaluation runs each rank's shard through the plain (or compiled plain) model: no
        # collectives, so ranks with a different number of eval batches cannot deadlock
        eval_net = net if not self.dist.enabled else (
            torch.compile(self.model, backend=t.compile_backend) if t.compile else self.model)
        return net, eval_net

    def to_input(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 else x

    # ------------------------------------------------------------------------------------------
    def autocast(self):
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def batch_metrics(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Sums over the batch (divided by the sample count at the end of the pass)."""
        if self.data.is_classification:
            return {"acc": (out.argmax(1) == y).sum()}
        err = (out.squeeze(1).float() - y) * self.data.target_std  # in the targets' own units
        return {"mse": err.pow(2).sum(), "mae": err.abs().sum()}

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.criterion(out.float(), y if self.data.is_classification else y.unsqueeze(1))

    def finish(self, sums: dict) -> dict[str, float]:
        """Means over every sample of the pass, on all ranks together, and that sample `count`."""
        sums = self.dist.sum(sums)
        n = sums["count"]
        metrics = {k: float(v) / n if k != "count" else int(v) for k, v in sums.items()}
        if "mse" in metrics:
            metrics["rmse"] = math.sqrt(metrics.pop("mse"))
        return metrics

    def accumulate(self, sums: dict, loss: torch.Tensor | float, out: torch.Tensor, y: torch.Tensor) -> None:
        """Add a batch to the pass's sums (`loss`: the batch mean, a tensor or a float)."""
        sums["count"] = sums.get("count", 0) + len(y)
        sums["loss"] = sums.get("loss", 0.0) + (loss.detach() if torch.is_tensor(loss) else loss) * len(y)
        for k, v in self.batch_metrics(out, y).items():
            sums[k] = sums.get(k, 0) + v

    @torch.no_grad()
    def evaluate(self, split, per_class: bool = False) -> dict:
        """Loss and metrics over `split`; with `per_class` (classification), also macro_f1,
        per_class and confusion_matrix (dlrun.metrics)."""
        self.model.eval()
        sums: dict = {}
        counts = 0
        for x, y in iterate_batches(split, EVAL_BATCH, shard=self.shard):
            with self.autocast():
                out = self.eval_net(self.to_input(x))
            self.accumulate(sums, self.loss(out, y), out, y)
            if per_class:
                counts = counts + confusion_matrix(y, out.argmax(1), self.data.num_classes)
        metrics = self.finish(sums)
        metrics.pop("count")
        if per_class:
            counts = self.dist.reduce(counts)
        return {**metrics, **classification_report(counts)} if per_class else metrics

    def train_epoch(self, reporter: EpochReporter) -> dict[str, float]:
        """One pass over the training split. Resumable mid-epoch: the permutation is redrawn from
        the RNG state saved at the epoch's start and the batches already done are skipped."""
        self.net.train()
        if self.batch_in_epoch == 0:
            self.epoch_rng, self.sums = self.batch_rng.get_state(), {}
        else:
            self.batch_rng.set_state(self.epoch_rng)
        for x, y in iterate_batches(self.data.train, self.batch_size, self.batch_rng,
                                    start_batch=self.batch_in_epoch, shard=self.shard):
            if self.augment is not None:
                x = self.augment(x)
            with self.autocast():
                out = self.net(self.to_input(x))
                loss = self.loss(out, y)
                total = loss + self.penalty() if self.penalty else loss
            value = total.item()
            if self.dist.enabled:  # every rank learns of a divergence or a signal on any rank
                flags = self.dist.sum({"bad": not math.isfinite(value), "stop": self.stop_signal is not None})
                if flags["bad"]:
                    value = math.nan
                if flags["stop"] and self.stop_signal is None:
                    self.stop_signal = signal.SIGTERM
            if not math.isfinite(value):
                raise Diverged(f"loss became {value} at step {self.step + 1} "
                               f"(epoch {self.epoch + 1}, lr {self.schedule.lr:.3g})")
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(total).backward()
            if self.max_grad_norm:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.schedule.after_batch()
            self.step += 1
            self.batch_in_epoch += 1
            with torch.no_grad():
                # the loss is already a float when there is no penalty: no tensor ops per step
                self.accumulate(self.sums, loss if self.penalty else value, out, y)
            reporter.batch()
            if self.stop_signal is not None:
                self.save_last()
                raise Interrupted(self.stop_signal, clean=True)
            if self.checkpoint_every and self.step % self.checkpoint_every == 0:
                self.save_last()
        self.batch_in_epoch = 0
        return self.finish(self.sums)

    def emit(self, event: str, *args) -> None:
        for cb in self.callbacks:
            if hasattr(cb, event):
                getattr(cb, event)(self, *args)

    # ------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "early_stopping": self.early_stopping.state_dict() if self.early_stopping else None,
            "epoch": self.epoch,
            "step": self.step,
            "best": self.best,
            "rows": self.rows,
            "batch_in_epoch": self.batch_in_epoch,
            "sums": self.sums if self.batch_in_epoch else {},
            "elapsed": self.elapsed(),
            "rng": {"torch": self.dist.gather(torch.get_rng_state()),  # one per rank
                    "batches": self.batch_rng.get_state(),
                    "epoch_start": self.epoch_rng, "augment": self.augment_rng.get_state(),
                    "cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else []},
        }

    def save_last(self) -> None:
        self.folder.save_checkpoint("last", self.state_dict())  # every rank: state_dict gathers

    def load(self, name: str) -> dict:
        """A checkpoint as rank 0 reads it, on every rank."""
        return self.dist.broadcast(self.folder.load_checkpoint(name, "cpu") if self.dist.is_main else None)

    def resume(self) -> None:
        """Continue from checkpoints/last.pt exactly where it was written."""
        state = self.load("last")
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as e:
            raise DlrunError(f"{self.folder.checkpoints / 'last.pt'} does not match this run's model: "
                             + " ".join(str(e).split("\n")[1:]).strip()) from e
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        self.scaler.load_state_dict(state["scaler"])
        if self.early_stopping is not None and state["early_stopping"] is not None:
            self.early_stopping.load_state_dict(state["early_stopping"])
        self.epoch, self.step, self.best = state["epoch"], state["step"], state["best"]
        self.rows, self.batch_in_epoch, self.sums = state["rows"], state["batch_in_epoch"], state["sums"]
        self.elapsed_before = state["elapsed"]
        rng = state["rng"]
        # one state per rank (a single tensor: a one-process run saved before DDP support)
        states = [rng["torch"]] if isinstance(rng["torch"], torch.Tensor) else rng["torch"]
        if len(states) != self.dist.world:
            raise DlrunError(f"last.pt was saved by {len(states)} process(es); resume it with as many "
                             f"(this run has {self.dist.world})")
        torch.set_rng_state(states[self.dist.rank])
        self.batch_rng.set_state(rng["batches"])
        self.epoch_rng = rng["epoch_start"]
        if "augment" in rng:
            self.augment_rng.set_state(rng["augment"])
        if self.device.type == "cuda" and rng["cuda"]:
            torch.cuda.set_rng_state_all(rng["cuda"])
        log.info("resumed from last.pt: epoch %d, step %d", self.epoch, self.step)

    def elapsed(self) -> float:
        return round(self.elapsed_before + time.time() - self.started, 3)

    def summary(self, status: str, **extra) -> dict:
        return {
            "status": status,
            "epochs_completed": self.epoch,
            "best_epoch": self.best["epoch"] if self.best else None,
            "monitor": self.monitor,
            "num_params": self.num_params,
            "device": str(self.device) if not self.dist.enabled else f"{self.dist.world} x {self.device.type} (ddp)",
            "wall_s": self.elapsed(),
            "val": self.best["val"] if self.best else {},
            "test": {},
            "seed": self.cfg.trainer.seed,
            "versions": {"dlrun": dlrun.__version__, "torch": torch.__version__,
                         "python": platform.python_version()},
            **extra,
        }

    def fit(self) -> dict:
        t = self.cfg.trainer
        self.folder.write_summary(self.summary("running"))
        reporter = EpochReporter(t.epochs, self.steps_per_epoch, t.progress, quiet=not self.dist.is_main)
        self.emit("on_fit_start")
        status, error, interrupted = "completed", None, None
        try:
            with stop_on_signals(self), reporter.running(self.epoch):
                while self.epoch < t.epochs:
                    if self.run_epoch(reporter):
                        log.info("early stopping after epoch %d", self.epoch)
                        break
                    if self.stop_signal is not None:
                        raise Interrupted(self.stop_signal, clean=True)
        except Diverged as e:
            status, error = "diverged", str(e)
        except Interrupted as e:
            status, error, interrupted = "interrupted", str(e), e
        except RunStopped as e:  # a callback ended the run, e.g. a search's pruner: status "pruned"
            status, error = e.status, str(e)
        summary = self.summary(status, **({"error": error} if error else {}))
        if self.best is not None and status != "interrupted":
            self.model.load_state_dict(self.load("best")["model"])
            summary["test"] = self.evaluate(self.data.test, per_class=self.data.is_classification)
        summary["wall_s"] = self.elapsed()
        self.folder.write_summary(summary)
        self.emit("on_fit_end", summary)
        if self.dist.is_main:
            print_summary(summary, str(self.folder.path))
        if interrupted is not None:
            raise interrupted
        return summary

    def run_epoch(self, reporter: EpochReporter) -> bool:
        """Train and validate one epoch, record it, checkpoint. Returns True to stop early."""
        t0 = time.perf_counter()
        train = self.train_epoch(reporter)
        train_s = time.perf_counter() - t0
        samples = train.pop("count")
        val = self.evaluate(self.data.val)
        if not math.isfinite(val["loss"]):
            raise Diverged(f"validation loss became {val['loss']} after epoch {self.epoch + 1} "
                           f"(step {self.step}, lr {self.schedule.lr:.3g})")
        lr = self.schedule.lr  # the lr the epoch ended with, before the per-epoch scheduler step
        self.schedule.after_epoch(val["loss"])
        self.epoch += 1
        row = {"epoch": self.epoch, "lr": lr,
               **{f"train_{k}": v for k, v in train.items()},
               **{f"val_{k}": v for k, v in val.items()},
               "epoch_s": time.perf_counter() - t0,
               "samples_per_s": samples / train_s}
        self.rows.append(row)
        self.folder.write_metrics(self.rows)
        if self.monitor not in row:
            raise DlrunError(f"trainer.monitor={self.monitor} is not a metric of this run "
                             f"(choose from: {', '.join(k for k in row if k.startswith('val_'))})")
        value = row[self.monitor]
        if math.isfinite(value) and better(value, self.best and self.best["value"], metric_mode(self.monitor)):
            self.best = {"epoch": self.epoch, "value": value, "val": val}
            self.folder.save_checkpoint("best", {"model": self.model.state_dict(), "epoch": self.epoch,
                                                 "val": val})
        stop = self.early_stopping is not None and self.early_stopping.should_stop(row)
        self.save_last()
        self.folder.write_summary(self.summary("running"))
        reporter.epoch(row)
        self.emit("on_epoch_end", row)
        return stop


def train(cfg: DictConfig, run_dir: str) -> dict:
    return Trainer(cfg, run_dir).fit()
