"""Renders a demo track's audio from its audible attributes.

What a tagger can hear: tempo and drum pattern (four-on-the-floor, backbeat, boom-bap,
swing, punk, metal double kick, none), lead and bass timbre (distorted or clean guitar,
plucked strings, synth, pad, brass, piano), distortion, major or minor chords, a
voice-like source through vowel formants (female or male pitch, rapped or sung), and
acoustic (noisy, decaying, roomy) versus electronic (clean, sustained) sounds, and the
decade the production sounds like (bandwidth, tape hiss, loudness), which is the
track's real era only for some tracks.
What it cannot hear: the real era and the qualities (beautiful, catchy, sexy, party);
the renderer never reads them.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

# Vowel formants (F1, F2, F3) in Hz, roughly /a e i o u/.
VOWELS = np.array([[800, 1200, 2500], [500, 1900, 2600], [300, 2300, 3000], [500, 900, 2400], [330, 800, 2300]])

# 16-step drum patterns: (kick, snare, hat) step lists.
PATTERNS = {
    "four": ((0, 4, 8, 12), (4, 12), (2, 6, 10, 14)),
    "backbeat": ((0, 8, 10), (4, 12), (0, 2, 4, 6, 8, 10, 12, 14)),
    "boombap": ((0, 7, 10), (4, 12), (0, 2, 4, 6, 8, 10, 12, 14)),
    "swing": ((0, 8), (), (0, 4, 7, 8, 12, 15)),
    "punk": ((0, 4, 8, 12), (2, 6, 10, 14), (0, 2, 4, 6, 8, 10, 12, 14)),
    "metal": (tuple(range(16)), (4, 12), (0, 4, 8, 12)),
    "none": ((), (), ()),
}
MAJOR_PROGRESSION = ((0, "maj"), (7, "maj"), (9, "min"), (5, "maj"))
MINOR_PROGRESSION = ((0, "min"), (8, "maj"), (3, "maj"), (10, "maj"))
TRIADS = {"maj": (0, 4, 7), "min": (0, 3, 7)}


def midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def render_track(attrs: dict, *, sample_rate: int, seconds: float, seed: int) -> np.ndarray:
    """Render one clip.

    Args:
        attrs: audible attributes of a demo track (``genre``, ``lead``, ``drums``,
            ``bpm``, ``major``, ``acoustic``, ``vocals``, ``key``, ``energy``, and
            optionally ``production``, the decade it sounds like).
        sample_rate: output rate in Hz.
        seconds: clip length.
        seed: rendering seed (the same seed gives the same samples).

    Returns:
        Mono float32 signal ``[shape=(round(seconds * sample_rate),)]`` peaking near -3 dBFS.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    out = np.zeros(n)
    beat = 60.0 / attrs["bpm"]
    step = beat / 4
    acoustic = bool(attrs["acoustic"])
    progression = MAJOR_PROGRESSION if attrs["major"] else MINOR_PROGRESSION
    root = 48 + int(attrs["key"])

    # Chords change every bar (4 beats).
    bar = 4 * beat
    chords = []
    time = 0.0
    while time < seconds:
        degree, quality = progression[len(chords) % len(progression)]
        chords.append((time, root + degree, TRIADS[quality]))
        time += bar

    out += 0.9 * _drums(attrs["drums"], n, step, sample_rate, acoustic, rng)
    out += 0.35 * _bass(chords, n, beat, sample_rate, acoustic, attrs["genre"], rng)
    out += 0.7 * _lead(attrs["lead"], chords, n, beat, sample_rate, rng)
    if attrs["vocals"] != "none":
        out += 0.6 * _voice(attrs["vocals"], attrs["genre"] == "hiphop", chords, n, beat, sample_rate, rng)
    if acoustic:
        out = _room(out, sample_rate, rng)
    out += 0.002 * rng.standard_normal(n)  # noise floor
    if "production" in attrs:
        out = _master(out, attrs["production"], sample_rate, rng)
    out *= 0.7 / (np.max(np.abs(out)) + 1e-9)
    return out.astype(np.float32)


