"""A multi-layer perceptron with softmax output, on one flat float32 parameter vector.

Why flat: GTC thresholds and indexes the whole model as one vector, BMUF
averages and filters whole models, and a flat vector is one numpy array to send.
The layers are views into it (weights row-major, then biases, layer by layer).
`gradients` computes many workers' gradients at their own models in one batched
pass (the replay, `protocols.parallel.replay`); `gradient` is its one-worker
case, so a party and the replay compute bit-identical gradients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DTYPE = np.float32


@dataclass(frozen=True)
class MLP:
    """Layer sizes ``(inputs, hidden..., classes)``; ReLU hidden layers, softmax output."""

    sizes: tuple[int, ...]

    @property
    def n_params(self) -> int:
        return sum(a * b + b for a, b in zip(self.sizes, self.sizes[1:], strict=False))

    def layers(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """(weight, bias) views into `theta`, one model ``(P,)`` or a stack ``(N, P)``."""
        stack = theta.shape[:-1]
        out, at = [], 0
        for a, b in zip(self.sizes, self.sizes[1:], strict=False):
            w = theta[..., at:at + a * b].reshape(*stack, a, b)
            at += a * b
            out.append((w, theta[..., at:at + b]))
            at += b
        return out

    def init(self, rng: np.random.Generator) -> np.ndarray:
        """He-initialised weights, zero biases."""
        theta = np.zeros(self.n_params, dtype=DTYPE)
        for w, _ in self.layers(theta):
            w[...] = rng.normal(0.0, np.sqrt(2.0 / w.shape[0]), size=w.shape)
        return theta

    def logits(self, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        h = x
        layers = self.layers(theta)
        for i, (w, b) in enumerate(layers):
            h = h @ w + b
            if i + 1 < len(layers):
                np.maximum(h, 0, out=h)
        return h

    def gradient(self, theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Gradient of the mean cross-entropy over the minibatch ``(x, y)``."""
        return self.gradients(theta[None], x[None], y[None])[0]

    def gradients(self, thetas: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each worker's gradient at its own model: thetas ``(N, P)``, x ``(N, b, F)``,
        y ``(N, b)``; returns ``(N, P)``."""
        layers = self.layers(thetas)
        acts = [x]
        h = x
        for i, (w, b) in enumerate(layers):
            h = h @ w + b[:, None, :]
            if i + 1 < len(layers):
                np.maximum(h, 0, out=h)
            acts.append(h)
        z = acts[-1]
        p = np.exp(z - z.max(axis=2, keepdims=True))
        p /= p.sum(axis=2, keepdims=True)
        n, rows = y.shape
        p[np.arange(n)[:, None], np.arange(rows), y] -= 1.0
        delta = p / rows
        grad = np.empty_like(thetas)
        gl = self.layers(grad)
        for i in range(len(layers) - 1, -1, -1):
            gw, gb = gl[i]
            np.matmul(acts[i].transpose(0, 2, 1), delta, out=gw)
            gb[...] = delta.sum(axis=1)
            if i:
                delta = delta @ layers[i][0].transpose(0, 2, 1)
                delta *= acts[i] > 0
        return grad

    def error_rate(self, theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
        """Fraction of misclassified rows."""
        return float(np.mean(self.logits(theta, x).argmax(axis=1) != y))


def mlp(inputs: int, hidden: Sequence[int], classes: int) -> MLP:
    return MLP((inputs, *hidden, classes))
