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

from .core import (FlatView, as_params, as_points, check_choice, check_int, check_int_sequence, check_number,
                   check_seed, compiled, compiled_batch_loss, compiled_loss, compiled_loss_and_grad,
                   value_and_gradient)
from .data import Dataset

__all__ = ["ModelLandscape", "mlp", "simple_cnn", "cnn1d", "build", "ARCHITECTURES", "softmax", "SPLITS"]

SPLITS = ("train", "test")


def _regularizer(l2):
    l2 = check_number(l2, "l2", minimum=0.0)
    return tf.keras.regularizers.L2(l2) if l2 > 0 else None


def _check_dropout(dropout) -> float:
    return check_number(dropout, "dropout", minimum=0.0, maximum=1.0, high_open=True)


def _initializer(seed, index):
    return tf.keras.initializers.GlorotUniform(seed=seed * 1000 + index)


def mlp(input_shape, num_classes: int = 10, widths=(64, 32), *, activation: str = "tanh",
        dropout: float = 0.0, l2: float = 0.0, seed: int = 0) -> tf.keras.Model:
    """A fully connected network of any width and depth, returning logits.
    ``l2`` penalizes the kernels (not the biases), as Keras' kernel regularizer does."""
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    widths = check_int_sequence(widths, "widths", minimum=1)
    dropout = _check_dropout(dropout)
    seed = check_seed(seed)
    layers = [tf.keras.Input(tuple(input_shape)), tf.keras.layers.Flatten()]
    for i, width in enumerate(widths):
        layers.append(tf.keras.layers.Dense(width, activation=activation, kernel_regularizer=_regularizer(l2),
                                            kernel_initializer=_initializer(seed, i)))
        if dropout:
            layers.append(tf.keras.layers.Dropout(dropout, seed=seed * 1000 + i))
    layers.append(tf.keras.layers.Dense(num_classes, kernel_regularizer=_regularizer(l2),
                                        kernel_initializer=_initializer(seed, len(widths))))
    return tf.keras.Sequential(layers, name="mlp")


def simple_cnn(input_shape, num_classes: int = 10, channels=(16, 32, 32), *, activation: str = "tanh",
               dropout: float = 0.0, l2: float = 0.0, seed: int = 0) -> tf.keras.Model:
    """The paper's SimpleCNN: 3x3 convolutions each followed by 2x2 max pooling
    (16, 32, 32 channels, tanh), then a dense layer to the logits."""
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    channels = check_int_sequence(channels, "channels", minimum=1)
    dropout = _check_dropout(dropout)
    seed = check_seed(seed)
    layers = [tf.keras.Input(tuple(input_shape))]
    for i, width in enumerate(channels):
        layers.append(tf.keras.layers.Conv2D(width, 3, padding="same", activation=activation,
                                             kernel_regularizer=_regularizer(l2),
                                             kernel_initializer=_initializer(seed, i)))
        layers.append(tf.keras.layers.MaxPooling2D(2, padding="same"))
    layers.append(tf.keras.layers.Flatten())
    if dropout:
        layers.append(tf.keras.layers.Dropout(dropout, seed=seed))
    layers.append(tf.keras.layers.Dense(num_classes, kernel_regularizer=_regularizer(l2),
                                        kernel_initializer=_initializer(seed, len(channels))))
    return tf.keras.Sequential(layers, name="simple_cnn")


def cnn1d(input_shape, num_classes: int = 10, channels=(32, 32, 32), *, kernel_size: int = 5, strides: int = 2,
          activation: str = "leaky_relu", dropout: float = 0.0, l2: float = 0.0, seed: int = 0) -> tf.keras.Model:
    """A small 1-D CNN for signals such as MNIST-1D: strided convolutions, then a dense
    layer to the logits (no batch normalization; ``dropout`` before the dense layer, as in
    :func:`simple_cnn`)."""
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    channels = check_int_sequence(channels, "channels", minimum=1)
    kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
    strides = check_int(strides, "strides", minimum=1)
    dropout = _check_dropout(dropout)
    seed = check_seed(seed)
    layers = [tf.keras.Input(tuple(input_shape))]
    for i, width in enumerate(channels):
        layers.append(tf.keras.layers.Conv1D(width, kernel_size, strides=strides, padding="same",
                                             activation=activation, kernel_regularizer=_regularizer(l2),
                                             kernel_initializer=_initializer(seed, i)))
    layers.append(tf.keras.layers.Flatten())
    if dropout:
        layers.append(tf.keras.layers.Dropout(dropout, seed=seed))
    layers.append(tf.keras.layers.Dense(num_classes, kernel_regularizer=_regularizer(l2),
                                        kernel_initializer=_initializer(seed, len(channels))))
    return tf.keras.Sequential(layers, name="cnn1d")


