"""Learning-rate schedules against Keras's formulas written out by hand, config round trips,
bad arguments."""

import json
import math

import numpy as np
import pytest

from fusednet import schedules
from fusednet.schedules import CosineDecay, ExponentialDecay, LearningRateSchedule

# --- ExponentialDecay --------------------------------------------------------------------------


@pytest.mark.parametrize("step", [0, 1, 7, 99, 100, 101, 250, 10_000])
def test_exponential_decay_matches_keras_formula(step):
    s = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.96)
    assert s(step) == pytest.approx(0.1 * 0.96 ** (step / 100), rel=1e-12)


@pytest.mark.parametrize("step, exponent", [(0, 0), (99, 0), (100, 1), (199, 1), (250, 2)])
def test_exponential_decay_staircase_drops_every_decay_steps(step, exponent):
    s = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5, staircase=True)
    assert s(step) == pytest.approx(0.1 * 0.5**exponent, rel=1e-12)


def test_exponential_decay_first_step_is_initial_rate():
    assert ExponentialDecay(3e-4, 10, 0.1)(0) == pytest.approx(3e-4, rel=1e-15)


# --- CosineDecay -------------------------------------------------------------------------------


def keras_cosine(step, lr0, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    """Keras 3's CosineDecay.__call__, transcribed branch by branch."""

    def decay(s, start):
        return start * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / decay_steps)) + alpha)

    if warmup_target is None:
        return decay(min(step, decay_steps), lr0)
    s = min(step, decay_steps + warmup_steps)
    if s < warmup_steps:
        return (warmup_target - lr0) * (s / warmup_steps) + lr0
    return decay(s - warmup_steps, warmup_target)


@pytest.mark.parametrize("step", [0, 1, 25, 50, 99, 100, 101, 5000])
def test_cosine_decay_matches_keras_formula(step):
    s = CosineDecay(0.1, decay_steps=100)
    assert s(step) == pytest.approx(keras_cosine(step, 0.1, 100), rel=1e-12, abs=1e-15)


def test_cosine_decay_landmarks():
    s = CosineDecay(1.0, decay_steps=100, alpha=0.1)
    assert s(0) == pytest.approx(1.0)
    assert s(50) == pytest.approx(0.1 + 0.9 * 0.5)  # half way down the cosine
    assert s(100) == pytest.approx(0.1)  # ends at alpha * initial
    assert s(10**6) == pytest.approx(0.1)  # and stays there


@pytest.mark.parametrize("step", [0, 1, 5, 9, 10, 11, 60, 110, 111, 10_000])
def test_cosine_decay_with_warmup_matches_keras_formula(step):
    s = CosineDecay(0.0, decay_steps=100, alpha=0.05, warmup_target=0.2, warmup_steps=10)
    expected = keras_cosine(step, 0.0, 100, 0.05, warmup_target=0.2, warmup_steps=10)
    assert s(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_cosine_decay_warmup_landmarks():
    s = CosineDecay(0.01, decay_steps=100, warmup_target=0.1, warmup_steps=10)
    assert s(0) == pytest.approx(0.01)
    assert s(5) == pytest.approx(0.055)  # linear half way
    assert s(10) == pytest.approx(0.1)  # peak at the end of the warmup
    assert s(110) == pytest.approx(0.0, abs=1e-15)


def test_cosine_decay_warmup_target_with_zero_warmup_steps_decays_from_target():
    s = CosineDecay(0.5, decay_steps=10, warmup_target=0.1, warmup_steps=0)
    assert s(0) == pytest.approx(0.1)
    assert s(5) == pytest.approx(0.05)


# --- arrays of steps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [
        ExponentialDecay(0.1, 7, 0.9),
        ExponentialDecay(0.1, 7, 0.9, staircase=True),
        CosineDecay(0.1, 50, alpha=0.2),
        CosineDecay(0.0, 50, alpha=0.2, warmup_target=0.3, warmup_steps=13),
    ],
)
def test_array_of_steps_equals_scalar_calls(schedule):
    steps = np.arange(0, 130)
    rates = schedule(steps)
    assert isinstance(rates, np.ndarray) and rates.shape == steps.shape
    np.testing.assert_allclose(rates, [schedule(int(t)) for t in steps], rtol=1e-12, atol=1e-15)


def test_scalar_call_returns_python_float():
    assert type(ExponentialDecay(0.1, 10, 0.5)(3)) is float
    assert type(CosineDecay(0.1, 10)(3)) is float
    assert type(CosineDecay(0.1, 10, warmup_target=1.0, warmup_steps=4)(2)) is float


# --- configs and serialization -----------------------------------------------------------------

CASES = [
    ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96, staircase=True),
    CosineDecay(1e-3, decay_steps=500, alpha=0.01),
    CosineDecay(0.0, decay_steps=500, alpha=0.0, warmup_target=1e-3, warmup_steps=50),
]


