"""Benchmark: the pretrained networks' speed against this machine's physical limit.

For each shipped network (``msd_musicnn``, ``msd_vgg``): the floating-point operations of
one 3-s patch (counted by ``torch.utils.flop_counter`` over the forward pass: 2 per
multiply-add), and the achieved rate when patches run as ``tag_audio`` and ``embed_tracks``
run them (one patch per forward pass on a CPU) and in batches of 8 and 32. The limit is
this machine's sustained float32 rate on the same threads: a large matmul, and a 3×3
convolution of the VGG's shape (the named baselines, measured in the same run).
Reported: each network's achieved GFLOP/s and its fraction of each limit, and the cost of
embedding the MSD's 241,889 previews (10 patches of 3 s each) at the achieved rate.

Usage::

    python benchmarks/network_speed.py [--threads 2] [--seconds 5]

Writes ``benchmarks/results/network_speed.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from msd_tagging.framework.run_record import commit_label, machine_label

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MSD_PREVIEWS = 241_889
PATCHES_PER_PREVIEW = 10  # 30 s in non-overlapping 3-s patches (187 frames)


def _rate(fn, flops: float, seconds: float) -> float:
    """Sustained GFLOP/s of ``fn`` (``flops`` per call) over about ``seconds``."""
    fn()  # warm up
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or calls < 3:
        fn()
        calls += 1
    return flops * calls / (time.perf_counter() - started) / 1e9


def limits(seconds: float) -> dict:
    import torch

    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    matmul = _rate(lambda: a @ b, 2 * n**3, seconds)
    conv = torch.nn.Conv2d(128, 128, 3, padding=1).eval()
    x = torch.randn(8, 128, 48, 24)
    conv_flops = 2 * 8 * 128 * 128 * 9 * 48 * 24
    with torch.inference_mode():
        convolution = _rate(lambda: conv(x), conv_flops, seconds)
    return {"matmul_gflops": matmul, "conv3x3_gflops": convolution}


def networks(seconds: float) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from msd_tagging.models.pretrained import pretrained_record
    from msd_tagging.models.tagger import Tagger

    out = {}
    for name in ("msd_musicnn", "msd_vgg"):
        tagger = Tagger.load(pretrained_record(name), "cpu")
        patch = torch.randn(1, tagger.chunk_frames, 96)
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            tagger.network(patch)
        flops = counter.get_total_flops()
        rates = {}
        for batch in (1, 8, 32):
            x = torch.randn(batch, tagger.chunk_frames, 96)
            with torch.inference_mode():
                rates[batch] = _rate(lambda x=x, net=tagger.network: net(x), flops * batch, seconds)
        out[name] = {"flops_per_patch": flops, "gflops_by_batch": rates}
    return out


def markdown(record: dict) -> str:
    lim = record["limits"]
    lines = [
        "# The pretrained networks against this machine's limit",
        "",
        f"`python benchmarks/network_speed.py`, commit `{record['commit']}`, {record['machine']}, {record['threads']} "
        f"torch threads. Limits, measured in the same run: float32 matmul (2048²) **{lim['matmul_gflops']:.1f} "
        f"GFLOP/s**, 3×3 convolution of 128 channels **{lim['conv3x3_gflops']:.1f} GFLOP/s**.",
        "",
        "| network | GFLOP per 3-s patch | batch | achieved GFLOP/s | of matmul | of conv 3×3 | patches / s | "
        "MSD previews embedded (2.42M patches) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, n in record["networks"].items():
        for batch, rate in n["gflops_by_batch"].items():
            per_second = rate * 1e9 / n["flops_per_patch"]
            hours = MSD_PREVIEWS * PATCHES_PER_PREVIEW / per_second / 3600
            lines.append(
                f"| `{name}` | {n['flops_per_patch'] / 1e9:.2f} | {batch} | {rate:.1f} | "
                f"{rate / lim['matmul_gflops']:.2f} | {rate / lim['conv3x3_gflops']:.2f} | {per_second:.0f} | "
                f"{hours:.1f} h |"
            )
    lines += [
        "",
        "Batch 1 is how `tag_audio`, scoring and `embed_tracks` run on a CPU today (`CPU_PATCH_BATCH`), chosen "
        "end to end with decoding included (`pretrained_tagging.md`). The network alone is measured here: "
        "decoding and log-mel come on top.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    record = {
        "commit": commit_label(HERE.parent),
        "machine": f"{machine_label()}, torch {torch.__version__}",
        "threads": args.threads,
        "limits": limits(args.seconds),
        "networks": networks(args.seconds),
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "network_speed.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / "network_speed.md").write_text(markdown(record))
    print((RESULTS / "network_speed.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
