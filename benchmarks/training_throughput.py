"""Benchmark: VGG training samples per second, demo vs paper-scale configuration.

Full training steps (forward, BCE loss, backward, Adam) on random 3-s log-mel chunks,
for the demo configuration (``conf/base/parameters_audio.yml``, the named baseline) and the
paper-scale one (``conf/msd/parameters_audio.yml``), on the CPU and, where CUDA is
available, on the GPU with mixed precision and a DataLoader that feeds pinned batches from
worker processes (GPU utilisation sampled with ``nvidia-smi`` while it runs).

Usage::

    python benchmarks/training_throughput.py [--steps 6] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def model_config(env: str):
    from msd_tagging.models.vgg import VGGConfig

    base = yaml.safe_load((ROOT / "conf/base/parameters_audio.yml").read_text())["audio"]["model"]
    if env == "msd":
        base.update(yaml.safe_load((ROOT / "conf/msd/parameters_audio.yml").read_text())["audio"]["model"])
    return VGGConfig.from_dict({**base, "n_tags": 50})


def cpu_samples_per_second(config, steps: int, batch: int, frames: int = 188) -> float:
    import torch

    from msd_tagging.models.vgg import VGGTagger

    torch.manual_seed(0)
    model = VGGTagger(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(batch, 96, frames), (torch.rand(batch, 50) < 0.1).float()
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - started)


class _RandomChunks:
    def __len__(self):
        return 1 << 20

    def __getitem__(self, i):
        rng = np.random.default_rng(i)
        return rng.standard_normal((96, 188), dtype=np.float32), (rng.random(50) < 0.1).astype(np.float32)


def gpu_samples_per_second(config, seconds: float, batch: int, workers: int) -> tuple[float, float]:
    import torch

    from msd_tagging.models.vgg import VGGTagger

    device = torch.device("cuda")
    model = VGGTagger(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    loader = torch.utils.data.DataLoader(
        _RandomChunks(),
        batch_size=batch,
        num_workers=workers,
        pin_memory=True,
        persistent_workers=True,
        prefetch_factor=4,
    )
    utilisation: list[float] = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
            )
            if out.returncode == 0:
                utilisation.append(float(out.stdout.split()[0]))
            time.sleep(0.5)

    seen, started, warm = 0, None, 20
    sampler = threading.Thread(target=sample, daemon=True)
    for i, (x, y) in enumerate(loader):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = loss_fn(model(x).float(), y)
        loss.backward()
        optimizer.step()
        if i == warm:
            torch.cuda.synchronize()
            started = time.perf_counter()
            sampler.start()
        elif i > warm:
            seen += len(x)
            if time.perf_counter() - started > seconds:
                break
    torch.cuda.synchronize()
    stop.set()
    return seen / (time.perf_counter() - started), float(np.mean(utilisation)) if utilisation else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--gpu-seconds", type=float, default=20.0)
    parser.add_argument("--gpu-batch-size", type=int, default=128)
    parser.add_argument("--gpu-workers", type=int, default=8)
    args = parser.parse_args()

    import torch

    configs = {"demo": model_config("base"), "msd (paper scale)": model_config("msd")}
    print(f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print(f"{'configuration':20} {'parameters':>11} {'CPU samples/s':>14} {'vs demo':>8}")
    baseline = None
    for name, config in configs.items():
        from msd_tagging.models.vgg import VGGTagger

        n_params = sum(p.numel() for p in VGGTagger(config).parameters())
        rate = cpu_samples_per_second(config, args.steps, args.batch_size)
        baseline = baseline or rate
        print(f"{name:20} {n_params:11,} {rate:14.1f} {rate / baseline:8.3f}")
    print("(3-s chunks, batch", args.batch_size, "; ratio against the demo configuration measured in the same run)")
    if torch.cuda.is_available():
        rate, busy = gpu_samples_per_second(
            configs["msd (paper scale)"], args.gpu_seconds, args.gpu_batch_size, args.gpu_workers
        )
        print(
            f"\nGPU {torch.cuda.get_device_name()}: msd configuration {rate:.0f} samples/s (bf16 autocast, batch "
            f"{args.gpu_batch_size}, {args.gpu_workers} loader workers), mean GPU utilisation {busy:.0f}%"
        )
    else:
        print("\nno CUDA device: GPU figures not measured")


if __name__ == "__main__":
    main()