@pytest.mark.parametrize("schedule", CASES, ids=lambda s: type(s).__name__)
def test_get_config_from_config_round_trip(schedule):
    config = schedule.get_config()
    clone = type(schedule).from_config(config)
    assert clone.get_config() == config
    assert clone == schedule
    for step in (0, 1, 33, 499, 500, 501, 10**5):
        assert clone(step) == schedule(step)


@pytest.mark.parametrize("schedule", CASES, ids=lambda s: type(s).__name__)
def test_serialize_deserialize_round_trip_through_json(schedule):
    blob = json.dumps(schedules.serialize(schedule))
    clone = schedules.deserialize(json.loads(blob))
    assert type(clone) is type(schedule)
    assert clone == schedule


def test_config_keys_follow_keras():
    assert set(ExponentialDecay(0.1, 10, 0.5).get_config()) == {
        "initial_learning_rate",
        "decay_steps",
        "decay_rate",
        "staircase",
        "name",
    }
    assert set(CosineDecay(0.1, 10).get_config()) == {
        "initial_learning_rate",
        "decay_steps",
        "alpha",
        "name",
        "warmup_target",
        "warmup_steps",
    }
    assert ExponentialDecay(0.1, 10, 0.5).get_config()["decay_steps"] == 10
    assert isinstance(ExponentialDecay(0.1, 10, 0.5).get_config()["decay_steps"], int)


def test_custom_schedule_is_deserializable():
    class Halving(LearningRateSchedule):
        def __init__(self, lr):
            self.lr = lr

        def __call__(self, step):
            return self.lr / (1 + step)

        def get_config(self):
            return {"lr": self.lr}

    clone = schedules.deserialize(schedules.serialize(Halving(0.4)))
    assert isinstance(clone, Halving) and clone(1) == 0.2
    other = schedules.deserialize(
        {"class_name": "Mine", "config": {"lr": 1.0}}, custom_objects={"Mine": Halving}
    )
    assert isinstance(other, Halving)


def test_deserialize_unknown_class_lists_known_ones():
    with pytest.raises(
        ValueError,
        match=r"config: unknown learning-rate schedule 'Nope'.*"
        r"CosineDecay.*ExponentialDecay",
    ):
        schedules.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="config: expected a dict with 'class_name'"):
        schedules.deserialize([1, 2])


def test_serialize_rejects_non_schedule():
    with pytest.raises(TypeError, match="schedule: expected a LearningRateSchedule, got float"):
        schedules.serialize(0.1)


def test_base_class_requires_call_and_config():
    base = LearningRateSchedule()
    with pytest.raises(NotImplementedError, match="__call__"):
        base(0)
    with pytest.raises(NotImplementedError, match="get_config"):
        base.get_config()


# --- bad arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(decay_steps=0), ValueError, r"decay_steps: expected a number > 0, got 0"),
        (dict(decay_steps=-5), ValueError, r"decay_steps: expected a number > 0, got -5"),
        (dict(decay_steps="10"), TypeError, r"decay_steps: expected a real number, got str"),
        (dict(decay_rate=0.0), ValueError, r"decay_rate: expected a number > 0, got 0"),
        (dict(decay_rate=float("nan")), ValueError, r"decay_rate: expected a finite number"),
        (
            dict(initial_learning_rate=-0.1),
            ValueError,
            r"initial_learning_rate: expected a number >= 0, got -0.1",
        ),
        (dict(initial_learning_rate=True), TypeError, r"initial_learning_rate: expected a real"),
        (dict(staircase="yes"), TypeError, r"staircase: expected a bool, got str"),
    ],
)
def test_exponential_decay_bad_arguments(kwargs, exc, match):
    args = dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        ExponentialDecay(**args)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(decay_steps=0), ValueError, r"decay_steps: expected a number > 0, got 0"),
        (dict(alpha=1.5), ValueError, r"alpha: expected a fraction in \[0, 1\], got 1.5"),
        (dict(alpha=-0.1), ValueError, r"alpha: expected a fraction in \[0, 1\], got -0.1"),
        (dict(warmup_steps=-1), ValueError, r"warmup_steps: expected an int >= 0, got -1"),
        (dict(warmup_steps=2.5), TypeError, r"warmup_steps: expected an int, got float"),
        (dict(warmup_target=-1.0), ValueError, r"warmup_target: expected a number >= 0"),
        (
            dict(initial_learning_rate=float("inf")),
            ValueError,
            r"initial_learning_rate: expected a finite number",
        ),
    ],
)
def test_cosine_decay_bad_arguments(kwargs, exc, match):
    args = dict(initial_learning_rate=0.1, decay_steps=10)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        CosineDecay(**args)


@pytest.mark.parametrize("schedule", CASES, ids=lambda s: type(s).__name__)
def test_bad_step(schedule):
    with pytest.raises(ValueError, match=r"step: expected an iteration count >= 0, got -1"):
        schedule(-1)
    with pytest.raises(ValueError, match=r"step: expected iteration counts >= 0"):
        schedule(np.array([0, -2]))
    with pytest.raises(TypeError, match=r"step: expected a number or an array"):
        schedule("3")
