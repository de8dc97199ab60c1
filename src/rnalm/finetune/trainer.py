"""The training loop: AdamW, warmup schedule, gradient clipping, early stopping, checkpoints, resume.

It writes what Hugging Face's ``Trainer`` writes, so tools that read those files work unchanged:
``checkpoint-<step>/`` directories with ``model.safetensors``, ``optimizer.pt``, ``scheduler.pt``,
``rng_state.pth`` and ``trainer_state.json`` (``log_history`` with the training loss every
``logging_steps`` and one evaluation per epoch, ``best_metric``, ``best_model_checkpoint``,
``global_step`` ...). The best and the last checkpoint are kept; an interrupted run resumes from
the last one and, on CPU with ``deterministic``, ends with exactly the weights an uninterrupted
run would have: batch order is a function of (seed, epoch) and the dropout RNG is restored.
Forward passes run in the run's type (``train.dtype``, :mod:`rnalm.precision`): under bf16
autocast the matrix products compute in bfloat16, while the loss, the weights, the gradients and
the optimizer state stay float32, so the same guarantees hold in both types.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
from safetensors.torch import save_file

from rnalm.errors import CheckpointError
from rnalm.io.arrayfiles import read_safetensors
from rnalm.io.atomic import atomic_write_text
from rnalm.io.progress import Progress, summary
from rnalm.io.safe_torch import safe_torch_load
from rnalm.metrics import greater_is_better
from rnalm.precision import Precision, resolve
from rnalm.runs.config import TrainConfig
from rnalm.runs.errors import RunDirError
from rnalm.runs.model import FeatureSource, SeqDataset, SequenceModel, make_collate, to_device
from rnalm.runs.rundir import STATE_FILE, WEIGHTS_FILE
from rnalm.runs.task_base import LabelState, Task
from rnalm.training.batching import shuffled_batches
from rnalm.training.schedule import lr_factor


@dataclass
class TrainerState:
    """The fields of Hugging Face's ``TrainerState`` (same names, same JSON layout)."""

    epoch: float = 0.0
    global_step: int = 0
    max_steps: int = 0
    logging_steps: int = 10
    eval_steps: int = 0
    save_steps: int = 0
    train_batch_size: Optional[int] = None
    num_train_epochs: int = 0
    num_input_tokens_seen: int = 0
    total_flos: float = 0.0
    log_history: list = field(default_factory=list)
    best_metric: Optional[float] = None
    best_global_step: Optional[int] = None
    best_model_checkpoint: Optional[str] = None
    is_local_process_zero: bool = True
    is_world_process_zero: bool = True
    is_hyper_param_search: bool = False
    trial_name: Optional[str] = None
    trial_params: Optional[dict] = None
    stateful_callbacks: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def save(self, path: Path) -> None:
        atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> "TrainerState":
        try:
            d = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise RunDirError(f"{path}: cannot read trainer state: {exc}") from exc
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class TrainOutcome:
    state: TrainerState
    best_state: dict[str, torch.Tensor]
    best_epoch: Optional[int]
    stopped_early: bool


@dataclass
class _Losses:
    """Training loss sums: since the last log entry (running) and over the whole run."""

    run_loss: float = 0.0
    run_n: int = 0
    sum_loss: float = 0.0
    sum_n: int = 0

    def add(self, loss: float, n: int) -> None:
        self.run_loss += loss * n
        self.run_n += n
        self.sum_loss += loss * n
        self.sum_n += n

    def take_running(self) -> float:
        value = self.run_loss / max(self.run_n, 1)
        self.run_loss, self.run_n = 0.0, 0
        return value

    def mean(self) -> Optional[float]:
        return self.sum_loss / self.sum_n if self.sum_n else None


def _stateful_callbacks(patience: int, patience_counter: int, stopped: bool) -> dict[str, Any]:
    """Early-stopping state in Hugging Face's ``stateful_callbacks`` layout (read back on resume)."""
    return {
        "EarlyStoppingCallback": {
            "args": {"early_stopping_patience": patience, "early_stopping_threshold": 0.0},
            "attributes": {"early_stopping_patience_counter": patience_counter},
        },
        "TrainerControl": {
            "args": {
                "should_epoch_stop": False,
                "should_evaluate": False,
                "should_log": False,
                "should_save": True,
                "should_training_stop": stopped,
            },
            "attributes": {},
        },
    }


