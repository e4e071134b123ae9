"""The Corr-AE objective (Feng, Wang, Li, ACM MM 2014, §3; the authors' deepnet computes its
gradient in neuralnet.py ``AccumulateDeriv`` and logistic_layer.py ``GetLoss``; NOTES.md).

Per training pair i, with codes h_I = f(p_i), h_T = g(q_i) and reconstructions p̂_i, q̂_i:

    L_i = (1 − α)·½(‖p̂_i − p_i‖² + ‖q̂_i − q_i‖²) + α·½‖h_I − h_T‖²

deepnet's derivatives are (state − data)·(1 − α) for each reconstruction and α·(h_self − h_other)
for each code layer: the gradient of this L, whose ½ the paper's L = (1 − α)(L_I + L_T) + α·L_C
omits (a common factor). The batch's loss is the mean over its pairs (deepnet divides the summed
weight gradients by the batch size).
"""
from __future__ import annotations

from keras import ops


def squared_distances(a, b):
    """‖a_i − b_i‖² per row: float (b,) of two float (b, k)."""
    return ops.sum(ops.square(a - b), axis=-1)


def corr_ae_loss(image_inputs, text_inputs, image_reconstructions, text_reconstructions, image_codes, text_codes,
                 alpha: float) -> dict:
    """The batch means of the Corr-AE objective and its terms.

    Args:
        image_inputs, image_reconstructions: float (b, d_I): p and p̂.
        text_inputs, text_reconstructions: float (b, d_T): q and q̂.
        image_codes, text_codes: float (b, k): h_I and h_T (the logistic code layers).
        alpha: the correlation term's weight α; 1 − α weighs the reconstructions.

    Returns:
        {"loss": mean L_i, "image_reconstruction": mean ½‖p̂ − p‖², "text_reconstruction":
        mean ½‖q̂ − q‖², "correlation": mean ½‖h_I − h_T‖²}, float scalars.
    """
    image_term = 0.5 * ops.mean(squared_distances(image_reconstructions, image_inputs))
    text_term = 0.5 * ops.mean(squared_distances(text_reconstructions, text_inputs))
    correlation = 0.5 * ops.mean(squared_distances(image_codes, text_codes))
    loss = (1.0 - alpha) * (image_term + text_term) + alpha * correlation
    return {"loss": loss, "image_reconstruction": image_term, "text_reconstruction": text_term,
            "correlation": correlation}
