"""What the built-in stoppers share."""

from __future__ import annotations

import numpy as np


def box_diagonal(bounds: np.ndarray) -> float:
    """Length of the diagonal of the box: distance from all lower bounds to all upper bounds."""
    return float(np.linalg.norm(bounds[:, 1] - bounds[:, 0]))
