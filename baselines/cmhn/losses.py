"""CMHN's network objective (Eq. 8) and the weight decay of its optimiser, as pure functions.

Rows are samples: H_u, H_v (b, K) are the top-layer neural codes h^L of the image and text
networks for a mini-batch of pairs, B (b, K) their unified codes. Sums, not means, as the
equations are written; the train step normalises by the batch size (MatConvNet's cnn_train,
the framework of CMHN §3, divides the summed gradient by the batch size).
"""
from __future__ import annotations

import tensorflow as tf


def network_loss(image_codes, text_codes, codes, image_centre, text_centre, lambda1: float, alpha: float) -> dict:
    """The hash-function step objective of CMHN Eq. 8 over a mini-batch of pairs:

        λ1 (‖B − H_u‖²_F + ‖B − H_v‖²_F) − λ1 α (tr(H̄_u H̄_uᵀ) + tr(H̄_v H̄_vᵀ)),

    H̄ = H − centre the zero-centred codes whose variance the α term maximises (CMHN §2,
    after Eq. 4; tr(H̄ H̄ᵀ) = ‖H̄‖²_F).

    Args:
        image_codes: H_u, float (b, K) image-network outputs.
        text_codes: H_v, float (b, K) text-network outputs.
        codes: B, (b, K) unified codes in {−1, +1} of the same pairs.
        image_centre: (K,) centre of the image codes (the training-set mean; a constant).
        text_centre: (K,) centre of the text codes.
        lambda1: λ1 (0.2, CMHN §3). alpha: α (0.001, CMHN §3).

    Returns:
        {"loss": Eq. 8 (scalar), "quantization": ‖B − H_u‖² + ‖B − H_v‖², "variance":
        ‖H̄_u‖² + ‖H̄_v‖²}, all summed over the batch.
    """
    image_codes = tf.convert_to_tensor(image_codes, tf.float32)
    text_codes = tf.convert_to_tensor(text_codes, tf.float32)
    codes = tf.convert_to_tensor(codes, tf.float32)
    if image_codes.shape.rank != 2 or image_codes.shape != text_codes.shape or image_codes.shape != codes.shape:
        raise ValueError(f"need H_u, H_v and B of one shape (b, K), got {image_codes.shape}, {text_codes.shape}, "
                         f"{codes.shape}")
    quantization = tf.reduce_sum(tf.square(codes - image_codes)) + tf.reduce_sum(tf.square(codes - text_codes))
    variance = (tf.reduce_sum(tf.square(image_codes - tf.cast(image_centre, tf.float32)))
                + tf.reduce_sum(tf.square(text_codes - tf.cast(text_centre, tf.float32))))
    return {"loss": lambda1 * quantization - lambda1 * alpha * variance,
            "quantization": quantization, "variance": variance}


def weight_decay_penalty(variables, weight_decay: float):
    """½ · weight_decay · Σ‖w‖²: its gradient weight_decay · w is Caffe's and MatConvNet's
    weight decay (an L2 term added to the gradient, then through the momentum; CMHN §3: 1e-4).
    Keras' ``weight_decay`` argument is decoupled from the gradient instead."""
    if not variables:
        return tf.constant(0.0)
    return 0.5 * weight_decay * tf.add_n([tf.reduce_sum(tf.square(tf.cast(v, tf.float32))) for v in variables])
