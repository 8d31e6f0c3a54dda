"""Plain-PyTorch reference: the seed notebook's cross-subject training, reimplemented.

This is the yardstick the project's ``CrossSubjectEncoder`` is measured against
(accuracy and speed). It follows the seed notebook (``shared/seed/cross_encoding_notebook.txt``)
step by step and deliberately imports nothing from ``sklearn_crossenc``, so that it stays
an independent reference:

- loaders: one HDF5 file per subject, keys parsed as BIDS-like entities, runs kept only
  when every subject has them, every subject truncated to the shortest length;
- sampler: the notebook's ``IterableDataset`` (episode order from a permutation of a
  ``numpy`` generator seeded with 42, a uniform random offset per episode, 2000 clips
  per epoch), batched by a ``DataLoader`` with batch size 16;
- model: ``CrossSubjectConvLinearEncoderV2`` (shared + per-subject linear encoders, a
  depthwise temporal convolution on the subject encoders, leave-one-out latent average,
  shared + per-subject decoders, truncated-normal init);
- training: AdamW (lr 3e-4, weight decay 1e-3), MSE, 10 epochs, seeded like timm's
  ``random_seed(3315)``, including the notebook's ``next(iter(train_loader))`` shape
  check before the model is built (it advances the sampler and the torch generator);
- metric: the notebook's ``validate`` + ``pearsonr_score`` over full episodes.

Run as a script::

    python benchmarks/seed_reference.py --data-dir DIR [--epochs 10] [--device cpu]

or import :func:`run_reference`, which returns the final accuracies on Friends s6 and
Movie10 run-1, the training throughput (clips/s), the wall time and the accuracy after
each epoch with timestamps.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from collections import defaultdict
from functools import partial
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, IterableDataset

SUBJECTS = (1, 2, 3, 5)

SEED_CONFIG = {
    "seed": 3315,
    "batch_size": 16,
    "sample_length": 64,
    "n_train_samples": 2000,
    "lr": 3e-4,
    "weight_decay": 0.001,
    "epochs": 10,
    "embed_dim": 64,
    "encoder_kernel_size": 7,
    "decoder_kernel_size": 0,
    "with_shared": True,
    "with_subject": True,
}

FRIENDS_FILE = (
    "fmri/sub-{sub:02d}/func/sub-{sub:02d}_task-friends_space-MNI152NLin2009cAsym_atlas-"
    "Schaefer18_parcel-1000Par7Net_desc-s123456_bold.h5"
)
MOVIE10_FILE = (
    "fmri/sub-{sub:02d}/func/sub-{sub:02d}_task-movie10_space-MNI152NLin2009cAsym_atlas-"
    "Schaefer18_parcel-1000Par7Net_bold.h5"
)


# ----------------------------------------------------------------------------- loaders


def parse_friends_run(run: str):
    match = re.match(r"s([0-9]+)e([0-9]+)([a-z])", run)
    if match is None:
        raise ValueError(f"Invalid friends run {run!r}")
    return int(match.group(1)), int(match.group(2)), match.group(3)


def parse_movie10_run(run: str):
    match = re.match(r"([a-z]+)([0-9]+)", run)
    if match is None:
        raise ValueError(f"Invalid movie run {run!r}")
    return match.group(1), int(match.group(2))


def _entities(key: str, path: Path) -> dict[str, str]:
    try:
        entities = dict([ent.split("-", 1) for ent in key.split("_")])
        entities["task"]  # noqa: B018 -- every run key names its task
    except (ValueError, KeyError):
        raise ValueError(f"Unparsable run key {key!r} in {path}") from None
    return entities


def _open_files(root, pattern: str, subjects) -> dict[int, Path]:
    paths = {sub: Path(root) / pattern.format(sub=sub) for sub in subjects}
    for path in paths.values():
        if not path.is_file():
            raise FileNotFoundError(f"fMRI file not found: {path}")
    return paths


def _stack_runs(paths: dict[int, Path], key_maps: dict, subjects) -> dict:
    """Keep the runs every subject has; truncate each to the shortest subject."""
    run_list = sorted(run for run, m in key_maps.items() if len(m) == len(subjects))
    files = {sub: h5py.File(path, "r") for sub, path in paths.items()}
    try:
        data = {}
        for run in run_list:
            samples = [files[sub][key_maps[run][sub]][:] for sub in subjects]  # (T_s, C)
            length = min(len(s) for s in samples)
            data[run] = np.stack([s[:length] for s in samples])  # (S, T, C)
    finally:
        for f in files.values():
            f.close()
    return data


def load_friends_fmri(root, subjects=None, seasons=None) -> dict[str, np.ndarray]:
    """The notebook's ``load_algonauts2025_friends_fmri``: run name -> (S, T, C) float32."""
    subjects = list(subjects or SUBJECTS)
    seasons_set = set(seasons or range(1, 7))
    paths = _open_files(root, FRIENDS_FILE, subjects)
    key_maps = defaultdict(dict)
    for sub, path in paths.items():
        with h5py.File(path, "r") as f:
            keys = list(f.keys())
        for key in keys:
            episode = _entities(key, path)["task"]
            season, _, _ = parse_friends_run(episode)
            if season in seasons_set:
                key_maps[episode][sub] = key
    return _stack_runs(paths, key_maps, subjects)


