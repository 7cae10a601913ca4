"""Numpy models for FedAvg: softmax (multinomial logistic) regression and a small MLP.

One class covers both: ``hidden=()`` is logistic regression, ``hidden=(32,)``
an MLP with one tanh layer. Parameters live in one flat float64 vector, so
that a client's update is one vector for secure aggregation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Net:
    """Layer sizes ``(inputs, *hidden, classes)``; softmax output, cross-entropy loss."""

    sizes: tuple[int, ...]

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [(a + 1, b) for a, b in zip(self.sizes, self.sizes[1:], strict=False)]

    @property
    def n_params(self) -> int:
        return sum(a * b for a, b in self.shapes)

    def init(self, rng: np.random.Generator) -> np.ndarray:
        """Glorot-style random weights, zero biases (the last row of each matrix)."""
        parts = []
        for a, b in self.shapes:
            w = rng.normal(0, np.sqrt(2.0 / (a - 1 + b)), size=(a, b))
            w[-1] = 0.0
            parts.append(w.ravel())
        return np.concatenate(parts)

    def _layers(self, w: np.ndarray) -> list[np.ndarray]:
        out, i = [], 0
        for a, b in self.shapes:
            out.append(w[i:i + a * b].reshape(a, b))
            i += a * b
        return out

    def _forward(self, w: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
        acts = [x]
        layers = self._layers(w)
        for k, m in enumerate(layers):
            z = acts[-1] @ m[:-1] + m[-1]
            acts.append(np.tanh(z) if k < len(layers) - 1 else z)
        return acts

    def predict(self, w: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.argmax(self._forward(w, x)[-1], axis=1)

    def accuracy(self, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.predict(w, x) == y))

    def gradient(self, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Mean cross-entropy gradient over the batch, by backpropagation."""
        acts = self._forward(w, x)
        z = acts[-1] - acts[-1].max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1.0
        delta = p / len(y)
        layers = self._layers(w)
        grads = []
        for k in range(len(layers) - 1, -1, -1):
            a = acts[k]
            grads.append(np.vstack([a.T @ delta, delta.sum(axis=0)]))
            if k:
                delta = (delta @ layers[k][:-1].T) * (1.0 - a * a)
        return np.concatenate([g.ravel() for g in reversed(grads)])

    def forward_work(self, rows: int) -> dict[str, float]:
        """What a forward pass over `rows` rows computes, by cost class (`sim.OPS`):
        one multiply-add per weight and row, a few element passes per unit."""
        units = sum(self.sizes[1:])
        return {"madd": rows * self.n_params, "ring": 6 * rows * units,
                "call": 6 * len(self.shapes)}

    def sgd_work(self, rows: int, epochs: int, batch: int) -> dict[str, float]:
        """What `sgd` computes: per minibatch a forward and a backward pass (three
        products per layer) and the update; small minibatches are mostly calls."""
        batches = epochs * -(-rows // batch)
        units = sum(self.sizes[1:])
        return {"madd": 3 * epochs * rows * self.n_params,
                "ring": epochs * (14 * rows * units + 2 * rows) + 4 * batches * self.n_params,
                "call": batches * (12 + 14 * len(self.shapes))}


def sgd(net: Net, w: np.ndarray, x: np.ndarray, y: np.ndarray, epochs: int, batch: int,
        lr: float, rng: np.random.Generator) -> np.ndarray:
    """Plain minibatch SGD for `epochs` passes, reshuffling each pass; returns new weights."""
    w = w.copy()
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for i in range(0, len(y), batch):
            rows = order[i:i + batch]
            w -= lr * net.gradient(w, x[rows], y[rows])
    return w