def _env(length: int, sample_rate: int, decay: float, attack: float = 0.003) -> np.ndarray:
    """Attack-decay envelope of ``length`` samples (cached: notes repeat)."""
    return _cached_env(int(length), int(sample_rate), float(decay), float(attack))


@functools.lru_cache(maxsize=1024)
def _cached_env(length: int, sample_rate: int, decay: float, attack: float) -> np.ndarray:
    k = np.arange(length) / sample_rate
    env = np.minimum(k / attack, 1.0) * np.exp(-k / decay)
    env.flags.writeable = False
    return env


def _place(out: np.ndarray, start: float, sound: np.ndarray, sample_rate: int) -> None:
    i = int(start * sample_rate)
    if i >= out.size:
        return
    m = min(sound.size, out.size - i)
    out[i : i + m] += sound[:m]


def _drums(pattern: str, n: int, step: float, sr: int, acoustic: bool, rng) -> np.ndarray:
    out = np.zeros(n)
    kicks, snares, hats = PATTERNS[pattern]
    swing = pattern in ("swing", "boombap")
    L = int(0.25 * sr)
    k = np.arange(L) / sr
    sweep = 45 + 90 * np.exp(-k / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(sweep) / sr) * _env(L, sr, 0.09 if acoustic else 0.18)
    noise = rng.standard_normal(L)
    snare = (0.6 * noise + 0.4 * np.sin(2 * np.pi * 190 * k)) * _env(L, sr, 0.07 if acoustic else 0.12)
    hat_noise = np.diff(rng.standard_normal(L + 1))
    hat = 0.35 * hat_noise * _env(L, sr, 0.05 if pattern == "swing" else 0.025)
    if acoustic:
        kick = kick + 0.15 * noise * _env(L, sr, 0.01)
    n_bars = int(np.ceil(n / sr / (16 * step))) + 1
    for b in range(n_bars):
        for s in range(16):
            time = (b * 16 + s) * step
            if swing and s % 2 == 1:
                time += step / 3
            gain = 1.0 + 0.1 * rng.standard_normal() if acoustic else 1.0
            if s in kicks:
                _place(out, time, gain * kick, sr)
            if s in snares:
                _place(out, time, 0.8 * gain * snare, sr)
            if s in hats:
                _place(out, time, gain * hat, sr)
    return out


_TABLE_SIZE = 4096
_GRID = np.arange(_TABLE_SIZE) / _TABLE_SIZE


def _wavetable(harmonics: np.ndarray, max_harmonic: int) -> np.ndarray:
    """One period of a waveform with the given harmonic amplitudes (band-limited)."""
    return _cached_wavetable(tuple(float(a) for a in harmonics[:max_harmonic]))


@functools.lru_cache(maxsize=256)
def _cached_wavetable(amplitudes: tuple[float, ...]) -> np.ndarray:
    table = np.zeros(_TABLE_SIZE)
    for h, amp in enumerate(amplitudes, start=1):
        if amp:
            table += amp * np.sin(2 * np.pi * h * _GRID)
    table.flags.writeable = False
    return table