def load_movie10_fmri(root, subjects=None, movies=None, runs=None) -> dict:
    """The notebook's ``load_algonauts2025_movie10_fmri``: (segment, run) -> (S, T, C)."""
    subjects = list(subjects or SUBJECTS)
    movies_set = set(movies or ["bourne", "wolf", "figures", "life"])
    runs = list(runs or [1, 2])
    paths = _open_files(root, MOVIE10_FILE, subjects)
    key_maps = defaultdict(dict)
    for sub, path in paths.items():
        with h5py.File(path, "r") as f:
            keys = list(f.keys())
        for key in keys:
            entities = _entities(key, path)
            episode = entities["task"]
            run = int(entities.get("run", 1))
            movie, _ = parse_movie10_run(episode)
            if movie in movies_set and run in runs:
                key_maps[(episode, run)][sub] = key
    return _stack_runs(paths, key_maps, subjects)


def load_seed_splits(root, subjects=None) -> dict[str, dict]:
    """The notebook's three sets: Friends s1-5 (train), s6 (val), Movie10 run-1 (test)."""
    out = {
        "train": load_friends_fmri(root, subjects, seasons=range(1, 6)),
        "friends_s6": load_friends_fmri(root, subjects, seasons=[6]),
        "movie10_run1": load_movie10_fmri(root, subjects, runs=[1]),
    }
    for name, data in out.items():
        if not data:
            raise ValueError(f"No {name} runs shared by subjects {subjects or SUBJECTS} in {root}")
    return out


# ----------------------------------------------------------------------------- sampler


class Algonauts2025Dataset(IterableDataset):
    """The notebook's clip sampler (fMRI only; the stimulus-feature branch is unused)."""

    def __init__(self, fmri_data, sample_length=128, num_samples=None, shuffle=True, seed=None):
        self.fmri_data = fmri_data
        self.episode_list = list(fmri_data)
        self.sample_length = sample_length
        self.num_samples = num_samples
        self.shuffle = shuffle
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def _iter_shuffle(self):
        sample_idx = 0
        while True:
            episode_order = self._rng.permutation(len(self.episode_list))
            for ii in episode_order:
                episode = self.episode_list[ii]
                fmri = torch.from_numpy(self.fmri_data[episode])  # (S, T, C)
                length = fmri.shape[1]
                if self.sample_length:
                    offset = int(self._rng.integers(0, length - self.sample_length + 1))
                    fmri_sample = fmri[:, offset: offset + self.sample_length]  # (S, L, C)
                else:
                    fmri_sample = fmri[:, :length]
                yield episode, fmri_sample
                sample_idx += 1
                if self.num_samples and sample_idx >= self.num_samples:
                    return

    def _iter_ordered(self):
        sample_idx = 0
        for episode in self.episode_list:
            fmri = torch.from_numpy(self.fmri_data[episode])  # (S, T, C)
            length = fmri.shape[1]
            sample_length = self.sample_length or length
            for offset in range(0, length - sample_length + 1, sample_length):
                yield episode, fmri[:, offset: offset + sample_length]
                sample_idx += 1
                if self.num_samples and sample_idx >= self.num_samples:
                    return

    def __iter__(self):
        if self.shuffle:
            yield from self._iter_shuffle()
        else:
            yield from self._iter_ordered()


