"""Learning rates at known steps: warmup, per-step and per-epoch schedules."""

import math

import pytest
import torch

from dlrun.training.optim import WARMUP_START_FACTOR, Schedule


def make(make_cfg, *overrides, steps_per_epoch=10, epochs=5, lr=1.0):
    cfg = make_cfg(*overrides, f"optim.lr={lr}")
    opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=lr)
    return Schedule(cfg.sched, opt, steps_per_epoch, epochs)


def run_epoch(s, steps=10, val_loss=1.0):
    for _ in range(steps):
        s.after_batch()
    s.after_epoch(val_loss)


def lrs_after_epochs(s, epochs):
    lrs = []
    for _ in range(epochs):
        run_epoch(s)
        lrs.append(s.lr)
    return lrs


def test_linear_warmup_on_constant(make_cfg):
    s = make(make_cfg, "sched=constant", "sched.warmup_steps=4")
    assert s.lr == pytest.approx(WARMUP_START_FACTOR)
    seen = []
    for _ in range(6):
        s.after_batch()
        seen.append(s.lr)
    step = (1 - WARMUP_START_FACTOR) / 4
    assert seen[:4] == pytest.approx([WARMUP_START_FACTOR + step * k for k in (1, 2, 3, 4)])
    assert seen[4:] == pytest.approx([1.0, 1.0])


def test_step_schedule_steps_per_epoch_not_per_batch(make_cfg):
    s = make(make_cfg, "sched=step", "sched.step_size=2", "sched.gamma=0.1")
    assert lrs_after_epochs(s, 5) == pytest.approx([1.0, 0.1, 0.1, 0.01, 0.01])


def test_multistep_and_exponential(make_cfg):
    s = make(make_cfg, "sched=multistep", "sched.milestones=[1,3]", "sched.gamma=0.5")
    assert lrs_after_epochs(s, 4) == pytest.approx([0.5, 0.5, 0.25, 0.25])
    s = make(make_cfg, "sched=exponential", "sched.gamma=0.9")
    run_epoch(s)
    run_epoch(s)
    assert s.lr == pytest.approx(0.81)


def test_cosine_spans_the_whole_run_per_step(make_cfg):
    s = make(make_cfg, "sched=cosine", steps_per_epoch=10, epochs=5)  # T_max filled in: 50 steps
    assert s.main.T_max == 50
    for _ in range(25):
        s.after_batch()
    assert s.lr == pytest.approx(0.5)
    for _ in range(25):
        s.after_batch()
    assert s.lr == pytest.approx(0.0, abs=1e-12)


def test_warmup_composes_with_cosine(make_cfg):
    s = make(make_cfg, "sched=cosine", "sched.warmup_steps=10", steps_per_epoch=10, epochs=5)
    for _ in range(10):
        s.after_batch()
    # warmup done: lr is the cosine value at step 10 of 50
    assert s.lr == pytest.approx(0.5 * (1 + math.cos(math.pi * 10 / 50)))


def test_onecycle_peaks_at_max_lr(make_cfg):
    s = make(make_cfg, "sched=onecycle", "sched.pct_start=0.2", steps_per_epoch=10, epochs=5, lr=0.4)
    assert s.main.total_steps == 50
    assert s.lr == pytest.approx(0.4 / 25)
    lrs = []
    for _ in range(49):
        s.after_batch()
        lrs.append(s.lr)
    assert max(lrs) == pytest.approx(0.4)
    assert lrs.index(max(lrs)) == 8  # peak after 0.2 * 50 - 1 steps
    assert lrs[-1] < 0.4 / 25 / 100


def test_plateau_reduces_on_stalled_val_loss(make_cfg):
    s = make(make_cfg, "sched=plateau", "sched.patience=1", "sched.factor=0.5")
    for loss in (1.0, 1.0, 1.0):
        s.after_epoch(loss)
    assert s.lr == pytest.approx(0.5)


def test_schedule_state_round_trips(make_cfg):
    a = make(make_cfg, "sched=cosine", "sched.warmup_steps=3")
    for _ in range(7):
        a.after_batch()
    b = make(make_cfg, "sched=cosine", "sched.warmup_steps=3")
    b.load_state_dict(a.state_dict())
    a.after_batch(), b.after_batch()
    assert a.state_dict()["main"]["last_epoch"] == b.state_dict()["main"]["last_epoch"] == 8
