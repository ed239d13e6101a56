"""One training run, read top to bottom: set-up (data -> model -> optimizer/schedule -> loss), then
fit -> epoch -> train / evaluate -> test of best.pt. `dlrun` builds a `Trainer` per run (resuming
it from last.pt for `dlrun resume`) and calls `fit()`, which returns the run's summary.

What the run folder gets and when: summary.json ("running") at the start and after every epoch,
metrics.csv (the csv logger), last.pt and best.pt after every epoch, summary.json with the test
metrics of best.pt at the end. Loggers and reports are callbacks (dlrun/reporting/callbacks.py)."""

import itertools
import logging
import math
import platform
import signal
import time
from contextlib import contextmanager, nullcontext

import torch
from omegaconf import DictConfig

import dlrun
from dlrun.data import iterate_batches
from dlrun.data.sampling import sample_weights
from dlrun.errors import DlrunError, RunStopped
from dlrun.inference.stats import save_data_stats
from dlrun.metrics import (
    DEFAULT_MONITOR,
    EPOCH,
    EPOCH_S,
    LR,
    SAMPLES_PER_S,
    better,
    column,
    metric_mode,
    split_column,
    task_metrics,
)
from dlrun.reporting.callbacks import build_callbacks
from dlrun.reporting.console import EpochReporter, print_summary
from dlrun.results.guard import on_signals
from dlrun.results.run_folder import RunFolder
from dlrun.training import setup
from dlrun.training.averaging import build_averaging
from dlrun.training.checkpoints import TopK
from dlrun.training.debugging import dev_run_config
from dlrun.training.device import AUTOCAST_DTYPES, select_device
from dlrun.training.distributed import device_for
from dlrun.training.distributed import setup as setup_distributed
from dlrun.training.metric_sums import MetricSums
from dlrun.training.state import RandomStreams, TrainState
from dlrun.training.time_limit import TimeLimit

log = logging.getLogger("dlrun")

EVAL_BATCH = 4096
# On a GPU the loss is read back every this many steps (and at the end of an epoch and before a
# checkpoint), not every step: a read waits for the device. On the CPU every loss is read: free there.
DEVICE_CHECK_EVERY = 32


class Diverged(Exception):
    pass


class Interrupted(Exception):
    """SIGINT/SIGTERM. `clean`: the run stopped at a batch boundary and saved last.pt."""

    def __init__(self, signum: int, clean: bool):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum, self.clean = signum, clean


