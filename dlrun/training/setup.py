"""The set-up steps of a run, in the order the Trainer takes them: data, model, optimizer and
schedule, loss. Each builds its part from its config group and the parts before it."""

import logging
from dataclasses import dataclass

import torch
from omegaconf import DictConfig

from dlrun.config.instantiate import instantiate_without
from dlrun.config.schema import dataset_keys
from dlrun.data import Data, prepare
from dlrun.data.augment import build_augment
from dlrun.data.mix import build_mix
from dlrun.data.weights import class_weights
from dlrun.training.accumulation import Accumulation
from dlrun.training.debugging import batches_per_epoch, limit_data
from dlrun.training.init import build_model as build_model_from
from dlrun.training.init import init_model
from dlrun.training.optim import Schedule, build_optimizer
from dlrun.training.regularization import EarlyStopping, loss_function, weight_penalty

log = logging.getLogger("dlrun")


def build_data(cfg: DictConfig, device: torch.device) -> Data:
    """The dataset's loader (its `_target_`), then dlrun's split, normalization and placement."""
    d, t = cfg.dataset, cfg.trainer
    raw = instantiate_without(d, dataset_keys())
    data = prepare(
        raw,
        t.val_fraction,
        t.seed,
        device,
        train_subset=d.train_subset,
        max_memory_gb=d.max_memory_gb,
        folds=d.folds,
        fold=d.fold,
    )
    data = limit_data(data, t)  # trainer.overfit_batches / limit_batches (debugging.py)
    log.info(
        "data: %d train / %d val / %d test, %s",
        len(data.train),
        len(data.val),
        len(data.test),
        "on the device" if data.in_memory else "through a DataLoader",
    )
    return data


def build_model(cfg: DictConfig, data: Data, device: torch.device) -> torch.nn.Module:
    """The model group's `_target_`, given the data's input shape and number of outputs, started
    from a trained run's weights with model.init_from. 2-D CNNs use channels_last on CUDA."""
    model = build_model_from(cfg.model, data.input_shape, data.num_outputs).to(device)
    init_model(model, cfg.model)  # model.init_from / model.freeze (fine-tuning)
    if uses_channels_last(model, device):
        model.to(memory_format=torch.channels_last)
    return model


def uses_channels_last(model: torch.nn.Module, device: torch.device) -> bool:
    return device.type == "cuda" and any(isinstance(m, torch.nn.Conv2d) for m in model.modules())


def wrap_model(model: torch.nn.Module, t: DictConfig, dist, device: torch.device):
    """The modules that train and evaluate: DistributedDataParallel under DDP, torch.compile with
    trainer.compile. Checkpoints always hold the plain model's weights. Evaluation runs each rank's
    shard through the plain (or compiled plain) model: no collectives, so ranks with a different
    number of eval batches cannot deadlock."""
    net = model
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    if t.compile:
        net = torch.compile(net, backend=t.compile_backend)
    eval_net = net if not dist.enabled else (torch.compile(model, backend=t.compile_backend) if t.compile else model)
    return net, eval_net


@dataclass
class Optimization:
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    batch_size: int
    steps_per_epoch: int  # optimizer steps
    max_grad_norm: float | None
    accumulation: Accumulation  # batches per epoch and per optimizer step


def build_optimization(
    cfg: DictConfig, model: torch.nn.Module, data: Data, device: torch.device, world: int
) -> Optimization:
    """The optimizer (optim group), the lr schedule (sched group, sized to the run's optimizer steps:
    trainer.accumulate batches make one) and the batch size per rank."""
    t, reg = cfg.trainer, cfg.regularization
    shard_size = len(data.train) // world
    batch_size = shard_size if t.batch_size == "full" else int(t.batch_size)
    accumulation = Accumulation(t.accumulate, batches_per_epoch(shard_size, batch_size, t.limit_batches))
    steps_per_epoch = accumulation.steps_per_epoch
    optimizer = build_optimizer(cfg.optim, model, device)
    schedule = Schedule(cfg.sched, optimizer, steps_per_epoch, t.epochs)
    max_grad_norm = reg.grad_clip.max_norm if "grad_clip" in reg else None
    return Optimization(optimizer, schedule, batch_size, steps_per_epoch, max_grad_norm, accumulation)


@dataclass
class Objective:
    criterion: torch.nn.Module
    penalty: object  # a function returning the l1/l2 term, or None
    early_stopping: EarlyStopping | None
    augment: object  # training-batch augmentation, or None
    mix: object  # mixup/cutmix of training batches (dlrun/data/mix.py), or None


def build_objective(
    cfg: DictConfig, model: torch.nn.Module, data: Data, device: torch.device, augment_rng: torch.Generator
) -> Objective:
    """What training minimizes and the regularization around it: the loss (with class weights and
    label smoothing), the l1/l2 penalty, early stopping, batch augmentation and mixing."""
    reg = cfg.regularization
    criterion = loss_function(reg, data.is_classification, class_weights(cfg.dataset.class_weights, data, device))
    es = reg.get("early_stopping")
    early_stopping = EarlyStopping(es.monitor, es.mode, es.patience, es.min_delta) if es else None
    augment = build_augment(reg.get("augment"), data, augment_rng)
    mix = build_mix(reg, data, augment_rng)
    return Objective(criterion, weight_penalty(model, reg), early_stopping, augment, mix)