def _tone(
    freq: float, length: int, sr: int, harmonics: np.ndarray, decays: np.ndarray | None, vibrato: float = 0.0
) -> np.ndarray:
    """Harmonics ``k·freq`` with amplitudes ``harmonics[k-1]``, read from a wavetable.

    With ``decays``, the two lowest harmonics (the body) and the rest (the brightness)
    decay at their own rates, so a plucked or struck tone dulls as it rings.
    """
    k = np.arange(length) / sr
    cycles = freq * k
    if vibrato:
        cycles = cycles + vibrato * freq * np.sin(2 * np.pi * 5.5 * k) / (2 * np.pi * 5.5)
    index = ((cycles % 1.0) * _TABLE_SIZE).astype(np.intp)
    max_harmonic = max(1, int(sr / 2 // freq))
    if decays is None:
        return _wavetable(harmonics, max_harmonic)[index]
    body = np.where(np.arange(harmonics.size) < 2, harmonics, 0)
    bright = harmonics - body
    bright_decay = float(np.mean(decays[2:] if decays.size > 2 else decays))
    return _wavetable(body, max_harmonic)[index] * _env(length, sr, float(decays[0]), attack=1e-9) + _wavetable(
        bright, max_harmonic
    )[index] * _env(length, sr, bright_decay, attack=1e-9)


def _bass(chords, n, beat, sr, acoustic, genre, rng) -> np.ndarray:
    out = np.zeros(n)
    L = int(beat * sr)
    if acoustic:
        harmonics, decays = np.array([1, 0.5, 0.25, 0.12]), np.array([0.5, 0.3, 0.2, 0.1])
    else:
        harmonics, decays = 1 / np.arange(1, 9), None  # saw-like, sustained
    for start, note, _ in chords:
        for b in range(4):
            f = midi_hz(note - 12 + (7 if b == 2 and genre != "ambient" else 0))
            sound = _tone(f, L, sr, harmonics, decays) * _env(L, sr, 0.25 if acoustic else 2.0)
            _place(out, start + b * beat, 0.5 * sound, sr)
    return out


def _lead(lead: str, chords, n, beat, sr, rng) -> np.ndarray:
    out = np.zeros(n)
    if lead == "dist_guitar":
        # Power chords (root + fifth) chugged on eighths through a hard clipper: the
        # clipping, not the source, makes the dense harmonics and intermodulation.
        L = int(beat / 2 * sr)
        source = np.array([1.0, 0.3, 0.1])
        for start, note, _ in chords:
            f = midi_hz(note + 12)
            chord = _tone(f, L, sr, source, None) + _tone(f * 1.5, L, sr, source, None)
            sound = np.tanh(8.0 * chord) * _env(L, sr, 0.4)
            for e in range(8):
                _place(out, start + e * beat / 2, 0.3 * sound, sr)
        return out
    if lead == "pad":
        # Detuned sustained saws with slow swells.
        for start, note, triad in chords:
            L = int(4 * beat * sr)
            k = np.arange(L) / sr
            swell = np.sin(np.pi * np.clip(k / (4 * beat), 0, 1)) ** 2
            sound = sum(
                _tone(midi_hz(note + 12 + iv) * (1 + d), L, sr, 1 / np.arange(1, 6), None)
                for iv in triad
                for d in (-0.004, 0.004)
            )
            _place(out, start, 0.15 * sound * swell, sr)
        return out
    spec = {
        "clean_guitar": (np.array([1, 0.6, 0.4, 0.3, 0.2, 0.1]), np.array([0.8, 0.5, 0.35, 0.25, 0.18, 0.12]), 0.0, 8),
        "pluck": (
            np.array([1, 0.7, 0.5, 0.35, 0.25, 0.18, 0.12, 0.08]),
            np.array([0.5, 0.3, 0.18, 0.12, 0.09, 0.06, 0.05, 0.04]),
            0.0,
            4,
        ),
        "synth": (np.array([1, 0, 1 / 3, 0, 1 / 5, 0, 1 / 7, 0, 1 / 9]), None, 0.0, 8),
        "brass": (np.array([0.6, 1, 0.8, 0.6, 0.45, 0.3, 0.2, 0.12]), None, 0.006, 2),
        "piano": (np.array([1, 0.5, 0.3, 0.2, 0.1, 0.05]), np.array([1.2, 0.7, 0.4, 0.25, 0.15, 0.1]), 0.0, 4),
    }[lead]
    harmonics, decays, vibrato, per_bar = spec
    L = int(4 * beat / per_bar * sr)
    for start, note, triad in chords:
        for i in range(per_bar):
            iv = triad[i % 3] + (12 if i % 6 >= 3 else 0)
            f = midi_hz(note + 12 + iv)
            envelope = _env(L, sr, 0.3, attack=0.04 if lead == "brass" else 0.004)
            if lead == "synth":
                envelope = np.minimum(np.arange(L) / (0.005 * sr), 1.0) * (np.arange(L) < 0.8 * L)
            sound = _tone(f, L, sr, harmonics, decays, vibrato) * envelope
            if lead == "pluck":  # strum: add the other chord tones slightly later
                for j, other in enumerate(triad[1:], start=1):
                    _place(
                        out,
                        start + i * 4 * beat / per_bar + 0.015 * j,
                        0.25 * _tone(midi_hz(note + 12 + other), L, sr, harmonics, decays) * envelope,
                        sr,
                    )
            _place(out, start + i * 4 * beat / per_bar, 0.25 * sound, sr)
    return out


def _resonator(x: np.ndarray, freq: float, bandwidth: float, sr: int) -> np.ndarray:
    r = np.exp(-np.pi * bandwidth / sr)
    theta = 2 * np.pi * freq / sr
    return lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], x)