class Trainer:
    def __init__(self, cfg: DictConfig, run_dir: str):
        cfg = dev_run_config(cfg)  # trainer.fast_dev_run: 1 epoch of 1 batch (debugging.py)
        self.cfg, t = cfg, cfg.trainer
        self.dist = setup_distributed(t.strategy, t.device)
        # every rank works in rank 0's run folder; only rank 0 writes there
        self.folder = RunFolder(self.dist.broadcast(run_dir), writable=self.dist.is_main)
        self.device = select_device(device_for(self.dist, t.device))
        rng = RandomStreams(t.seed, self.device, self.dist)

        self.data = setup.build_data(cfg, self.device)
        if self.dist.is_main:
            save_data_stats(self.folder.path, self.data)  # data.json: what eval/predict need
        self.sample_weights = sample_weights(cfg.dataset.sampler, self.data)  # dataset.sampler
        self.model = setup.build_model(cfg, self.data, self.device)
        self.num_params = sum(p.numel() for p in self.model.parameters())
        self.channels_last = setup.uses_channels_last(self.model, self.device)
        self.net, self.eval_net = setup.wrap_model(self.model, t, self.dist, self.device)
        if self.dist.enabled:
            torch.manual_seed(t.seed + self.dist.rank)  # same initial weights, own dropout masks
        opt = setup.build_optimization(cfg, self.model, self.data, self.device, self.dist.world)
        self.optimizer, self.schedule = opt.optimizer, opt.schedule
        self.batch_size, self.steps_per_epoch, self.max_grad_norm = (
            opt.batch_size,
            opt.steps_per_epoch,
            opt.max_grad_norm,
        )
        self.accumulation = opt.accumulation  # trainer.accumulate and limit_batches
        objective = setup.build_objective(cfg, self.model, self.data, self.device, rng.augment)
        self.criterion, self.penalty = objective.criterion, objective.penalty
        self.early_stopping, self.augment, self.mix = objective.early_stopping, objective.augment, objective.mix
        # regularization=[ema|swa]: the averaged model validation, best.pt and the test use
        self.averaging, self.schedule = build_averaging(cfg, self.model, self.schedule, self.optimizer)

        self.monitor = t.monitor if t.monitor != "auto" else DEFAULT_MONITOR[self.data.is_classification]
        if not len(self.data.val):  # trainer.val_fraction=0: no validation split; best = the last epoch
            self.monitor = column("train", split_column(self.monitor)[1])
        self.autocast_dtype = AUTOCAST_DTYPES[t.precision]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=t.precision == "fp16")
        self.check_every = 1 if self.device.type == "cpu" else DEVICE_CHECK_EVERY
        self.top_k = TopK(self.folder, t.save_top_k, self.monitor, metric_mode(self.monitor))
        self.time_limit = TimeLimit(t.max_time)
        self.save_checkpoints = not t.fast_dev_run
        self.best_checkpoint: dict | None = None  # best.pt's content, kept here when nothing is saved
        self.state = TrainState(
            {
                "model": self.model,
                "optimizer": self.optimizer,
                "schedule": self.schedule,
                "scaler": self.scaler,
                "early_stopping": self.early_stopping,
                "averaging": self.averaging,
                "top_k": self.top_k if self.top_k.k > 1 else None,
            },
            rng,
            self.dist,
        )
        self.callbacks: list = build_callbacks(cfg) if self.dist.is_main else []
        self.stop_signal: int | None = None  # set by the signal handler, in this process
        self.stopping = False  # a stop signal every rank knows of (set by check)
        self.out_of_time = False  # trainer.max_time passed, as every rank knows (set by check)
        self.profiler = None
        if t.profile and self.dist.is_main:
            from dlrun.training.profiling import StepProfiler

            self.profiler = StepProfiler(self.folder.path, self.device)

    # -- the state a run resumes ---------------------------------------------------------------
    @property
    def progress(self):
        return self.state.progress

    @property
    def step(self) -> int:
        return self.progress.step

    @property
    def epoch(self) -> int:
        return self.progress.epoch

    @property
    def rows(self) -> list[dict]:
        return self.progress.rows

    def save_last(self) -> None:
        if self.save_checkpoints:  # every rank: the RNG states are gathered
            self.folder.save_checkpoint("last", self.state.state_dict())

    def save_best(self, checkpoint: dict) -> None:
        if self.save_checkpoints:
            self.folder.save_checkpoint("best", checkpoint)
        else:
            self.best_checkpoint = {**checkpoint, "model": {k: v.clone() for k, v in checkpoint["model"].items()}}

    def load_best(self) -> dict:
        return self.load("best") if self.save_checkpoints else self.best_checkpoint

    def load(self, name: str) -> dict:
        """A checkpoint as rank 0 reads it, on every rank."""
        return self.dist.broadcast(self.folder.load_checkpoint(name, "cpu") if self.dist.is_main else None)

    def resume(self) -> None:
        """Continue from checkpoints/last.pt exactly where it was written."""
        self.state.load_state_dict(self.load("last"), str(self.folder.checkpoints / "last.pt"))
        log.info("resumed from last.pt: epoch %d, step %d", self.epoch, self.step)

    # -- fit -> epoch -> train / evaluate ------------------------------------------------------
    def fit(self) -> dict:
        t = self.cfg.trainer
        self.folder.write_summary(self.summary("running"))
        reporter = EpochReporter(t.epochs, self.accumulation.batches, t.progress, quiet=not self.dist.is_main)
        self.emit("on_fit_start")
        status, error, interrupted = "completed", None, None
        try:
            with stop_on_signals(self), reporter.running(self.epoch):
                while self.epoch < t.epochs:
                    if self.run_epoch(reporter):
                        log.info("early stopping after epoch %d", self.epoch)
                        break
                    if self.dist.agree(stop=self.stop_signal is not None)["stop"]:
                        raise Interrupted(self.stop_signal or signal.SIGTERM, clean=True)
        except Diverged as e:
            status, error = "diverged", str(e)
        except RunStopped as e:  # a callback ended the run (e.g. a search's pruner)
            status, error = e.status, str(e)
        except Interrupted as e:
            status, error, interrupted = "interrupted", str(e), e
        summary = self.summary(status, **({"error": error} if error else {}))
        if self.profiler is not None:
            self.profiler.close()
        if self.progress.best is not None and status != "interrupted":
            self.model.load_state_dict(self.load_best()["model"])  # averaged weights with ema/swa
            summary["test"] = self.evaluate(self.data.test, per_class=self.data.is_classification, net=self.eval_net)
        summary["wall_s"] = self.state.elapsed()
        self.folder.write_summary(summary)
        self.emit("on_fit_end", summary)
        if self.dist.is_main:
            print_summary(summary, str(self.folder.path))
            if t.fast_dev_run and status == "completed":
                print(
                    f"fast_dev_run: the pipeline works (1 batch of train, val and test; no checkpoints); "
                    f"run folder: {self.folder.path}"
                )
        if interrupted is not None:
            raise interrupted
        return summary

    def run_epoch(self, reporter: EpochReporter) -> bool:
        """Train and validate one epoch, record it, checkpoint. Returns True to stop early."""
        p = self.progress
        t0 = time.perf_counter()
        train = self.train_epoch(reporter)
        train_s = time.perf_counter() - t0
        samples = train.pop("count")
        if self.averaging is not None:  # swa: average this epoch in, recompute batch-norm statistics
            self.averaging.after_epoch(p.epoch + 1, self.train_inputs)
        t, has_val = self.cfg.trainer, len(self.data.val) > 0  # no val split: trainer.val_fraction=0
        validate = has_val and ((p.epoch + 1) % t.val_every == 0 or p.epoch + 1 == t.epochs)
        val = self.evaluate(self.data.val) if validate else {}
        if has_val and not validate:  # an epoch trainer.val_every skips: empty val_ columns
            val = dict.fromkeys(task_metrics(self.data.is_classification))
        if validate and not math.isfinite(val["loss"]):
            raise Diverged(
                f"validation loss became {val['loss']} after epoch {p.epoch + 1} "
                f"(step {p.step}, lr {self.schedule.lr:.3g})"
            )
        lr = self.schedule.lr  # the lr the epoch ended with, before the per-epoch scheduler step
        self.schedule.after_epoch(val.get("loss", train["loss"]))
        p.epoch += 1
        row = {
            EPOCH: p.epoch,
            LR: lr,
            **{column("train", k): v for k, v in train.items()},
            **{column("val", k): v for k, v in val.items()},
            EPOCH_S: time.perf_counter() - t0,
            SAMPLES_PER_S: samples / train_s,
        }
        p.rows.append(row)
        if self.monitor not in row:
            raise DlrunError(
                f"trainer.monitor={self.monitor} is not a metric of this run "
                f"(choose from: {', '.join(k for k in row if k.startswith('val_'))})"
            )
        value = row[self.monitor]  # None in an epoch without validation (trainer.val_every)
        if value is not None and math.isfinite(value):
            checkpoint = {"model": self.eval_weights(), "epoch": p.epoch, "val": val}
            # without a validation split every epoch is the best so far: best = the last epoch
            if not has_val or better(value, p.best and p.best["value"], metric_mode(self.monitor)):
                p.best = {"epoch": p.epoch, "value": value, "val": val}
                self.save_best(checkpoint)
            self.top_k.offer(p.epoch, value, checkpoint)
        stop = (validate or not has_val) and self.early_stopping is not None and self.early_stopping.should_stop(row)
        self.save_last()
        self.folder.write_summary(self.summary("running"))
        reporter.epoch(row)
        self.emit("on_epoch_end", row)
        return stop

    def train_epoch(self, reporter: EpochReporter) -> dict[str, float]:
        """One pass over the training split. Resumable mid-epoch: the permutation is redrawn from
        the RNG state saved at the epoch's start and the batches already done are skipped."""
        p, rng = self.progress, self.state.rng
        self.net.train()
        if p.batch_in_epoch == 0:
            rng.epoch_start, p.sums = rng.batches.get_state(), {}
        else:
            rng.batches.set_state(rng.epoch_start)
        sums = self.metric_sums(state=p.sums)
        watch = LossWatch(self.check_every, sums)
        acc = self.accumulation  # batches per epoch (trainer.limit_batches) and per optimizer step
        batches = iterate_batches(
            self.data.train,
            self.batch_size,
            rng.batches,
            start_batch=p.batch_in_epoch,
            shard=(self.dist.rank, self.dist.world),
            weights=self.sample_weights,
        )
        for x, y in itertools.islice(batches, acc.batches - p.batch_in_epoch):
            if self.augment is not None:
                x = self.augment(x)
            target = y
            if self.mix is not None:  # soft targets; y becomes the label with the larger share
                x, target, y = self.mix(x, y)
            with self.autocast():
                out = self.net(self.to_input(x))
                loss = self.loss(out, target)
                total = loss + self.penalty() if self.penalty else loss
            value = watch.add(total, p.step + 1)  # a float on the CPU, else None
            if watch.due(p.step + 1):
                self.check(watch)
            if acc.starts(p.batch_in_epoch):
                self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(total if acc.every == 1 else total * acc.scale(p.batch_in_epoch)).backward()
            p.batch_in_epoch += 1
            with torch.no_grad():
                # the loss is already a float when there is no penalty on the CPU: no tensor ops
                sums.add(value if value is not None and not self.penalty else loss, out, y)
            p.sums = sums.state()
            reporter.batch()
            if not acc.steps_after(p.batch_in_epoch):
                continue  # the next batch's gradients add to these (trainer.accumulate)
            if self.max_grad_norm:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.schedule.after_batch()
            p.step += 1
            if self.averaging is not None:
                self.averaging.after_step(p.step)
            if self.profiler is not None:
                self.profiler.step()
            every = self.cfg.trainer.checkpoint_every_steps
            if every and p.step % every == 0:
                self.check(watch)  # never a checkpoint of weights a non-finite loss has stepped
                self.save_last()
            if self.stopping or self.out_of_time:
                self.save_last()
                if self.out_of_time:
                    raise self.time_limit.stop(self.folder.path, p.epoch, p.step)
                raise Interrupted(self.stop_signal or signal.SIGTERM, clean=True)
        self.check(watch)
        p.batch_in_epoch = 0
        return sums.means(self.dist)

    def check(self, watch: "LossWatch") -> None:
        """Act on what any rank has seen since the last check, on every rank at the same step: a
        non-finite loss ends the run as diverged, a stop signal stops it after this batch."""
        flags = self.dist.agree(
            bad=watch.read(), stop=self.stop_signal is not None, late=self.time_limit.expired(self.state.elapsed())
        )
        self.stopping, self.out_of_time = flags["stop"], flags["late"]
        if flags["bad"]:
            raise Diverged(
                f"loss became non-finite at step {watch.where()} "
                f"(epoch {self.progress.epoch + 1}, lr {self.schedule.lr:.3g})"
            )

    @torch.no_grad()
    def evaluate(self, split, per_class: bool = False, net=None) -> dict:
        """Loss and metrics over `split` run through `net` (default: the averaged model once there
        is one, else the model); with `per_class` (classification), also macro_f1, per_class and
        confusion_matrix."""
        if net is None:
            net = self.averaging.averaged if self.averaging and self.averaging.active else self.eval_net
        self.model.eval()
        net.eval()
        sums = self.metric_sums(per_class=per_class)
        for x, y in iterate_batches(split, EVAL_BATCH, shard=(self.dist.rank, self.dist.world)):
            with self.autocast():
                out = net(self.to_input(x))
            sums.add(self.loss(out, y), out, y)
        metrics = sums.means(self.dist)
        metrics.pop("count")
        return metrics

    # -- helpers of the loop -------------------------------------------------------------------
    def eval_weights(self) -> dict:
        """The weights validation ran: the averaged model's with ema/swa once it averages."""
        return self.averaging.weights() if self.averaging and self.averaging.active else self.model.state_dict()

    def train_inputs(self):
        """The training inputs in order, batch by batch (swa's batch-norm statistics)."""
        return (
            self.to_input(x)
            for x, _ in iterate_batches(self.data.train, self.batch_size, shard=(self.dist.rank, self.dist.world))
        )

    def metric_sums(self, per_class: bool = False, state: dict | None = None) -> MetricSums:
        return MetricSums(self.data.num_classes, self.data.target_std, per_class, state)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.criterion(out.float(), y if self.data.is_classification else y.unsqueeze(1))

    def autocast(self):
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def to_input(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 else x

    def emit(self, event: str, *args) -> None:
        """Call `event` on every callback. One that ends the run (RunStopped, e.g. a pruner) does so
        after the others have had the event too: the epoch is still logged everywhere."""
        stop = None
        for cb in self.callbacks:
            if hasattr(cb, event):
                try:
                    getattr(cb, event)(self, *args)
                except RunStopped as e:
                    stop = stop or e
        if event == "on_epoch_end" and self.dist.enabled:  # callbacks live on rank 0: all ranks stop with it
            told = self.dist.broadcast(stop and (stop.status, str(stop)))
            stop = told and RunStopped(*told)
        if stop is not None:
            raise stop

    def summary(self, status: str, **extra) -> dict:
        best = self.progress.best
        return {
            "status": status,
            "epochs_completed": self.epoch,
            "best_epoch": best["epoch"] if best else None,
            "monitor": self.monitor,
            "num_params": self.num_params,
            "device": str(self.device) if not self.dist.enabled else f"{self.dist.world} x {self.device.type} (ddp)",
            "wall_s": self.state.elapsed(),
            "val": best["val"] if best else {},
            "test": {},
            "seed": self.cfg.trainer.seed,
            **({"averaged_weights": self.averaging.describe()} if self.averaging else {}),
            **({"top_k": self.top_k.listing()} if self.top_k.k > 1 else {}),
            "versions": {"dlrun": dlrun.__version__, "torch": torch.__version__, "python": platform.python_version()},
            **extra,
        }


class LossWatch:
    """Notices a non-finite loss without making every step wait for the device. On the CPU
    (`every` 1) each loss is read as a float, which costs nothing there and names the exact step.
    On a GPU nothing is added per step: every `every` steps the pass's running loss sum (kept on
    the device by MetricSums) is read, which is non-finite as soon as one of its terms is; the
    window of steps is named. (A non-finite l1/l2 penalty shows in the next step's loss.)"""

    def __init__(self, every: int, sums: MetricSums):
        self.every, self.sums = every, sums
        self.bad = False
        self.first = self.last = 0  # the steps added since the last read

    def add(self, loss: torch.Tensor, step: int) -> float | None:
        """Watch the loss of optimizer step number `step`; returns it as a float on the CPU."""
        self.first, self.last = (self.first or step), step
        if self.every != 1:
            return None
        value = loss.item()
        self.bad = not math.isfinite(value)
        return value

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def read(self) -> bool:
        """Whether a loss since the last read was non-finite (on a GPU: the one sync per check)."""
        if self.every != 1:
            total = self.sums.sums.get("loss")
            self.bad = torch.is_tensor(total) and not torch.isfinite(total).item()
        if not self.bad:
            self.first = 0
        return self.bad

    def where(self) -> str:
        return str(self.last) if self.first == self.last else f"{self.first}-{self.last}"


@contextmanager
def stop_on_signals(trainer: Trainer):
    """First SIGINT/SIGTERM: finish the current batch, save last.pt, stop. Second: stop at once
    (files stay intact: every write is atomic)."""

    def handler(signum, frame):
        if trainer.stop_signal is not None:
            raise Interrupted(signum, clean=False)
        trainer.stop_signal = signum

    with on_signals(handler):
        yield


def train(cfg: DictConfig, run_dir: str) -> dict:
    return Trainer(cfg, run_dir).fit()
