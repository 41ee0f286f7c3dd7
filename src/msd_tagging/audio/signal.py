"""Decoding and log-mel features, with the per-file damage checks a 240k-file run needs.

Decode with soundfile (MP3 and everything libsndfile reads), downmix to mono, resample
with soxr, then a mel spectrogram (FFT 512, hop 256, 96 bands at 16 kHz by default) with
``log10(1 + 10000·x)`` (musicnn) or dB compression.

A damaged file is classified, never silently passed: ``zero_byte``, ``not_audio``,
``truncated`` (soundfile decodes a cut MP3 short *without an error*: the decoded length is
compared with the length the file's header declares and with the expected clip length),
``too_short`` and ``silent``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import asdict
from typing import Literal

import numpy as np

from msd_tagging.audio.workers import c_stderr_captured
from msd_tagging.core.config import number, parameters, setting
from msd_tagging.core.errors import MSDDataError

STATUSES = ("ok", "zero_byte", "unreadable", "not_audio", "truncated", "too_short", "silent")
# Files declaring a lower rate are not music (a 64-byte WAV at 1 Hz "lasts" 10 s); the
# lowest rate in common use for speech is 8 kHz.
MIN_SAMPLE_RATE = 4000


@parameters("audio.mel")
class MelConfig:
    """Log-mel front end (Pons et al. 2018 / musicnn defaults)."""

    sample_rate: int = setting(16000, minimum=MIN_SAMPLE_RATE)
    n_fft: int = setting(512, minimum=16)
    hop_length: int = setting(256, minimum=1)
    n_mels: int = setting(96, minimum=1)
    fmin: float = setting(0.0, minimum=0.0)
    fmax: float | None = setting(None, minimum=0.0)  # None: sample_rate / 2
    log: Literal["log10", "db"] = "log10"  # log10(1 + 10000·mel); "db": 10·log10(max(mel, 1e-10)), top 80 dB

    def __post_init__(self):
        if self.fmax is not None:
            number(self.fmax, "audio.mel.fmax", above=self.fmin, maximum=self.sample_rate / 2)

    def as_dict(self) -> dict:
        return asdict(self)


@parameters("audio.damage")
class DamageConfig:
    """When a decoded file counts as damaged.

    Attributes:
        expected_seconds: nominal clip length (30 for 7digital previews); 0 disables.
        truncation_tolerance: a clip shorter than (1 - this) × the declared or expected
            length is ``truncated``.
        min_seconds: shorter clips are ``too_short``.
        silence_peak: a clip whose peak absolute amplitude is below this is ``silent``.
        keep_truncated: extract features from truncated clips anyway (still reported).
        keep_silent: extract features from silent clips anyway (still reported).
    """

    expected_seconds: float = setting(0.0, minimum=0.0)
    truncation_tolerance: float = setting(0.1, minimum=0.0, maximum=1.0)
    min_seconds: float = setting(1.0, minimum=0.0)
    silence_peak: float = setting(1e-4, minimum=0.0)
    keep_truncated: bool = False
    keep_silent: bool = False


class NotMusicAudio(ValueError):
    """The file decodes, but declares a sample rate no music file has."""


class NonFiniteFeatures(MSDDataError):
    """Features came out NaN or infinite: the file holds non-finite samples."""


BLOCK_FRAMES = 1 << 18  # frames decoded at a time (6 s at 44.1 kHz): bounds memory on long files


def decode(
    path: str | os.PathLike, sample_rate: int, *, max_seconds: float | None = None, block_frames: int = BLOCK_FRAMES
) -> tuple[np.ndarray, int]:
    """Decode ``path`` to mono float32 at ``sample_rate``, block by block.

    Blocks are read into one reused buffer and downmixed; a file up to
    :data:`ONE_SHOT_FRAMES` long is resampled in one soxr call, a longer one through a
    streaming resampler, so only the mono signal at the target rate is ever held whole (a
    1-hour stereo FLAC peaks at the size of its 16-kHz mono signal, not of its native
    decode). The output equals resampling the whole signal at once.

    Args:
        max_seconds: decode at most this many seconds from the start (None: all).

    Returns:
        ``(signal, declared_frames_at_target_rate)``; the second is the length the file's
        header declares (0 when unknown; capped at ``max_seconds``), to compare with what
        actually decoded.

    Raises:
        soundfile.LibsndfileError / RuntimeError: when libsndfile cannot read the file.
        NotMusicAudio: when the file declares a sample rate below :data:`MIN_SAMPLE_RATE`.
    """
    import soundfile as sf

    with sf.SoundFile(path) as handle:
        native = handle.samplerate
        if native < MIN_SAMPLE_RATE:
            raise NotMusicAudio(
                f"declares a sample rate of {native} Hz, below the {MIN_SAMPLE_RATE} Hz of any music file"
            )
        declared = handle.frames if handle.frames and handle.frames < 2**62 else 0
        limit = int(max_seconds * native) if max_seconds else None
        if limit is not None and declared:
            declared = min(declared, limit)
        signal = _read_mono(handle, native, sample_rate, limit, declared, block_frames)
    if native != sample_rate:
        declared = int(round(declared * sample_rate / native))
    return np.ascontiguousarray(signal, dtype=np.float32), int(declared)


# Native frames resampled in one soxr call (47 s at 44.1 kHz, 8 MB of mono): a 30-s preview
# takes the quicker one-shot path; anything longer streams, so memory stays bounded.
ONE_SHOT_FRAMES = 1 << 21


def _read_mono(handle, native: int, rate: int, limit: int | None, declared: int, block_frames: int) -> np.ndarray:
    """Read ``handle`` block by block, sum its channels, resample to ``rate``, scale to the mean.

    Blocks are read into one reused buffer and summed into a mono array sized from the
    declared length, so a preview allocates nothing per block. A file that ends within
    :data:`ONE_SHOT_FRAMES` is resampled in one call; a longer one is streamed through
    ``soxr.ResampleStream`` in pieces of that size, each piece written straight into the
    output (no list of pieces to join, so a long file peaks at one copy of its output).
    Both give the same samples (to float32 rounding). Dividing by the channel count after
    resampling is the same linear map on fewer samples.
    """
    import soxr

    buffer = np.empty((block_frames, handle.channels), dtype=np.float32)
    resample = native != rate
    out = _Samples(int(declared * rate / native) + 16 if resample else max(declared, block_frames))
    mono = _Samples(min(max(declared, block_frames), ONE_SHOT_FRAMES)) if resample else out
    read, stream = 0, None
    while True:
        want = block_frames if limit is None else min(block_frames, limit - read)
        data = handle.read(out=buffer[:want]) if want > 0 else buffer[:0]
        read += len(data)
        if resample and mono.size + len(data) > ONE_SHOT_FRAMES:
            stream = stream or soxr.ResampleStream(native, rate, 1, dtype="float32", quality="HQ")
            out.extend(stream.resample_chunk(mono.drain()))
        _sum_channels(data, mono.reserve(len(data)))
        if len(data) < want or want <= 0 or (limit is not None and read >= limit):
            break
    if stream is not None:
        out.extend(stream.resample_chunk(mono.drain(), last=True))
    elif resample:
        out = _Samples.of(soxr.resample(mono.values(), native, rate, quality="HQ"))
    signal = out.values()
    if handle.channels > 1:
        signal *= np.float32(1.0 / handle.channels)
    return signal


class _Samples:
    """float32 samples appended into one array sized up front, doubled only when a file
    runs longer than its header said."""

    def __init__(self, capacity: int):
        self.array = np.empty(max(capacity, 1), dtype=np.float32)
        self.size = 0

    @classmethod
    def of(cls, values: np.ndarray) -> _Samples:
        samples = cls(0)
        samples.array, samples.size = values, len(values)
        return samples

    def reserve(self, n: int) -> np.ndarray:
        """The next ``n`` slots, to be written by the caller."""
        if self.size + n > self.array.size:
            grown = np.empty(max(self.size + n, 2 * self.array.size), dtype=np.float32)
            grown[: self.size] = self.array[: self.size]
            self.array = grown
        self.size += n
        return self.array[self.size - n : self.size]

    def extend(self, values: np.ndarray) -> None:
        self.reserve(len(values))[:] = values

    def values(self) -> np.ndarray:
        return self.array[: self.size]

    def drain(self) -> np.ndarray:
        """The samples held, emptying the buffer for reuse (use them before the next write)."""
        held, self.size = self.array[: self.size], 0
        return held


def _sum_channels(data: np.ndarray, out: np.ndarray) -> None:
    """Write the sum of the channel columns of ``data`` ``[frames, channels]`` into ``out``."""
    # Adding columns: data.mean(axis=1) over interleaved frames costs more than decoding.
    if data.shape[1] == 1:
        out[:] = data[:, 0]
        return
    np.add(data[:, 0], data[:, 1], out=out)
    for channel in range(2, data.shape[1]):
        out += data[:, channel]


@functools.lru_cache(maxsize=8)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None):
    """librosa's (Slaney) mel filter bank ``[n_mels, 1 + n_fft / 2]``, as a sparse matrix.

    Each FFT bin feeds at most two triangular filters, so the bank is about 2 % full (502
    of 24,672 entries at the defaults): the sparse product costs a third of the dense one.
    """
    import librosa
    from scipy import sparse

    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return sparse.csr_array(basis.astype(np.float32))


@functools.lru_cache(maxsize=8)
def _window(n_fft: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)  # periodic Hann


MEL_BLOCK_FRAMES = 4096  # spectrogram frames computed at a time (65 s at hop 256, 16 kHz)


def log_mel(signal: np.ndarray, config: MelConfig) -> np.ndarray:
    """Log-mel spectrogram of a mono signal at ``config.sample_rate``.

    Frames are centred (zero-padded by ``n_fft // 2``) as in ``librosa.feature.melspectrogram``
    with its defaults, which this matches to float32 precision. Frames are transformed in
    blocks of :data:`MEL_BLOCK_FRAMES`, so memory stays bounded on long recordings (a
    30-s preview is one block).

    Returns:
        float32 ``[shape=(n_mels, 1 + len(signal) // hop_length)]``.
    """
    n_fft, hop = config.n_fft, config.hop_length
    signal = signal.astype(np.float32, copy=False)
    n_frames = 1 + signal.size // hop
    basis = _mel_basis(config.sample_rate, n_fft, config.n_mels, config.fmin, config.fmax)
    if n_frames <= MEL_BLOCK_FRAMES:
        mel = _mel_power(_frames(signal, 0, n_frames, n_fft, hop), basis, n_fft)
    else:
        mel = np.empty((config.n_mels, n_frames), dtype=np.float32)
        for start in range(0, n_frames, MEL_BLOCK_FRAMES):
            count = min(MEL_BLOCK_FRAMES, n_frames - start)
            mel[:, start : start + count] = _mel_power(_frames(signal, start, count, n_fft, hop), basis, n_fft)
    if config.log == "log10":
        # log10(1 + 10000·mel) in place, through ln: numpy's float32 log is vectorised, its log10 is not.
        mel *= np.float32(10000.0)
        mel += np.float32(1.0)
        np.log(mel, out=mel)
        mel *= np.float32(1.0 / np.log(10.0))
        return mel
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    return np.maximum(db, db.max() - 80.0)


def _frames(signal: np.ndarray, start: int, count: int, n_fft: int, hop: int) -> np.ndarray:
    """Centred frames ``start … start + count - 1`` of ``signal`` ``[count, n_fft]``.

    A view into the signal where the frames lie inside it; only a block that reaches past
    either end is copied, zero-padded (librosa's ``center=True``), so a long recording is
    never copied whole.
    """
    first = start * hop - n_fft // 2  # sample under the first frame's first point
    length = (count - 1) * hop + n_fft
    left = max(-first, 0)
    segment = signal[first + left : first + length]
    if segment.size < length:
        segment = np.pad(segment, (left, length - left - segment.size))
    return np.lib.stride_tricks.as_strided(
        segment, shape=(count, n_fft), strides=(segment.strides[0] * hop, segment.strides[0]), writeable=False
    )


def _mel_power(frames: np.ndarray, basis, n_fft: int) -> np.ndarray:
    """Mel power ``[n_mels, len(frames)]`` of windowed frames ``[n, n_fft]``.

    The FFT runs down the columns of the transposed frames (pocketfft then transforms
    several frames per SIMD step), and the power is squared in place on the spectrum's
    float view: 1.7x faster than the row-wise FFT and dense mel product on a 30-s preview.
    """
    from scipy import fft

    spectrum = fft.rfft((frames * _window(n_fft)).T, axis=0)  # complex64: [1 + n_fft/2, frames]
    parts = spectrum.view(np.float32)  # [bins, 2·frames]: re, im interleaved
    np.square(parts, out=parts)
    return np.asarray(basis @ np.add(parts[:, 0::2], parts[:, 1::2]), dtype=np.float32)


def check_and_extract(
    path: str | os.PathLike, mel: MelConfig, damage: DamageConfig, *, max_seconds: float | None = None
) -> tuple[np.ndarray | None, str, str]:
    """Decode, classify damage and extract features for one file.

    Args:
        max_seconds: use at most this many seconds from the start (None: the whole file).

    Returns:
        ``(features or None, status, detail)`` with ``status`` one of :data:`STATUSES`;
        features are float32 ``[n_mels, n_frames]`` unless the file is skipped.

    Raises:
        NonFiniteFeatures: if features come out non-finite (the training data must not hold
            such a file: the run stops, naming it; ``tag_audio`` reports it instead).
    """
    import soundfile as sf

    size, problem = _file_problem(path)
    if problem is not None:
        return (None, *problem)
    try:
        with c_stderr_captured() as decoder_said:
            signal, declared = decode(path, mel.sample_rate, max_seconds=max_seconds)
    except NotMusicAudio as exc:
        return None, "not_audio", f"{exc} ({size} bytes)"
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        return None, "not_audio", f"cannot be decoded as audio ({size} bytes): {what_is_in(path, exc)}"

    note = decoder_note(decoder_said[0])
    rate = mel.sample_rate
    seconds = signal.size / rate
    # Truncation first: a cut file is damaged, whatever length is left.
    expected = max(declared, int(damage.expected_seconds * rate))
    status, detail = "ok", ""
    if expected and signal.size < (1 - damage.truncation_tolerance) * expected:
        status, detail = "truncated", f"decoded {seconds:.2f} s of {expected / rate:.2f} s"
        if not damage.keep_truncated:
            return None, status, _joined(detail, note)
    if signal.size < damage.min_seconds * rate:
        return None, "too_short", _joined(f"{seconds:.2f} s < min_seconds {damage.min_seconds}", note)
    peak = float(max(signal.max(), -signal.min())) if signal.size else 0.0  # no |signal| copy
    if peak < damage.silence_peak:
        status, detail = "silent", f"peak {peak:.2e} < {damage.silence_peak:.0e}"
        if not damage.keep_silent:
            return None, status, _joined(detail, note)
    features = log_mel(signal, mel)
    if not np.isfinite(features).all():
        raise NonFiniteFeatures(
            "log-mel features are not finite (NaN or inf).",
            path=path,
            fix="check the file decodes in another player; report it if it does.",
        )
    return features, status, _joined(detail, note)


def what_is_in(path: str | os.PathLike, error: Exception) -> str:
    """What a file that does not decode holds, from its first bytes. libsndfile words
    every unreadable file as "does not exist or is not a regular file", though the file
    exists (it was stat-ed): its message is kept only when it says something else."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    stripped = head.lstrip()
    lowered = stripped[:64].lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        found = "an HTML page (a download that saved an error page?)"
    elif lowered.startswith(b"<?xml") or lowered.startswith(b"<"):
        found = "XML or markup, not audio"
    elif head.startswith(b"ID3"):
        found = "an ID3 tag with no audio frames after it"
    elif head.startswith(b"version https://git-lfs"):
        found = "a Git LFS pointer, not the file (run git lfs pull)"
    elif head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        found = f"text, starting {head[:40].decode('ascii')!r}"
    else:
        found = f"data in no format libsndfile knows (first bytes {head[:8].hex(' ')})"
    said = str(error).strip()
    if said and "does not exist" not in said and "not a regular file" not in said:
        found += f"; libsndfile: {said[:120]}"
    return found


def _file_problem(path: str | os.PathLike) -> tuple[int, tuple[str, str] | None]:
    """The file's size, and ``(status, detail)`` when it cannot even be opened or is empty."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        return 0, ("not_audio", f"cannot stat: {exc}")
    if size == 0:
        return 0, ("zero_byte", "file is empty")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        return size, ("unreadable", "permission denied: this user may not read the file")
    except OSError as exc:
        return size, ("unreadable", f"cannot open: {exc.strerror or exc}")
    return size, None


DECODER_PREFIX = "decoder: "


def decoder_note(text: str) -> str:
    """What the C decoder printed, as one short note for a report ("" when it said nothing)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    note = DECODER_PREFIX + lines[0].removeprefix("Warning: ")[:200]
    return note + (f" (+{len(lines) - 1} more lines)" if len(lines) > 1 else "")


def _joined(detail: str, note: str) -> str:
    return "; ".join(part for part in (detail, note) if part)