ARCHITECTURES = {"mlp": mlp, "simple_cnn": simple_cnn, "cnn1d": cnn1d}


def build(architecture: str, input_shape, num_classes: int, sizes, **options) -> tf.keras.Model:
    """One of the book's networks by name, so that a scale can choose it: ``"mlp"`` (``sizes``
    are the layers' widths), ``"simple_cnn"`` (2-D images) or ``"cnn1d"`` (1-D signals; ``sizes``
    are the channels). ``options`` (``dropout``, ``l2``, ``seed``) go to the builder."""
    check_choice(architecture, "architecture", ARCHITECTURES)
    if architecture == "mlp":
        return mlp(input_shape, num_classes, widths=sizes, **options)
    return ARCHITECTURES[architecture](input_shape, num_classes, channels=sizes, **options)


def _check_inputs(x, name: str, input_shape) -> np.ndarray:
    try:
        x = np.asarray(x)
    except ValueError as error:
        raise ValueError(f"{name} must be an array of inputs: {error}") from None
    if x.dtype == object or not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
    x = x.astype(np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty batch of inputs (N, ...), got shape {x.shape}")
    if input_shape is not None and tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(f"{name} must hold inputs of the model's shape {tuple(input_shape)}, got {tuple(x.shape[1:])}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return x


def _check_labels(y, name: str, count: int, num_classes: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == num_classes and y.shape[1] > 1:
        raise ValueError(f"{name} looks one-hot encoded (shape {y.shape}); give integer class labels "
                         f"(y.argmax(axis=1))")
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        if y.ndim == 1 and np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"{name} must be a 1-D array of integer class labels, got shape {y.shape}, "
                             f"dtype {y.dtype}")
    if len(y) != count:
        raise ValueError(f"{name} must hold one label per input: {count} inputs, {len(y)} labels")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"{name} must hold labels in [0, {num_classes - 1}] (the model has {num_classes} "
                         f"outputs), got labels from {y.min()} to {y.max()}")
    return y.astype(np.int32)


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

    vectorized = False  # batched losses loop over the points inside the graph (tf.map_fn)

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
        input_shape = tuple(model.inputs[0].shape[1:]) if model.inputs else None
        num_classes = int(model.outputs[0].shape[-1]) if model.outputs else None
        x = _check_inputs(x, "data's inputs", input_shape)
        if loss_fn is None and num_classes is not None:
            y = _check_labels(y, "data's labels", len(x), num_classes)
        else:
            y = np.asarray(y)
            if len(y) != len(x):
                raise ValueError(f"data must hold one label per input: {len(x)} inputs, {len(y)} labels")
        self.model = model
        self.view = FlatView(model.trainable_variables)
        self.dim = self.view.dim
        self.num_examples = len(x)
        self.batch_size = self.num_examples if batch_size is None else check_int(
            batch_size, "batch_size", minimum=1, maximum=self.num_examples)
        self.eval_batch_size = check_int(eval_batch_size, "eval_batch_size", minimum=1)
        self.seed = check_seed(seed)
        if not isinstance(include_regularization, bool):
            raise TypeError(f"include_regularization must be True or False, got {include_regularization!r}")
        self.include_regularization = include_regularization
        self.keras_loss = loss_fn or tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.x_train = tf.constant(x)
        self.y_train = tf.constant(y)
        self._non_trainable = [tf.convert_to_tensor(v) for v in model.non_trainable_variables]
        # Keras keeps the state of dropout's random generator in non-trainable variables;
        # a stateless call would reuse one mask for ever, so training steps set it per step.
        self._seed_states = [i for i, v in enumerate(model.non_trainable_variables) if "seed_generator" in v.path]

    def __repr__(self) -> str:
        return f"ModelLandscape({self.model.name}, dim={self.dim}, examples={self.num_examples})"

    def with_examples(self, count: int) -> "ModelLandscape":
        """The same model on the first ``count`` training examples (e.g. for a Hessian
        that is too costly on the whole set). Full batch; no test split."""
        count = check_int(count, "count", minimum=1, maximum=self.num_examples)
        return ModelLandscape(self.model, (self.x_train[:count].numpy(), self.y_train[:count].numpy()),
                              loss_fn=self.keras_loss, include_regularization=self.include_regularization,
                              eval_batch_size=self.eval_batch_size, seed=self.seed)

    # -- the protocol -------------------------------------------------------------
    @property
    def params(self) -> tf.Tensor:
        """The model's current weights as a flat vector."""
        return self.view.flatten()

    def assign(self, params) -> None:
        """Write a flat vector into the model's weights (e.g. to save the model)."""
        self.view.assign(params)

    def _logits(self, params, x, training=False):
        logits, _ = self.model.stateless_call(self.view.unflatten(params), self._non_trainable, x, training=training)
        return logits

    def _non_trainable_at(self, step):
        """The non-trainable state for training step ``step`` (fresh dropout masks each step)."""
        if step is None or not self._seed_states:
            return self._non_trainable
        state = list(self._non_trainable)
        for i in self._seed_states:
            state[i] = tf.cast(tf.stack([self.seed + 1000 * i, tf.cast(step, tf.int64)]), state[i].dtype)
        return state

    def batch_objective(self, params, x, y, training, step=None):
        """Graph code: the training objective on one batch (data loss plus the model's
        regularization losses of the weights in ``params``, not of the stored ones).
        ``training`` switches dropout on, with masks drawn for training step ``step``."""
        weights = self.view.unflatten(params)
        state = self._non_trainable_at(step if training else None)
        if self.include_regularization and self.model.losses:
            logits, _, extra = self.model.stateless_call(weights, state, x, training=training, return_losses=True)
            return self.keras_loss(y, logits) + tf.add_n(extra)
        logits, _ = self.model.stateless_call(weights, state, x, training=training)
        return self.keras_loss(y, logits)

    def loss_graph(self, params):
        """Graph code: the mean training objective over all examples (dropout off)."""
        total = 0.0
        for start in range(0, self.num_examples, self.eval_batch_size):
            stop = min(start + self.eval_batch_size, self.num_examples)
            total += (stop - start) / self.num_examples * self.batch_objective(
                params, self.x_train[start:stop], self.y_train[start:stop], False)
        return total

    def loss(self, params) -> tf.Tensor:
        """Mean training loss over the whole training set (dropout off)."""
        return compiled_loss(self, as_params(params, self.dim))

    def loss_and_grad(self, params):
        return compiled_loss_and_grad(self, as_params(params, self.dim))

    def batch_loss(self, points) -> tf.Tensor:
        """Graph code: the full training loss at each row of a (k, dim) tensor."""
        return tf.map_fn(self.loss_graph, points, fn_output_signature=tf.float32)

    def minibatch(self, step):
        """Graph code: the inputs and labels of training step ``step`` (every example once
        per epoch, in an order reshuffled every epoch, seeded: a run is reproducible)."""
        if self.batch_size == self.num_examples:
            return self.x_train, self.y_train
        per_epoch = self.num_examples // self.batch_size
        epoch = step // per_epoch
        order = tf.argsort(tf.random.stateless_uniform(
            [self.num_examples], seed=tf.stack([tf.cast(self.seed, tf.int64), tf.cast(epoch, tf.int64)])))
        # A gather, not a slice order[start:start + batch_size]: under XLA with op
        # determinism a slice at a computed start made a training step 100x slower.
        index = tf.gather(order, (step % per_epoch) * self.batch_size + tf.range(self.batch_size))
        return tf.gather(self.x_train, index), tf.gather(self.y_train, index)

    def batch_minibatch_loss(self, points, step) -> tf.Tensor:
        """Graph code: the training objective of each row on step ``step``'s minibatch."""
        x, y = self.minibatch(step)
        return tf.map_fn(lambda p: self.batch_objective(p, x, y, True, step), points,
                         fn_output_signature=tf.float32)

    def losses(self, points) -> np.ndarray:
        """Full training loss at every row of a (k, dim) array, in one computation."""
        return compiled_batch_loss(self, as_points(points, self.dim)).numpy()

    def minibatch_loss_and_grad(self, params, step):
        """Graph code: loss and gradient on minibatch number ``step`` (see :meth:`minibatch`).
        Dropout is on while training, with fresh masks every step."""
        x, y = self.minibatch(step)
        return value_and_gradient(lambda p: self.batch_objective(p, x, y, True, step), params)

    def initial_params(self, seed: int = 0) -> tf.Tensor:
        """Fresh weights drawn by the model's own initializers, seeded.

        The model is cloned with every initializer given a seed derived from
        ``seed``; the model itself is untouched.
        """
        seed = check_seed(seed)
        # Salt by the layer's position, not its name: Keras names layers by how many were
        # built before in the process, so a name-based salt would change within a session.
        positions = {id(layer): index for index, layer in enumerate(self.model.layers)}

        def reseeded(layer):
            config = layer.get_config()
            for key, value in config.items():
                if key.endswith("_initializer") and isinstance(value, dict) and "seed" in value.get("config", {}):
                    salt = zlib.crc32(f"{positions.get(id(layer), layer.name)}/{key}".encode())
                    value["config"]["seed"] = int((seed * 1_000_003 + salt) % 2**31)
            return layer.__class__.from_config(config)

        clone = tf.keras.models.clone_model(self.model, clone_function=reseeded)
        if not clone.built:
            clone.build(self.model.inputs[0].shape if self.model.inputs else None)
        return FlatView(clone.trainable_variables).flatten()

    # -- predictions (the Classifier capability) ------------------------------------
    def _inputs(self, x):
        if x is None:
            return self.x_train
        input_shape = tuple(self.model.inputs[0].shape[1:]) if self.model.inputs else None
        return tf.constant(_check_inputs(x, "x", input_shape))

    def split(self, split: str):
        """The inputs and labels of ``split`` ("train" or "test")."""
        check_choice(split, "split", SPLITS)
        if split == "train":
            return self.x_train, self.y_train.numpy()
        if self.dataset is None:
            raise ValueError("split='test' needs a landscape built from a Dataset (this one has bare arrays)")
        return tf.constant(self.dataset.x_test), np.asarray(self.dataset.y_test)

    def logits(self, params, x=None) -> np.ndarray:
        """The network's outputs for ``x`` (default: the training inputs), in chunks."""
        params = as_params(params, self.dim)
        x = self._inputs(x)
        return np.concatenate([_logits(self, params, x[start:start + self.eval_batch_size]).numpy()
                               for start in range(0, len(x), self.eval_batch_size)])

    def probabilities(self, params, x=None) -> np.ndarray:
        """Predicted class probabilities (softmax of the logits)."""
        return softmax(self.logits(params, x))

    def predict(self, params, x=None) -> np.ndarray:
        """Predicted labels for ``x`` (default: the training inputs)."""
        return self.logits(params, x).argmax(axis=1).astype(np.int32)

    def accuracy(self, params, split: str = "train") -> float:
        """Classification accuracy on the training or the test split."""
        x, y = self.split(split)
        return float(np.mean(self.predict(params, x) == y))


def softmax(logits) -> np.ndarray:
    """Class probabilities (float64) from logits, one row per example (shifted by the row's
    largest logit, so large logits do not overflow)."""
    logits = np.asarray(logits, np.float64)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


@compiled(reduce_retracing=True)
def _logits(landscape, params, x):
    return landscape._logits(params, x)
