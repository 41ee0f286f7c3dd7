"""The tag-completion benchmark's measure (benchmarks/tag_completion.py) on decisions whose
answer is known: its precision, the decided tags' probability gap and whether a gap or a
shortfall is beyond sampling noise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from tests.conftest import load_script


def _module():
    return load_script("benchmarks/tag_completion.py")


def test_the_poisson_binomial_p_value_is_the_binomial_one_at_equal_probabilities():
    tc = _module()
    p = np.full(50, 0.7)
    assert tc.poisson_binomial_p(30, p) == pytest.approx(2 * binom.cdf(30, 50, 0.7))
    assert tc.poisson_binomial_p(35, p) == pytest.approx(1.0)
    assert tc.poisson_binomial_p(0, np.array([0.6])) == pytest.approx(0.8)  # one wrong decision: no evidence


def test_measure_gives_the_precision_and_the_probability_gap_of_the_decisions():
    tc = _module()
    truth = np.zeros((100, 2), dtype=bool)
    truth[:60, 0] = True
    decided = np.zeros_like(truth)
    decided[:80, 0] = True  # 60 of 80 right
    probability = np.full(truth.shape, 0.1)
    probability[:80, 0] = 0.9
    m = tc.measure({"decided": decided, "truth": truth, "probability": probability}, 0.7, np.random.default_rng(0))
    assert m["precision"] == pytest.approx(0.75) and m["decisions_per_track"] == pytest.approx(0.8)
    assert m["probability_gap"] == pytest.approx(0.15)
    assert m["probability_gap_p"] < 0.001  # 60 right where 72 were promised, of 80
    assert m["below_target_p"] == pytest.approx(binom.cdf(60, 80, 0.7))


def test_a_world_of_one_wrong_decision_is_below_the_target_but_not_beyond_noise():
    tc = _module()
    row = {"rule": "certified", "target": 0.7, "hidden_tracks": 700}
    rows = [{**row, "precision": 0.0, "below_target_p": 0.3, "decisions_per_track": 1 / 700},
            {**row, "precision": 0.72, "below_target_p": 0.7, "decisions_per_track": 0.3}]  # fmt: skip
    sentence = tc.noise_sentence({"rows": rows})
    assert "at 0.7, 0 of 2 deciding worlds (1 below the target − 0.03, of 1 decisions)" in sentence


def test_the_selection_wants_no_world_short_beyond_noise_then_the_most_correct_decisions():
    """Margin 0.05 keeps the most correct decisions, and its one world 0.06 short of 0.7 is
    within noise: chosen over 0.08, which meets the literal tolerances with fewer. Margin
    0.03 would keep more still, but one world is short beyond noise. A world with no
    decision breaks nothing."""
    tc = _module()

    def row(margin, target, precision, correct, p_below=0.5, gap=0.0, p_gap=0.5):
        return {"rule": f"certified, margin {margin:g}, tag's mean", "target": target, "precision": precision,
                "mean_probability": None if precision is None else precision + gap, "correct_per_track": correct,
                "below_target_p": p_below, "probability_gap_p": p_gap}  # fmt: skip

    rows = [row(0.05, 0.6, 0.62, 1.2), row(0.05, 0.7, 0.64, 0.3, p_below=0.08, gap=0.06, p_gap=0.2),
            row(0.05, 0.7, None, 0.0), row(0.08, 0.6, 0.61, 1.1), row(0.08, 0.7, 0.72, 0.2),
            row(0.03, 0.6, 0.55, 1.5, p_below=0.01), row(0.03, 0.7, 0.71, 0.4)]  # fmt: skip
    rows.append({**rows[0], "rule": "certified, margin 0.05, tag's mean, one calibration per class"})  # not a candidate
    chosen = tc.selection_choice({"rows": rows})
    assert [c["rule"][len("certified, margin ") :][:4] for c in chosen] == ["0.05", "0.08", "0.03"]
    assert chosen[0]["worlds_short"] == chosen[0]["worlds_off"] == 1 and chosen[0]["worlds_below"] == 0
    assert chosen[2]["worlds_below"] == 1
    assert chosen[0]["correct_per_track"] == pytest.approx(1.2 + 0.15)  # the 0.7 worlds' mean, plus 0.6's
