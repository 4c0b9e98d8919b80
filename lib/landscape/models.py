"""Real networks as landscapes.

:class:`ModelLandscape` looks at any Keras model through a flat vector of its
trainable weights. The model is never rewritten: the loss at a vector ``P`` is
computed with Keras' ``stateless_call``, which runs the model with the weights
passed in as tensors, so ``P`` is an ordinary differentiable input.
"""
from __future__ import annotations

import zlib

import numpy as np
import tensorflow as tf

from .core import FlatView, as_params, check_int, compile_per_instance
from .data import Dataset

__all__ = ["ModelLandscape", "mlp", "simple_cnn"]


def _regularizer(l2):
    if not isinstance(l2, (int, float)) or l2 < 0:
        raise ValueError(f"l2 must be a number >= 0, got {l2!r}")
    return tf.keras.regularizers.L2(l2) if l2 > 0 else None


def _check_dropout(dropout):
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")


def mlp(input_shape, num_classes: int = 10, widths=(64, 32), *, activation: str = "tanh",
        dropout: float = 0.0, l2: float = 0.0, seed: int = 0) -> tf.keras.Model:
    """A fully connected network of any width and depth, returning logits."""
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    widths = [check_int(w, "widths[i]", minimum=1) for w in widths]
    _check_dropout(dropout)
    seed = check_int(seed, "seed", minimum=0)
    layers = [tf.keras.Input(tuple(input_shape)), tf.keras.layers.Flatten()]
    for i, width in enumerate(widths):
        layers.append(tf.keras.layers.Dense(
            width, activation=activation, kernel_regularizer=_regularizer(l2),
            kernel_initializer=tf.keras.initializers.GlorotUniform(seed=seed * 1000 + i)))
        if dropout:
            layers.append(tf.keras.layers.Dropout(dropout, seed=seed * 1000 + i))
    layers.append(tf.keras.layers.Dense(
        num_classes, kernel_regularizer=_regularizer(l2),
        kernel_initializer=tf.keras.initializers.GlorotUniform(seed=seed * 1000 + len(widths))))
    return tf.keras.Sequential(layers, name="mlp")


def simple_cnn(input_shape, num_classes: int = 10, channels=(16, 32, 32), *, activation: str = "tanh",
               dropout: float = 0.0, l2: float = 0.0, seed: int = 0) -> tf.keras.Model:
    """The paper's SimpleCNN: 3x3 convolutions each followed by 2x2 max pooling
    (16, 32, 32 channels, tanh), then a dense layer to the logits."""
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    channels = [check_int(c, "channels[i]", minimum=1) for c in channels]
    _check_dropout(dropout)
    seed = check_int(seed, "seed", minimum=0)
    layers = [tf.keras.Input(tuple(input_shape))]
    for i, width in enumerate(channels):
        layers.append(tf.keras.layers.Conv2D(
            width, 3, padding="same", activation=activation, kernel_regularizer=_regularizer(l2),
            kernel_initializer=tf.keras.initializers.GlorotUniform(seed=seed * 1000 + i)))
        layers.append(tf.keras.layers.MaxPooling2D(2, padding="same"))
    layers.append(tf.keras.layers.Flatten())
    if dropout:
        layers.append(tf.keras.layers.Dropout(dropout, seed=seed))
    layers.append(tf.keras.layers.Dense(
        num_classes, kernel_regularizer=_regularizer(l2),
        kernel_initializer=tf.keras.initializers.GlorotUniform(seed=seed * 1000 + len(channels))))
    return tf.keras.Sequential(layers, name="simple_cnn")


