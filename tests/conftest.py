import os

import pytest

# Quiet TensorFlow's C++ start-up chatter and keep test runs on the CPU.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


@pytest.fixture(scope="module", params=["0", "1"], ids=["onednn-off", "onednn-on"])
def onednn(request):
    """TF_ENABLE_ONEDNN_OPTS for a subprocess: TensorFlow picks oneDNN by the CPU (on by default only
    with AVX512-VNNI/BF16 or AMX), so tests that depend on its kernels run under both settings
    on every CPU (the CPU-independence check; docs/cpu-independence.md)."""
    return request.param
