"""The SCM hasher: a linear projection per modality (nets.py) behind the evaluator's interface."""
from sdch_tf.training.closed_form import LinearHasher


class SCMHasher(LinearHasher):
    """codes = sign((x − x̄) W) for image features and texts alike."""