class Trainer:
    def __init__(
        self,
        model: SequenceModel,
        task: Task,
        label_state: LabelState,
        cfg: TrainConfig,
        train_ds: SeqDataset,
        valid_ds: Optional[SeqDataset],
        source: FeatureSource,
        out_dir: Path,
        metric: str,
        callbacks: Sequence[Any] = (),
        log: Callable[[str], None] = print,
        progress: Optional[bool] = None,
        precision: Optional[Precision] = None,
    ) -> None:
        self.model, self.task, self.label_state, self.cfg = model, task, label_state, cfg
        self.train_ds, self.valid_ds, self.source = train_ds, valid_ds, source
        self.out_dir = Path(out_dir)
        self.metric = metric
        self.callbacks = list(callbacks)
        self.log = log
        #: a bar over each epoch's steps (:class:`rnalm.io.progress.Progress`; None: on a terminal only)
        self.progress = progress
        self.device = next(model.parameters()).device
        #: the type forward passes compute in (``train.dtype`` resolved for the device unless given)
        self.precision = precision or resolve(cfg.dtype, self.device, "train.dtype")
        self.loss_fn = task.train_loss(cfg)
        self.steps_per_epoch = len(self._epoch_batches(0))  # the same count every epoch
        self.max_steps = self.steps_per_epoch * cfg.epochs
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise RuntimeError("the model has no trainable parameters")
        self.optimizer = torch.optim.AdamW(self._param_groups(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        warmup = math.ceil(cfg.warmup_ratio * self.max_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lr_factor(cfg.scheduler, warmup, self.max_steps)
        )

    # ------------------------------------------------------------------ setup
    def _param_groups(self) -> list[dict]:
        cfg = self.cfg
        groups: dict[tuple[bool, bool], list] = {}
        for name, p in self.model.named_parameters():
            if not p.requires_grad:
                continue
            is_backbone = name.startswith("backbone.")
            no_decay = p.ndim < 2  # biases and norm scales
            groups.setdefault((is_backbone, no_decay), []).append(p)
        out = []
        for (is_backbone, no_decay), params in sorted(groups.items()):
            lr = (cfg.backbone_lr or cfg.lr) if is_backbone else cfg.lr
            out.append({"params": params, "lr": lr, "weight_decay": 0.0 if no_decay else cfg.weight_decay})
        return out

    def _epoch_batches(self, epoch: int) -> list[list[int]]:
        """Shuffled training order, a function of (seed, epoch) only; with ``group_by_length``,
        chunks of 50 batches are sorted by length, cut into batches, and the batches shuffled.
        A task with its own :meth:`~rnalm.runs.tasks.Task.batch_plan` decides instead."""
        plan = self.task.batch_plan([len(s) for s in self.train_ds.seqs], self.cfg, True, self.cfg.seed * 1000 + epoch)
        if plan is not None:
            return plan
        lengths = [len(s) for s in self.train_ds.seqs] if self.cfg.group_by_length else None
        return shuffled_batches(
            len(self.train_ds), self.cfg.batch_size, self.cfg.seed * 1000 + epoch, lengths, group=50
        )

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def _run_eval(self, ds: SeqDataset) -> tuple[np.ndarray, Optional[float]]:
        """Raw outputs in dataset order and the mean loss (when ``ds`` has targets). Batches run in
        length order (less padding; heads are padding-invariant) and are put back in order."""
        self.model.eval()
        lengths = [len(s) for s in ds.seqs]
        plan = self.task.batch_plan(lengths, self.cfg, False, 0)
        if plan is None:
            order = np.argsort(lengths, kind="stable").tolist()
            bs = self.cfg.eval_batch_size
            plan = [order[i : i + bs] for i in range(0, len(order), bs)]
        collate = make_collate(ds, self.source, self.task.collate_targets)
        rows: list = [None] * len(ds)
        loss_sum = 0.0
        for idx in plan:
            batch, y = collate(idx)
            with self.precision.autocast():
                out = self.model(to_device(batch, self.device))
            out = out.float()
            if y is not None:
                loss_sum += float(self.loss_fn(out, y.to(self.device))) * len(y)
            out = out.float().cpu()
            for r, i in enumerate(idx):
                rows[i] = out[r : r + 1]
        joined = self.task.concat_outputs(rows)
        return joined, (loss_sum / len(ds) if ds.targets is not None else None)

    def predict(self, ds: SeqDataset) -> np.ndarray:
        return self._run_eval(ds)[0]

    def evaluate(self, ds: SeqDataset) -> tuple[float, dict[str, Optional[float]], np.ndarray]:
        outputs, loss = self._run_eval(ds)
        assert ds.targets is not None and loss is not None, "evaluation needs labelled rows"
        return loss, self.task.metrics(ds.targets, outputs, self.label_state), outputs

    # ------------------------------------------------------------------ checkpoints
    def _checkpoint_dirs(self) -> list[Path]:
        dirs = [p for p in self.out_dir.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
        return sorted(dirs, key=lambda p: int(p.name.split("-")[-1]))

    def _save_checkpoint(self, state: TrainerState) -> Path:
        ck = self.out_dir / f"checkpoint-{state.global_step}"
        tmp = self.out_dir / f".tmp-checkpoint-{state.global_step}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file(self.model.saved_state(), str(tmp / WEIGHTS_FILE), metadata={"format": "rnalm-finetune"})
        torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(self.scheduler.state_dict(), tmp / "scheduler.pt")
        rng = {"cpu": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        torch.save(rng, tmp / "rng_state.pth")
        state.save(tmp / STATE_FILE)
        shutil.rmtree(ck, ignore_errors=True)
        tmp.replace(ck)
        keep = {ck.name}
        if state.best_model_checkpoint:
            keep.add(Path(state.best_model_checkpoint).name)
        for d in self._checkpoint_dirs():
            if d.name not in keep:
                shutil.rmtree(d, ignore_errors=True)
        return ck

    def _restore(self, ck: Path) -> TrainerState:
        try:
            self.model.load_saved_state(read_safetensors(ck / WEIGHTS_FILE))
            self.optimizer.load_state_dict(safe_torch_load(ck / "optimizer.pt", map_location=self.device))
            self.scheduler.load_state_dict(safe_torch_load(ck / "scheduler.pt"))
            rng = safe_torch_load(ck / "rng_state.pth")
            torch.set_rng_state(rng["cpu"])
            if "cuda" in rng and self.device.type == "cuda":
                torch.cuda.set_rng_state(rng["cuda"], self.device)
        except CheckpointError as exc:  # names the file inside the checkpoint that is bad
            raise RunDirError(f"cannot resume from {ck}: {exc}") from None
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise RunDirError(f"{ck}: cannot resume from this checkpoint: {exc}") from exc
        return TrainerState.load(ck / STATE_FILE)

    # ------------------------------------------------------------------ training
    def train(self, resume: bool = False) -> TrainOutcome:
        cfg = self.cfg
        self.out_dir.mkdir(parents=True, exist_ok=True)
        state, start_epoch, patience_counter, stopped = self._start(resume)
        best_state: Optional[dict[str, torch.Tensor]] = None
        t_start = time.time()
        losses = _Losses()
        steps_before = state.global_step
        for epoch in range(start_epoch, cfg.epochs):
            if stopped:
                break
            self._train_epoch(state, epoch, losses)
            state.epoch = float(epoch + 1)
            logs, improved = self._validate(state, epoch)
            if improved:
                patience_counter = 0
                best_state = self.model.saved_state()
                state.best_model_checkpoint = str(self.out_dir / f"checkpoint-{state.global_step}")
            else:
                patience_counter += 1
            if cfg.patience and self.valid_ds is not None and patience_counter >= cfg.patience:
                stopped = True
                self.log(f"early stopping: no improvement of {self.metric} in {cfg.patience} epochs")
            state.stateful_callbacks = _stateful_callbacks(cfg.patience, patience_counter, stopped)
            if cfg.save_checkpoints:
                self._save_checkpoint(state)
            for cb in self.callbacks:
                hook = getattr(cb, "on_epoch_end", None)
                if hook is not None:
                    hook(self, epoch + 1, logs)
        runtime = time.time() - t_start
        self._log_summary(state, start_epoch, runtime, losses)
        self.log(f"trained {summary(state.global_step - steps_before, runtime, 'steps')}")
        if best_state is None:
            best_state = self._best_from_disk(state)
        if not cfg.save_checkpoints:
            state.best_model_checkpoint = None
        best_epoch = None
        if state.best_global_step is not None:
            best_epoch = int(round(state.best_global_step / self.steps_per_epoch))
        return TrainOutcome(state, best_state, best_epoch, stopped)

    def _start(self, resume: bool) -> tuple[TrainerState, int, int, bool]:
        """``(state, first epoch, patience counter, stopped)``: fresh, or from the last checkpoint."""
        cfg = self.cfg
        state = TrainerState(
            max_steps=self.max_steps,
            logging_steps=cfg.logging_steps,
            eval_steps=self.steps_per_epoch,
            save_steps=self.steps_per_epoch,
            train_batch_size=cfg.batch_size,
            num_train_epochs=cfg.epochs,
        )
        cks = self._checkpoint_dirs() if resume else []
        if not cks:
            torch.manual_seed(cfg.seed)
            return state, 0, 0, False
        state = self._restore(cks[-1])
        start_epoch = int(round(state.epoch))
        es = state.stateful_callbacks.get("EarlyStoppingCallback", {}).get("attributes", {})
        patience_counter = int(es.get("early_stopping_patience_counter", 0))
        stopped = bool(state.stateful_callbacks.get("TrainerControl", {}).get("args", {}).get("should_training_stop"))
        self.log(f"resuming from {cks[-1]} (epoch {start_epoch}, step {state.global_step})")
        return state, start_epoch, patience_counter, stopped

    def _train_epoch(self, state: TrainerState, epoch: int, losses: "_Losses") -> None:
        """One pass over the training batches of ``epoch`` (a bar over its steps); logs every
        ``logging_steps`` steps."""
        cfg = self.cfg
        self.model.train()
        collate = make_collate(self.train_ds, self.source, self.task.collate_targets)
        last_norm = 0.0
        bar = Progress(self.steps_per_epoch, f"epoch {epoch + 1}/{cfg.epochs}", unit="steps", show=self.progress)
        with bar:
            for step_in_epoch, idx in enumerate(self._epoch_batches(epoch)):
                batch, y = collate(idx)
                batch, y = to_device(batch, self.device), y.to(self.device)
                with self.precision.autocast():
                    out = self.model(batch)
                loss = self.loss_fn(out.float(), y)  # the loss in float32
                if not torch.isfinite(loss):
                    raise RuntimeError(f"loss became {loss.item()} at step {state.global_step + 1}; lower train.lr")
                loss.backward()
                if cfg.grad_clip > 0:
                    last_norm = float(torch.nn.utils.clip_grad_norm_(self.params, cfg.grad_clip))
                else:
                    last_norm = float(
                        torch.linalg.vector_norm(
                            torch.stack([p.grad.detach().norm() for p in self.params if p.grad is not None])
                        )
                    )
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                state.global_step += 1
                losses.add(loss.item(), len(y))
                bar.update()
                if bar.bar is not None:
                    bar.bar.set_postfix_str(f"loss {loss.item():.4g}", refresh=False)
                if state.global_step % cfg.logging_steps == 0:
                    state.log_history.append(
                        {
                            "epoch": round(epoch + (step_in_epoch + 1) / self.steps_per_epoch, 4),
                            "grad_norm": last_norm,
                            "learning_rate": self.scheduler.get_last_lr()[0],
                            "loss": losses.take_running(),
                            "step": state.global_step,
                        }
                    )

    def _validate(self, state: TrainerState, epoch: int) -> tuple[dict[str, Any], bool]:
        """The end-of-epoch log entry and whether this epoch is the best so far."""
        logs: dict[str, Any] = {"epoch": state.epoch, "step": state.global_step}
        if self.valid_ds is None:
            state.best_global_step = state.global_step  # no validation data: the last epoch is the model
            return logs, True
        t0 = time.time()
        eval_loss, metrics, _ = self.evaluate(self.valid_ds)
        dt = time.time() - t0
        logs.update(
            {
                "eval_loss": eval_loss,
                **{f"eval_{k}": v for k, v in metrics.items() if k != "n"},
                "eval_runtime": round(dt, 4),
                "eval_samples_per_second": round(len(self.valid_ds) / max(dt, 1e-9), 3),
            }
        )
        value = eval_loss if self.metric == "loss" else metrics.get(self.metric)
        improved = False
        higher = greater_is_better(self.metric)
        if value is not None and (
            state.best_metric is None or (value > state.best_metric if higher else value < state.best_metric)
        ):
            improved = True
            state.best_metric = float(value)
            state.best_global_step = state.global_step
        state.log_history.append(logs)
        msg = ", ".join(
            f"{k}={v:.4g}"
            for k, v in logs.items()
            if isinstance(v, float) and k.startswith("eval_") and not k.endswith(("runtime", "second"))
        )
        self.log(f"epoch {epoch + 1}/{self.cfg.epochs}: {msg}")
        return logs, improved

    def _log_summary(self, state: TrainerState, start_epoch: int, runtime: float, losses: "_Losses") -> None:
        """The closing ``train_runtime`` entry of the log history (Hugging Face's layout)."""
        state.log_history = [e for e in state.log_history if "train_runtime" not in e]
        done_epochs = max(state.epoch - start_epoch, 0)
        state.log_history.append(
            {
                "epoch": state.epoch,
                "step": state.global_step,
                "total_flos": 0.0,
                "train_loss": losses.mean(),
                "train_runtime": round(runtime, 4),
                "train_samples_per_second": round(len(self.train_ds) * done_epochs / max(runtime, 1e-9), 3),
                "train_steps_per_second": round(self.steps_per_epoch * done_epochs / max(runtime, 1e-9), 3),
            }
        )

    def _best_from_disk(self, state: TrainerState) -> dict[str, torch.Tensor]:
        if state.best_model_checkpoint and (Path(state.best_model_checkpoint) / WEIGHTS_FILE).is_file():
            return read_safetensors(Path(state.best_model_checkpoint) / WEIGHTS_FILE)
        return self.model.saved_state()


__all__ = ["STATE_FILE", "TrainOutcome", "Trainer", "TrainerState", "WEIGHTS_FILE"]
