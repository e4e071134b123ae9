"""deepnet's SGD (parameter.py ``Update`` and ``GetMomentumAndEpsilon``) as a Keras optimiser.

    v ← m_t·v + g (+ λ·w for weights, never biases),   w ← w − ε_t·v
    m_t = m_final − (m_final − m_initial)·exp(−t / change_steps),   ε_t = ε₀ / (1 + t / half_life)

Keras' SGD multiplies the gradient by the rate before the momentum (v ← m·v − ε·g), which
differs from this once ε changes, and has no step-dependent momentum; decoupled weight decay
would leave the momentum out. ε_t comes as the learning-rate schedule
``keras.optimizers.schedules.InverseTimeDecay(ε₀, half_life, 1)``.
"""
from __future__ import annotations

import keras
from keras import ops


class DeepnetSGD(keras.optimizers.Optimizer):
    """SGD with deepnet's momentum schedule and its L2 decay inside the momentum."""

    def __init__(self, learning_rate, initial_momentum: float = 0.5, final_momentum: float = 0.9,
                 momentum_change_steps: int = 10000, l2_decay: float = 0.0, name: str = "deepnet_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_momentum = float(initial_momentum)
        self.final_momentum = float(final_momentum)
        self.momentum_change_steps = int(momentum_change_steps)
        self.l2_decay = float(l2_decay)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.velocities = self.add_optimizer_variables(variables, "velocity")
        # By index: inside the step Keras may hand over the backend's variable, which has no path.
        self._decayed = {self._get_variable_index(v) for v in variables if is_weight(v)}

    def momentum_at(self, step):
        """m_t at step t (a tensor)."""
        step = ops.cast(step, "float32")
        return self.final_momentum - (self.final_momentum - self.initial_momentum) * ops.exp(
            -step / self.momentum_change_steps)

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        velocity = self.velocities[index]
        momentum = ops.cast(self.momentum_at(self.iterations), variable.dtype)
        step = ops.cast(gradient, variable.dtype)
        # deepnet regularises weights, not biases (UpdateLayerParams passes no_reg=True).
        if self.l2_decay and index in self._decayed:
            step = step + self.l2_decay * variable
        self.assign(velocity, momentum * velocity + step)
        self.assign_sub(variable, ops.cast(learning_rate, variable.dtype) * velocity)

    def get_config(self):
        config = super().get_config()
        config.update({"initial_momentum": self.initial_momentum, "final_momentum": self.final_momentum,
                       "momentum_change_steps": self.momentum_change_steps, "l2_decay": self.l2_decay})
        return config


def is_weight(variable) -> bool:
    """True for a Dense kernel, False for a bias."""
    return variable.path.split("/")[-1] == "kernel"


def deepnet_sgd(rate: float, half_life: int, initial_momentum: float, final_momentum: float,
                momentum_change_steps: int, l2_decay: float) -> DeepnetSGD:
    """deepnet's SGD with its INVERSE_T rate ε₀ / (1 + t / half_life)."""
    schedule = keras.optimizers.schedules.InverseTimeDecay(rate, decay_steps=half_life, decay_rate=1.0)
    return DeepnetSGD(schedule, initial_momentum, final_momentum, momentum_change_steps, l2_decay)