# ----------------------------------------------------------------------------- model


class CausalConv1d(nn.Conv1d):
    """Conv1d with a causal mask (only the centre tap and the past)."""

    attn_mask: torch.Tensor

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True):
        assert kernel_size % 2 == 1, "causal conv requires odd kernel size"
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=padding, dilation=dilation, groups=groups, bias=bias)
        attn_mask = torch.zeros(kernel_size)
        attn_mask[: kernel_size // 2 + 1] = 1.0
        self.weight.data.mul_(attn_mask)
        self.register_buffer("attn_mask", attn_mask)

    def forward(self, input):
        weight = self.weight * self.attn_mask
        return F.conv1d(input, weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class ConvLinear(nn.Module):
    """Depthwise temporal conv, then a linear map (decoder side)."""

    def __init__(self, in_features, out_features, kernel_size=11, causal=False):
        super().__init__()
        conv_layer = CausalConv1d if causal else nn.Conv1d
        self.conv = conv_layer(in_features, in_features, kernel_size=kernel_size,
                               padding="same", groups=in_features)
        self.fc = nn.Linear(in_features, out_features)

    def forward(self, x):  # (N, L, C)
        x = self.conv(x.transpose(-1, -2)).transpose(-1, -2)
        return self.fc(x)


class LinearConv(nn.Module):
    """Linear map, then a depthwise temporal conv (encoder side)."""

    def __init__(self, in_features, out_features, kernel_size=11, causal=False):
        super().__init__()
        conv_layer = CausalConv1d if causal else nn.Conv1d
        self.fc = nn.Linear(in_features, out_features)
        self.conv = conv_layer(out_features, out_features, kernel_size=kernel_size,
                               padding="same", groups=out_features)

    def forward(self, x):  # (N, L, C)
        x = self.fc(x)
        return self.conv(x.transpose(-1, -2)).transpose(-1, -2)


def init_weights(m: nn.Module):
    if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
        nn.init.trunc_normal_(m.weight, std=0.02)
        nn.init.constant_(m.bias, 0)


class CrossSubjectConvLinearEncoderV2(nn.Module):
    """The seed's model, unchanged in function and parameter layout."""

    weight: torch.Tensor

    def __init__(self, num_subjects=4, fmri_dim=1000, embed_dim=256, encoder_kernel_size=11,
                 decoder_kernel_size=11, normalize=False, with_shared_encoder=True,
                 with_shared_decoder=True, with_subject_encoders=True,
                 with_subject_decoders=True, causal=False):
        # ``causal`` is the one addition: the notebook's ConvLinear/LinearConv take it but
        # V2 never forwards it; the default keeps the notebook's behaviour exactly.
        super().__init__()
        assert with_shared_encoder or with_subject_encoders
        assert with_shared_decoder or with_subject_decoders
        self.num_subjects = num_subjects

        if with_shared_encoder:
            self.shared_encoder = nn.Linear(fmri_dim, embed_dim)
        else:
            self.register_module("shared_encoder", None)
        if with_subject_encoders:
            if encoder_kernel_size > 1:
                encoder_fn = partial(LinearConv, kernel_size=encoder_kernel_size, causal=causal)
            else:
                encoder_fn = nn.Linear
            self.subject_encoders = nn.ModuleList(
                [encoder_fn(fmri_dim, embed_dim) for _ in range(num_subjects)]
            )
        else:
            self.register_module("subject_encoders", None)

        self.norm = nn.LayerNorm(embed_dim) if normalize else nn.Identity()

        if with_shared_decoder:
            self.shared_decoder = nn.Linear(embed_dim, fmri_dim)
        else:
            self.register_module("shared_decoder", None)
        if with_subject_decoders:
            if decoder_kernel_size > 1:
                decoder_fn = partial(ConvLinear, kernel_size=decoder_kernel_size, causal=causal)
            else:
                decoder_fn = nn.Linear
            self.subject_decoders = nn.ModuleList(
                [decoder_fn(embed_dim, fmri_dim) for _ in range(num_subjects)]
            )
        else:
            self.register_module("subject_decoders", None)

        weight = (1.0 - torch.eye(num_subjects)) / (num_subjects - 1.0)  # (S, S)
        self.register_buffer("weight", weight)
        self.apply(init_weights)

    def forward(self, input):  # (N, S, L, C)
        shared_embed = self.shared_encoder(input) if self.shared_encoder is not None else 0.0
        if self.subject_encoders is not None:
            subject_embeds = torch.stack(
                [enc(input[:, ii]) for ii, enc in enumerate(self.subject_encoders)], dim=1
            )  # (N, S, L, D)
        else:
            subject_embeds = 0.0
        embed = self.norm(shared_embed + subject_embeds)  # (N, S, L, D)
        # leave-one-subject-out average of the latents
        embed = torch.einsum("nslc,ts->ntlc", embed, self.weight)  # (N, S, L, D)
        shared_output = self.shared_decoder(embed) if self.shared_decoder is not None else 0.0
        if self.subject_decoders is not None:
            subject_outputs = torch.stack(
                [dec(embed[:, ii]) for ii, dec in enumerate(self.subject_decoders)], dim=1
            )  # (N, S, L, C)
        else:
            subject_outputs = 0.0
        return shared_output + subject_outputs  # (N, S, L, C)


# ----------------------------------------------------------------------------- training


def random_seed(seed: int = 42, rank: int = 0) -> None:
    """timm.utils.random_seed."""
    torch.manual_seed(seed + rank)
    random.seed(seed + rank)
    np.random.seed(seed + rank)


def train_one_epoch(*, epoch, model, train_loader, optimizer, epoch_batches, device,
                    verbose=False):
    """One pass over the sampler; returns (mean loss, number of clips)."""
    model.train()
    loss_sum, n_clips = 0.0, 0
    first_step = epoch * epoch_batches
    for batch_idx, (_, sample) in enumerate(train_loader):
        step = first_step + batch_idx
        sample = sample.to(device)  # (N, S, L, C)
        output = model(sample)
        loss = F.mse_loss(output, sample)
        loss_item = loss.item()
        if math.isnan(loss_item) or math.isinf(loss_item):
            raise RuntimeError(f"NaN/Inf loss encountered on epoch {epoch} step {step}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        loss_sum += loss_item * sample.size(0)
        n_clips += sample.size(0)
        if verbose > 1 and step % 10 == 0:
            print(f"Train: {epoch:>3d} [{batch_idx:>3d}/{epoch_batches}][{step:>6d}]"
                  f"  Loss: {loss_item:#.3g} ({loss_sum / n_clips:#.3g})")
    return loss_sum / max(n_clips, 1), n_clips


def pearsonr_score(y_true: np.ndarray, y_pred: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """The notebook's metric: Pearson r of each column (computed in the inputs' dtype)."""
    assert y_true.ndim == y_pred.ndim == 2
    y_true = y_true - y_true.mean(axis=0)
    y_true = y_true / (np.linalg.norm(y_true, axis=0) + eps)
    y_pred = y_pred - y_pred.mean(axis=0)
    y_pred = y_pred / (np.linalg.norm(y_pred, axis=0) + eps)
    return (y_true * y_pred).sum(axis=0)


@torch.no_grad()
def predict_episodes(model, fmri_data: dict, device) -> list[np.ndarray]:
    """Run the model on each full episode (batch size 1); list of (S, T, C) arrays."""
    model.eval()
    loader = DataLoader(Algonauts2025Dataset(fmri_data, sample_length=None, shuffle=False),
                        batch_size=1)
    return [model(sample.to(device))[0].cpu().numpy() for _, sample in loader]


@torch.no_grad()
def validate(*, model, val_loader, device, subjects=None):
    """The notebook's ``validate``: (mean accuracy, metrics dict with per-subject maps)."""
    model.eval()
    samples, outputs, loss_sum, n = [], [], 0.0, 0
    for _, sample in val_loader:
        sample = sample.to(device)  # (1, S, T, C)
        output = model(sample)
        loss_sum += F.mse_loss(output, sample).item()
        n += 1
        N, S, L, C = sample.shape
        samples.append(sample.cpu().numpy().swapaxes(0, 1).reshape((S, N * L, C)))
        outputs.append(output.cpu().numpy().swapaxes(0, 1).reshape((S, N * L, C)))
    samples = np.concatenate(samples, axis=1)  # (S, sum T, C)
    outputs = np.concatenate(outputs, axis=1)
    subjects = list(subjects) if subjects is not None else list(range(samples.shape[0]))
    dim = samples.shape[-1]
    metrics = {"loss": loss_sum / max(n, 1)}
    acc, acc_map = 0.0, np.zeros(dim)
    for ii, sub in enumerate(subjects):
        acc_map_i = pearsonr_score(samples[ii].reshape(-1, dim), outputs[ii].reshape(-1, dim))
        metrics[f"acc_map_sub-{sub}"] = acc_map_i
        metrics[f"acc_sub-{sub}"] = acc_i = float(np.mean(acc_map_i))
        acc_map += acc_map_i / len(subjects)
        acc += acc_i / len(subjects)
    metrics["acc_map_avg"] = acc_map
    metrics["acc_avg"] = acc
    return acc, metrics


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} was requested but CUDA is not available")
    return device


def _check_split(name: str, data: dict, sample_length: int | None) -> None:
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{name} must be a non-empty dict of run -> (S, T, C) arrays")
    shapes = {k: np.shape(v) for k, v in data.items()}
    for k, shp in shapes.items():
        if len(shp) != 3:
            raise ValueError(f"{name}[{k!r}] has shape {shp}; expected (subjects, time, parcels)")
        if sample_length and shp[1] < sample_length:
            raise ValueError(
                f"{name}[{k!r}] has {shp[1]} time points, fewer than sample_length="
                f"{sample_length}"
            )


def run_reference(data_dir=None, *, data=None, epochs=10, n_train_samples=2000,
                  batch_size=16, sample_length=64, lr=3e-4, weight_decay=1e-3, embed_dim=64,
                  encoder_kernel_size=7, decoder_kernel_size=0, with_shared=True,
                  with_subject=True, seed=3315, sampler_seed=42, device="auto",
                  subjects=None, eval_sets=("friends_s6", "movie10_run1"),
                  eval_each_epoch=True, verbose=0):
    """Train the seed's model with the seed's loop and report accuracy and speed.

    Parameters
    ----------
    data_dir : path, optional
        Algonauts 2025 competitor release (or the project's synthetic copy of it).
    data : dict, optional
        Already loaded splits ``{"train": {...}, "friends_s6": {...}, "movie10_run1": {...}}``
        (each run name -> ``(S, T, C)`` float32), instead of ``data_dir``.
    epochs, n_train_samples, batch_size, sample_length, lr, weight_decay, embed_dim,
    encoder_kernel_size, decoder_kernel_size, with_shared, with_subject, seed :
        The notebook's configuration (its defaults).
    sampler_seed : int, default=42
        Seed of the clip sampler's numpy generator.
    device : {"auto", "cpu", "cuda", ...}
    eval_sets : sequence of str
        Which splits of ``data`` are validated after each epoch.
    eval_each_epoch : bool, default=True
        Validate after every epoch (as the notebook) or only after the last.
    verbose : int, default=0
        1 prints a line per epoch, 2 also the loss every 10 steps (as the notebook).

    Returns
    -------
    result : dict
        ``final`` (accuracy per evaluation set after the last epoch), ``clips_per_s``
        (training clips per second of training time, evaluation excluded),
        ``train_time_s``, ``set_up_time_s`` (sampler, loaders, the notebook's shape
        check, model and optimizer, before the first epoch), ``wall_time_s`` (training
        and evaluation), ``n_clips``,
        ``history`` (one entry per epoch: cumulative ``train_time_s`` and
        ``wall_time_s``, mean training ``loss``, and the accuracy on each set),
        ``config``, ``device``, ``threads`` and ``model`` (the trained module).
    """
    if (data is None) == (data_dir is None):
        raise ValueError("pass exactly one of data_dir and data")
    if data is None:
        data = load_seed_splits(data_dir, subjects)
    for name in ("train", *eval_sets):
        if name not in data:
            raise ValueError(f"data has no {name!r} split; it has {sorted(data)}")
    _check_split("train", data["train"], sample_length)
    for name in eval_sets:
        _check_split(name, data[name], None)
    device = resolve_device(device)
    first = next(iter(data["train"].values()))
    num_subjects, fmri_dim = first.shape[0], first.shape[2]
    subjects = list(subjects or (SUBJECTS if num_subjects == len(SUBJECTS)
                                 else range(num_subjects)))

    set_up_start = time.perf_counter()
    random_seed(seed)
    train_dataset = Algonauts2025Dataset(data["train"], sample_length=sample_length,
                                         num_samples=n_train_samples, shuffle=True,
                                         seed=sampler_seed)
    train_loader = DataLoader(train_dataset, batch_size=batch_size)
    eval_loaders = {
        name: DataLoader(Algonauts2025Dataset(data[name], sample_length=None, shuffle=False),
                         batch_size=1)
        for name in eval_sets
    }
    _, sample = next(iter(train_loader))  # the notebook's shape check (In [69])

    model = CrossSubjectConvLinearEncoderV2(
        num_subjects=num_subjects, fmri_dim=fmri_dim, embed_dim=embed_dim,
        encoder_kernel_size=encoder_kernel_size, decoder_kernel_size=decoder_kernel_size,
        with_shared_encoder=with_shared, with_shared_decoder=with_shared,
        with_subject_encoders=with_subject, with_subject_decoders=with_subject,
    ).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    epoch_batches = n_train_samples // batch_size

    history, train_time, n_clips = [], 0.0, 0
    start = time.perf_counter()
    set_up_time = start - set_up_start
    for epoch in range(epochs):
        tic = time.perf_counter()
        loss, n = train_one_epoch(epoch=epoch, model=model, train_loader=train_loader,
                                  optimizer=optimizer, epoch_batches=epoch_batches,
                                  device=device, verbose=verbose)
        train_time += time.perf_counter() - tic
        n_clips += n
        entry = {"epoch": epoch, "train_time_s": train_time, "loss": loss}
        if not eval_each_epoch and epoch < epochs - 1:
            continue
        for name, loader in eval_loaders.items():
            entry[name], _ = validate(model=model, val_loader=loader, device=device,
                                      subjects=subjects)
        entry["wall_time_s"] = time.perf_counter() - start
        history.append(entry)
        if verbose:
            accs = "  ".join(f"{k}: {entry[k]:.4f}" for k in eval_sets)
            print(f"Epoch {epoch:>3d}  loss {loss:.4f}  {accs}  train {train_time:.1f}s")

    return {
        "final": {name: history[-1][name] for name in eval_sets} if history else {},
        "clips_per_s": n_clips / train_time if train_time > 0 else float("nan"),
        "train_time_s": train_time,
        "set_up_time_s": set_up_time,
        "wall_time_s": time.perf_counter() - start,
        "n_clips": n_clips,
        "history": history,
        "config": {
            "seed": seed, "batch_size": batch_size, "sample_length": sample_length,
            "n_train_samples": n_train_samples, "lr": lr, "weight_decay": weight_decay,
            "epochs": epochs, "embed_dim": embed_dim,
            "encoder_kernel_size": encoder_kernel_size,
            "decoder_kernel_size": decoder_kernel_size, "with_shared": with_shared,
            "with_subject": with_subject, "sampler_seed": sampler_seed,
        },
        "device": str(device),
        "threads": torch.get_num_threads(),
        "model": model,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", required=True, help="Algonauts 2025 release folder")
    p.add_argument("--device", default="auto")
    p.add_argument("--epochs", type=int, default=SEED_CONFIG["epochs"])
    p.add_argument("--samples-per-epoch", type=int, default=SEED_CONFIG["n_train_samples"])
    p.add_argument("--verbose", action="store_true", help="print the loss every 10 steps")
    p.add_argument("--json", help="write the results (without the model) to this file")
    args = p.parse_args(argv)
    res = run_reference(args.data_dir, epochs=args.epochs,
                        n_train_samples=args.samples_per_epoch, device=args.device,
                        verbose=2 if args.verbose else 1)
    res.pop("model")
    print(f"device {res['device']}  threads {res['threads']}")
    print("final: " + "  ".join(f"{k} {v:.4f}" for k, v in res["final"].items()))
    print(f"{res['clips_per_s']:.1f} clips/s  train {res['train_time_s']:.1f}s  "
          f"wall {res['wall_time_s']:.1f}s")
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(json.dumps(res, indent=2) + "\n")
        tmp.replace(out)
    return res


if __name__ == "__main__":
    main()