class ModelLandscape:
    """A Keras model plus a dataset, seen as a loss over a flat weight vector.

    Parameters
    ----------
    model : a built ``tf.keras.Model`` returning logits (or probabilities with
        ``loss_fn`` set accordingly). It is not modified except by :meth:`assign`.
    data : a :class:`~landscape.data.Dataset`, or a tuple ``(x, y)`` of training arrays.
    batch_size : minibatch size used by training loops (``None``: full batch).
    loss_fn : a Keras loss; default sparse categorical cross-entropy on logits.
    include_regularization : add the model's regularization losses (e.g. L2).
    eval_batch_size : full-data evaluations are done in chunks of this size.
    seed : seed of the minibatch order.
    """

    def __init__(self, model, data, *, batch_size: int | None = None, loss_fn=None,
                 include_regularization: bool = True, eval_batch_size: int = 4096, seed: int = 0):
        if not isinstance(model, tf.keras.Model):
            raise TypeError(f"model must be a tf.keras.Model, got {type(model).__name__}")
        if not model.built:
            raise ValueError("model must be built (give it an Input layer or call it once)")
        if isinstance(data, Dataset):
            x, y = data.x_train, data.y_train
            self.dataset = data
        elif isinstance(data, (tuple, list)) and len(data) == 2:
            x, y = data
            self.dataset = None
        else:
            raise TypeError("data must be a landscape.data.Dataset or a tuple (x_train, y_train)")
        x = np.asarray(x, dtype=np.float32)
        y = np.asarray(y)
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"data must hold as many labels as inputs (> 0); got {len(x)} and {len(y)}")
        self.model = model
        self.view = FlatView(model.trainable_variables)
        self.dim = self.view.dim
        self.num_examples = len(x)
        self.batch_size = self.num_examples if batch_size is None else check_int(
            batch_size, "batch_size", minimum=1, maximum=self.num_examples)
        self.eval_batch_size = check_int(eval_batch_size, "eval_batch_size", minimum=1)
        self.seed = check_int(seed, "seed", minimum=0)
        self.include_regularization = bool(include_regularization)
        self.loss_fn = loss_fn or tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.x_train = tf.constant(x)
        self.y_train = tf.constant(y)
        self._non_trainable = [tf.convert_to_tensor(v) for v in model.non_trainable_variables]
        self._loss_and_grad_fn = compile_per_instance(self._full_loss_and_grad, reduce_retracing=True)
        self._loss_fn = compile_per_instance(self._full_loss, reduce_retracing=True)
        self._logits_fn = compile_per_instance(self._logits, reduce_retracing=True)

    def __repr__(self) -> str:
        return f"ModelLandscape({self.model.name}, dim={self.dim}, examples={self.num_examples})"

    # -- the protocol -------------------------------------------------------------
    @property
    def params(self) -> tf.Tensor:
        """The model's current weights as a flat vector."""
        return self.view.flatten()

    def assign(self, params) -> None:
        """Write a flat vector into the model's weights (e.g. to save the model)."""
        self.view.assign(params)

    def _batch_loss(self, params, x, y, training):
        weights = self.view.unflatten(params)
        if self.include_regularization and self.model.losses:
            # Regularization losses of the weights in ``params``, not of the stored ones.
            logits, _, extra = self.model.stateless_call(
                weights, self._non_trainable, x, training=training, return_losses=True)
            return self.loss_fn(y, logits) + tf.add_n(extra)
        logits, _ = self.model.stateless_call(weights, self._non_trainable, x, training=training)
        return self.loss_fn(y, logits)

    def _chunks(self):
        size = self.eval_batch_size
        return [(start, min(start + size, self.num_examples)) for start in range(0, self.num_examples, size)]

    def _full_loss(self, params):
        total = 0.0
        for start, stop in self._chunks():
            weight = (stop - start) / self.num_examples
            total += weight * self._batch_loss(
                params, self.x_train[start:stop], self.y_train[start:stop], False)
        return total

    def _full_loss_and_grad(self, params):
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss = self._full_loss(params)
        return loss, tape.gradient(loss, params)

    def loss(self, params) -> tf.Tensor:
        """Mean training loss over the whole training set (dropout off)."""
        return self._loss_fn(as_params(params, self.dim))

    def loss_and_grad(self, params):
        return self._loss_and_grad_fn(as_params(params, self.dim))

    def minibatch_loss_and_grad(self, params, step):
        """Loss and gradient on minibatch number ``step`` (reshuffled every epoch,
        seeded, so a run is reproducible). Dropout is on while training."""
        if self.batch_size == self.num_examples:
            x, y = self.x_train, self.y_train
        else:
            per_epoch = self.num_examples // self.batch_size
            epoch = step // per_epoch
            order = tf.argsort(tf.random.stateless_uniform(
                [self.num_examples], seed=tf.stack([tf.cast(self.seed, tf.int64), tf.cast(epoch, tf.int64)])))
            start = (step % per_epoch) * self.batch_size
            index = order[start:start + self.batch_size]
            x, y = tf.gather(self.x_train, index), tf.gather(self.y_train, index)
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss = self._batch_loss(params, x, y, True)
        return loss, tape.gradient(loss, params)

    def initial_params(self, seed: int = 0) -> tf.Tensor:
        """Fresh weights drawn by the model's own initializers, seeded.

        The model is cloned with every initializer given a seed derived from
        ``seed``; the model itself is untouched.
        """
        seed = check_int(seed, "seed", minimum=0)

        def reseeded(layer):
            config = layer.get_config()
            for key, value in config.items():
                if key.endswith("_initializer") and isinstance(value, dict) and "seed" in value.get("config", {}):
                    salt = zlib.crc32(f"{layer.name}/{key}".encode())
                    value["config"]["seed"] = int((seed * 1_000_003 + salt) % 2**31)
            return layer.__class__.from_config(config)

        clone = tf.keras.models.clone_model(self.model, clone_function=reseeded)
        if not clone.built:
            clone.build(self.model.inputs[0].shape if self.model.inputs else None)
        return FlatView(clone.trainable_variables).flatten()

    # -- predictions ----------------------------------------------------------------
    def _logits(self, params, x):
        logits, _ = self.model.stateless_call(self.view.unflatten(params), self._non_trainable, x, training=False)
        return logits

    def predict(self, params, x=None) -> np.ndarray:
        """Predicted labels for ``x`` (default: the training inputs)."""
        params = as_params(params, self.dim)
        x = self.x_train if x is None else tf.constant(np.asarray(x, dtype=np.float32))
        labels = [tf.argmax(self._logits_fn(params, x[start:start + self.eval_batch_size]), axis=-1)
                  for start in range(0, len(x), self.eval_batch_size)]
        return tf.concat(labels, axis=0).numpy().astype(np.int32)

    def accuracy(self, params, split: str = "train") -> float:
        """Classification accuracy on the training or the test split."""
        if split == "train":
            x, y = self.x_train, self.y_train.numpy()
        elif split == "test":
            if self.dataset is None:
                raise ValueError("split='test' needs a landscape built from a Dataset")
            x, y = self.dataset.x_test, self.dataset.y_test
        else:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        return float(np.mean(self.predict(params, x) == np.asarray(y)))
