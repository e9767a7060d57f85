"""The README's examples as a user would write them, type-checked by tests/test_typing.py with
``mypy --strict`` (and run by it, so the examples also stay correct)."""

import os
import tempfile

import numpy as np

import fusednet as fnet

# ---- The functional backend: fusednet.ops
x = np.random.rand(256, 784).astype(np.float32)  # noqa: NPY002 (as in the README)
w = np.random.rand(784, 256).astype(np.float32)  # noqa: NPY002
b = np.zeros(256, np.float32)

y = fnet.ops.linear(x, w, b, activation="relu")  # relu(x @ w + b), one pass over the output
c = fnet.ops.matmul(x, w.T, trans_b=True)  # any layout: views and transposes are free
loss, dlogits = fnet.ops.softmax_cross_entropy(y[:, :10], np.arange(256) % 10)
m = np.zeros_like(w)
v = np.zeros_like(w)
fnet.ops.adam_(w, np.ones_like(w), m, v, step=1, lr=1e-3)  # in place, one pass over memory
fnet.set_num_threads(2)
threads: int = fnet.get_num_threads()

# ---- Training: a Keras-style model whose epoch runs in C++
rng = np.random.default_rng(0)
x_train = rng.standard_normal((512, 64)).astype(np.float32)
y_train = rng.integers(0, 10, 512)
x_test, y_test = x_train[:64], y_train[:64]
model = fnet.Sequential(
    [
        fnet.layers.Dense(128, activation="relu", input_shape=(64,)),
        fnet.layers.Dense(10),
    ],
    seed=0,
)
model.compile(
    optimizer=fnet.optimizers.Adam(learning_rate=1e-3),
    loss=fnet.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history = model.fit(
    x_train,
    y_train,
    epochs=3,
    batch_size=64,
    validation_split=0.1,
    verbose=0,
    callbacks=[fnet.callbacks.EarlyStopping(patience=3, restore_best_weights=True)],
)
losses: list[float] = history.history["loss"]
model.evaluate(x_test, y_test, verbose=0)
pred: np.ndarray = model.predict(x_test)
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "digits.fnet")
    model.save(path)
    model = fnet.load_model(path)

# The explicit loop and the tape
out = model.forward(x_test)
step_loss, dout = model.loss(out, y_test)
model.backward(dout)
model.update_weights()
loss_fn = fnet.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = fnet.optimizers.Adam(learning_rate=1e-3)
with fnet.GradientTape() as tape:
    logits = model(x_test, training=True)
    tape_loss = loss_fn(y_test, logits)
grads = tape.gradient(tape_loss, model.trainable_variables)
optimizer.apply_gradients(zip(grads, model.trainable_variables))

# ---- What runs where
info = fnet.backends()
isa: str = info["cpu"]["isa"]
fnet.set_float32_matmul_precision("high")
precision: str = fnet.get_float32_matmul_precision()
print(f"{isa}: {threads} threads, last loss {losses[-1]:.3f}, {pred.shape}, {precision}")
