"""musicnn's own TensorFlow tagger on files, for benchmarks/pretrained_tagging.py.

Runs in a throwaway environment with TensorFlow and the musicnn wheel (see
tools/convert_musicnn.py), never in the project's. For each model it runs
``musicnn.extractor.extractor`` on every file, as ``musicnn.tagger.top_tags`` does (a graph
and session per file), and averages the taggram over patches. ``--float32`` replaces
musicnn's feature batching by the same code without its float16 cast of the mel power.

Writes one JSON object to ``--out`` (musicnn prints to stdout): ``{model: {"seconds": s, "files": {name: [50 probabilities]}}, "tags": [...]}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _batch_data_float32(audio_file, n_frames, overlap):
    """musicnn.extractor.batch_data, less the float16 cast (which overflows on loud music)."""
    import librosa
    import numpy as np

    audio, sr = librosa.load(audio_file, sr=16000)
    rep = librosa.feature.melspectrogram(y=audio, sr=sr, hop_length=256, n_fft=512, n_mels=96).T
    rep = np.log10(10000 * rep + 1)
    starts = range(0, rep.shape[0] - n_frames + 1, overlap)
    return np.stack([rep[s : s + n_frames] for s in starts]), rep


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+")
    parser.add_argument("--models", default="MSD_vgg,MSD_musicnn")
    parser.add_argument("--float32", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import musicnn.configuration
    import musicnn.extractor as extractor

    if args.float32:
        extractor.batch_data = _batch_data_float32
    out = {"tags": list(musicnn.configuration.MSD_LABELS)}
    for model in args.models.split(","):
        started = time.perf_counter()
        files = {}
        for path in args.files:
            taggram, _ = extractor.extractor(path, model=model, extract_features=False)
            files[os.path.basename(path)] = taggram.mean(axis=0).tolist()
        out[model] = {"seconds": time.perf_counter() - started, "files": files}
        print(f"{model}: {out[model]['seconds']:.1f} s", file=sys.stderr)
    with open(args.out, "w") as handle:
        json.dump(out, handle)


if __name__ == "__main__":
    main()
