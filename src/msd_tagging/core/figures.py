"""What every figure says about its data: :func:`with_note` puts ``figures.note`` at its foot."""

from __future__ import annotations


def with_note(fig, note: str):
    """``fig`` with ``note`` (``figures.note``) at its foot, in red; ``fig`` as it is when empty."""
    if note:
        fig.tight_layout(rect=(0, 0.12, 1, 1))  # room for two lines under the axes' labels
        fig.text(0.5, 0.01, note, ha="center", va="bottom", fontsize=8, color="#b22222", wrap=True)
    return fig
