"""Convert musicnn's MSD checkpoints to the torch weight files msd-tagging ships.

A development-time tool, never imported by the package: it needs TensorFlow and the
``musicnn`` wheel, which pins numpy < 1.17 and so must live in a throwaway environment::

    python3.11 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0 torch==2.13.0 soundfile soxr scipy librosa
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0
    PYTHONPATH=src /tmp/tfenv/bin/python tools/convert_musicnn.py --recording REAL.ogg

For ``MSD_vgg`` and ``MSD_musicnn`` it builds musicnn's own graph, restores the
checkpoint, copies every variable into the torch port (``msd_tagging.models.musicnn``),
and writes ``src/msd_tagging/models/weights/msd_{vgg,musicnn}.pt``: the state dict with the
tag names in order, the preprocessing the model expects, and where the weights came from.
It also writes ``tests/data/musicnn_reference.npz``: fixed inputs (seeded random log-mels
and two patches of a real recording's log-mel) with TensorFlow's sigmoid outputs and
embeddings for both models, which the tests compare the ports against. Finally it checks
the ports against TensorFlow itself and stops if any output differs by more than 1e-4.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
WEIGHTS = PROJECT / "src" / "msd_tagging" / "models" / "weights"
REFERENCE = PROJECT / "tests" / "data" / "musicnn_reference.npz"
MODELS = {"msd_vgg": ("MSD_vgg", "musicnn_vgg"), "msd_musicnn": ("MSD_musicnn", "musicnn")}
PATCH_FRAMES = 187
TOLERANCE = 1e-4


def tf_model(checkpoint: str):
    """musicnn's graph for ``checkpoint``, restored: ``(session, x, sigmoid, embedding, variables)``."""
    import musicnn
    import musicnn.models
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, PATCH_FRAMES, 96])
        training = tf.compat.v1.placeholder_with_default(False, [])
        outputs = musicnn.models.define_model(x, training, checkpoint, 50)
    if "vgg" in checkpoint:
        embedding = tf.compat.v1.layers.flatten(outputs[5])  # pool5, flattened in NHWC order
    else:
        embedding = outputs[8]  # penultimate: the back end's dense layer after batch norm
    session = tf.compat.v1.Session()
    tf.compat.v1.train.Saver().restore(session, os.path.join(os.path.dirname(musicnn.__file__), checkpoint) + "/")
    variables = {v.name.removesuffix(":0"): value for v, value in zip(
        tf.compat.v1.global_variables(), session.run(tf.compat.v1.global_variables()), strict=True
    )}  # fmt: skip
    return session, x, tf.nn.sigmoid(outputs[0]), embedding, variables


def _bn(prefix: str, tf_name: str, v: dict) -> dict:
    return {
        f"{prefix}.weight": v[f"{tf_name}/gamma"],
        f"{prefix}.bias": v[f"{tf_name}/beta"],
        f"{prefix}.running_mean": v[f"{tf_name}/moving_mean"],
        f"{prefix}.running_var": v[f"{tf_name}/moving_variance"],
    }


def _conv2d(prefix: str, tf_name: str, v: dict) -> dict:
    # TF kernel [height, width, in, out] -> torch [out, in, height, width]
    return {f"{prefix}.weight": v[f"{tf_name}/kernel"].transpose(3, 2, 0, 1), f"{prefix}.bias": v[f"{tf_name}/bias"]}


def _dense(prefix: str, tf_name: str, v: dict) -> dict:
    return {f"{prefix}.weight": v[f"{tf_name}/kernel"].T, f"{prefix}.bias": v[f"{tf_name}/bias"]}


def _bn_name(i: int) -> str:
    return "batch_normalization" if i == 0 else f"batch_normalization_{i}"


def vgg_state(v: dict) -> dict:
    state = _bn("input_bn", _bn_name(0), v)
    for i in range(5):
        state |= _conv2d(f"convs.{i}", f"{i + 1}CNN", v) | _bn(f"bns.{i}", _bn_name(i + 1), v)
    return state | _dense("dense", "dense", v)


def musicnn_state(v: dict) -> dict:
    state = _bn("input_bn", _bn_name(0), v)
    convs = [f"conv2d_{i}" if i else "conv2d" for i in range(8)]
    for i in range(2):
        state |= _conv2d(f"timbral.{i}", convs[i], v) | _bn(f"timbral_bns.{i}", _bn_name(1 + i), v)
    for i in range(3):
        state |= _conv2d(f"temporal.{i}", convs[2 + i], v) | _bn(f"temporal_bns.{i}", _bn_name(3 + i), v)
    for i in range(3):
        kernel = v[f"{convs[5 + i]}/kernel"]  # [7, width, 1, out]: a 1-D conv over time
        state[f"midend.{i}.weight"] = kernel[:, :, 0, :].transpose(2, 1, 0)
        state[f"midend.{i}.bias"] = v[f"{convs[5 + i]}/bias"]
        state |= _bn(f"midend_bns.{i}", _bn_name(6 + i), v)
    state |= _bn("pool_bn", _bn_name(9), v) | _dense("penultimate", "dense", v)
    return state | _bn("penultimate_bn", _bn_name(10), v) | _dense("output", "dense_1", v)


