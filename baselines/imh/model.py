"""The IMH hasher: a thresholded linear projection per medium (nets.py)."""
from sdch_tf.training.closed_form import LinearHasher


class IMHHasher(LinearHasher):
    """codes = sign((x − x̄) W − median) for image features and texts alike."""
