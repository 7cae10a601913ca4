"""Blockwise model-update filtering (Chen and Huo, ICASSP 2016).

After each block of local minibatches the workers' models are averaged into
``W_bar(t)``. The block's update ``G(t) = W_bar(t) - W_g(t-1)`` (against the
model the block started from) is filtered with block momentum ``eta`` and block
learning rate ``zeta``::

    Delta(t) = eta * Delta(t-1) + zeta * G(t)
    W(t)     = W(t-1) + Delta(t)
    W_g(t)   = W(t)                      classical block momentum (CBM)
    W_g(t)   = W(t) + eta * Delta(t)     Nesterov block momentum (NBM)

and every worker starts the next block from ``W_g(t)``. ``W(t)`` is the model
the training ends with. The paper's defaults: ``zeta = 1``, ``eta = 1 - 1/N``
for N averaged models. With ``eta = 0`` and ``zeta = 1`` this is plain model
averaging.
"""

from __future__ import annotations

import numpy as np


def default_block_momentum(models: int) -> float:
    """Chen and Huo's setting, ``1 - 1/N``."""
    return 1.0 - 1.0 / models


class BlockFilter:
    """The global model and block momentum that every synchronising party keeps identically."""

    def __init__(self, start: np.ndarray, eta: float, zeta: float, nesterov: bool):
        self.eta, self.zeta, self.nesterov = eta, zeta, nesterov
        self.model = start.copy()  # W(t)
        self.start = start.copy()  # W_g(t): where the next block starts
        self.delta = np.zeros_like(start)

    def update(self, average: np.ndarray) -> np.ndarray:
        """Fold in the block's averaged model; return the next block's start model."""
        self.delta *= self.eta
        self.delta += self.zeta * (average - self.start)
        self.model += self.delta
        self.start = self.model + self.eta * self.delta if self.nesterov else self.model.copy()
        return self.start