def reference_inputs(recording: Path, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Fixed inputs ``[n, 187, 96]``: seeded random log-mels and two patches of a real recording."""
    import soundfile as sf

    from msd_tagging.audio.signal import MelConfig, decode, log_mel

    rng = np.random.default_rng(seed)
    random = rng.gamma(2.0, 0.6, size=(4, PATCH_FRAMES, 96)).astype(np.float32)  # log10(1 + 10^4 mel) lies in 0..5
    signal, _ = decode(recording, 16000)
    features = log_mel(signal, MelConfig()).T  # [frames, 96]
    start = min(len(features) // 3, len(features) - 2 * PATCH_FRAMES)
    real = features[start : start + 2 * PATCH_FRAMES].reshape(2, PATCH_FRAMES, 96)
    info = sf.info(recording)
    names = [f"random gamma(2, 0.6), seed {seed}, #{i}" for i in range(4)]
    names += [f"{recording.name} ({info.duration:.0f} s), frames {start + i * PATCH_FRAMES}+" for i in range(2)]
    return np.concatenate([random, real]).astype(np.float32), names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recording", type=Path, required=True, help="a real music recording for the reference input")
    parser.add_argument("--recording-licence", default="", help="its licence, stored with the reference")
    args = parser.parse_args()

    import musicnn
    import tensorflow as tf
    import torch

    from msd_tagging.audio.signal import MelConfig
    from msd_tagging.models.registry import build

    inputs, names = reference_inputs(args.recording)
    reference = {"inputs": inputs, "input_names": np.array(names)}
    licence = (Path(__file__).resolve().parent / "musicnn_LICENSE").read_text()
    for name, (checkpoint, architecture) in MODELS.items():
        session, x, sigmoid, embedding, variables = tf_model(checkpoint)
        tf_prob, tf_embedding = session.run([sigmoid, embedding], feed_dict={x: inputs})
        state = {k: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for k, a in (
            vgg_state(variables) if architecture == "musicnn_vgg" else musicnn_state(variables)
        ).items()}  # fmt: skip
        network = build(architecture, {})
        network.load_state_dict(state)
        network.eval()
        with torch.no_grad():
            logits, emb = network(torch.from_numpy(inputs))
        gap = float(np.abs(torch.sigmoid(logits).numpy() - tf_prob).max())
        gap_embedding = float(np.abs(emb.numpy() - tf_embedding).max())
        print(f"{name}: max |torch - TF| sigmoid {gap:.2e}, embedding {gap_embedding:.2e}")
        if gap > TOLERANCE:
            raise SystemExit(f"{name}: the port differs from TensorFlow by {gap:.2e} > {TOLERANCE}")
        result = (Path(musicnn.__file__).parent / checkpoint / "experiment.result").read_text().split()
        auc = [float(t) for t in result if t.replace(".", "", 1).isdigit()]
        record = {
            "format": "msd-tagging pretrained tagger, version 1",
            "architecture": architecture,
            "config": network.config.as_dict(),
            "state_dict": state,
            "tags": list(musicnn.configuration.MSD_LABELS),
            "preprocessing": {
                **MelConfig().as_dict(),
                "patch_frames": PATCH_FRAMES,
                "pad_short": "repeat-pad",
            },
            "provenance": {
                "source": f"musicnn {getattr(musicnn, '__version__', '0.1.0')} (PyPI wheel), checkpoint {checkpoint}",
                "trained_on": "Million Song Dataset, 50 most common Last.fm tags, split of Pons et al. 2018",
                "validation_roc_auc": auc[0] if auc else None,
                "validation_pr_auc": auc[1] if len(auc) > 1 else None,
                "converted_by": "tools/convert_musicnn.py",
                "tensorflow": tf.__version__,
                "max_abs_difference_from_tensorflow": gap,
                "licence": "ISC",
                "licence_text": licence,
            },
        }
        WEIGHTS.mkdir(parents=True, exist_ok=True)
        torch.save(record, WEIGHTS / f"{name}.pt")
        reference[f"{name}_sigmoid"] = tf_prob.astype(np.float32)
        reference[f"{name}_embedding"] = tf_embedding.astype(np.float32)
        session.close()
    _write_checksums()
    reference["recording_licence"] = np.array(args.recording_licence)
    reference["tensorflow"] = np.array(tf.__version__)
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(REFERENCE, **reference)
    print(f"wrote {', '.join(f'{n}.pt' for n in MODELS)} to {WEIGHTS} and {REFERENCE}")


def _write_checksums() -> None:
    """Record every weight file's SHA-256 beside them: the package checks each on load."""
    import hashlib

    lines = [f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}" for path in sorted(WEIGHTS.glob("*.pt"))]
    (WEIGHTS / "SHA256SUMS").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
