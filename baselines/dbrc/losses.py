"""DBRC's objective (Li, Hu, Nie, ACM MM 2017; the form reconstructed in NOTES.md, "Objective"):

    h = ATanh(z) = tanh(α ⊙ z)                      the hashing layer, α learnt per bit
    L = ‖X − X̂‖²/(n·d_I) + ‖Y − Ŷ‖²/(n·d_T)  +  λ Σ_k α_k⁻²

(each reconstruction error a mean over its elements, the scale at which the only public
re-implementation, whose λ = 10⁻³ is taken, weighs the penalty; NOTES.md "Objective"),

both modalities reconstructed from h, for every training pair presented three times: with both
inputs, with the image alone and with the text alone (the other zero), each with both targets.
"""
from __future__ import annotations

from keras import ops


def adaptive_tanh(pre_activations, scales):
    """tanh(α ⊙ z): float (b, k) of z (b, k) and α (k,)."""
    return ops.tanh(scales * pre_activations)


def scale_penalty(scales, weight: float):
    """λ Σ_k α_k⁻² (its gradient −2λα⁻³ pushes every α up, so tanh(αz) → sign z)."""
    return weight * ops.sum(1.0 / ops.square(scales))


def reconstruction_error(inputs, reconstructions):
    """The mean squared error over the elements: float scalar of float (b, d) pairs."""
    return ops.mean(ops.square(inputs - reconstructions))


def dbrc_loss(images, texts, image_reconstructions, text_reconstructions, scales, weight: float) -> dict:
    """The objective on a batch (the three presentations stacked along the batch axis).

    Returns {"loss", "image_reconstruction", "text_reconstruction", "scale_penalty"} float scalars.
    """
    image_term = reconstruction_error(images, image_reconstructions)
    text_term = reconstruction_error(texts, text_reconstructions)
    penalty = scale_penalty(scales, weight)
    return {"loss": image_term + text_term + penalty, "image_reconstruction": image_term,
            "text_reconstruction": text_term, "scale_penalty": penalty}