def _voice(kind: str, rapped: bool, chords, n, beat, sr, rng) -> np.ndarray:
    """Glottal-like pulses through three vowel formants, syllable by syllable."""
    out = np.zeros(n)
    base = 57 if kind == "female" else 45  # A3 vs A2
    syllable = beat / 4 if rapped else beat
    time = 0.0
    while time < n / sr:
        chord = max((c for c in chords if c[0] <= time), key=lambda c: c[0])
        note = base + chord[1] % 12 + (0 if rapped else chord[2][rng.integers(3)])
        f0 = midi_hz(note)
        L = int(syllable * sr * (0.8 if rapped else 0.9))
        k = np.arange(L) / sr
        vib = 0.0 if rapped else 0.01 * np.sin(2 * np.pi * 5 * k)
        phase = np.cumsum(f0 * (1 + vib)) / sr
        source = 2 * (phase % 1.0) - 1 + 0.05 * rng.standard_normal(L)  # buzzy pulse + breath
        f1, f2, f3 = VOWELS[rng.integers(len(VOWELS))] * (1.15 if kind == "female" else 1.0)
        sound = (
            _resonator(source, f1, 80, sr)
            + 0.6 * _resonator(source, f2, 100, sr)
            + 0.3 * _resonator(source, f3, 120, sr)
        )
        sound *= np.minimum(k / 0.02, 1) * np.minimum((L / sr - k) / 0.03, 1)
        _place(out, time, 3 * sound, sr)
        time += syllable * (1 if not rapped or rng.random() > 0.2 else 2)
    return out


# Per decade: low-pass corner (Hz; None = full band), tape hiss relative to the peak,
# and drive of the bus compression (tanh; 0 = none). Older: duller and hissier; newer:
# brighter and louder.
PRODUCTION = {
    "60s": (2800.0, 0.02, 0.0),
    "70s": (4000.0, 0.01, 0.0),
    "80s": (5500.0, 0.003, 1.0),
    "90s": (7000.0, 0.0, 2.0),
    "00s": (None, 0.0, 4.0),
}


def _master(x: np.ndarray, decade: str, sr: int, rng) -> np.ndarray:
    """Production of a decade: band-limit, tape hiss and bus compression."""
    corner, hiss, drive = PRODUCTION[decade]
    peak = np.max(np.abs(x)) + 1e-9
    x = x / peak
    if corner is not None and corner < sr / 2:
        x = sosfilt(_lowpass(corner, sr), x)
    if hiss:
        x = x + hiss * sosfilt(_lowpass(min(6000.0, 0.45 * sr), sr), rng.standard_normal(x.size))
    if drive:
        x = np.tanh(drive * x) / np.tanh(drive)
    return x


@functools.lru_cache(maxsize=16)
def _lowpass(corner: float, sr: int) -> np.ndarray:
    return butter(4, corner, btype="low", fs=sr, output="sos")


def _room(x: np.ndarray, sr: int, rng) -> np.ndarray:
    """A cheap room: a few decaying early reflections."""
    out = x.copy()
    for delay, gain in ((0.023, 0.35), (0.041, 0.25), (0.067, 0.18), (0.097, 0.1)):
        d = int(delay * sr)
        out[d:] += gain * x[:-d]
    return out
