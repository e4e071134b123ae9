"""Whether a directory holds a finished run, checked without TensorFlow (a mistyped ``--run``
fails before the 5-second import)."""
from __future__ import annotations

import os

from sdch_tf.input_errors import InputError
from sdch_tf.run.results import RESULT_FILE

# training.fit.IDENTITY_FILE, not imported from there: that module loads TensorFlow.
IDENTITY_FILE = "run.json"


def check_run_dir(run_dir: str) -> str:
    """The absolute path of ``run_dir`` if it holds a finished run (result.json), else ``InputError``
    saying what it is: missing, a file, an unfinished run, or not a run directory."""
    if not os.path.exists(run_dir):
        raise InputError(f"--run {run_dir}: no such directory")
    if not os.path.isdir(run_dir):
        raise InputError(f"--run {run_dir} is a file; give a run directory (OUT/runs/<run-id>)")
    if not os.path.isfile(os.path.join(run_dir, RESULT_FILE)):
        if os.path.isfile(os.path.join(run_dir, IDENTITY_FILE)):
            raise InputError(f"--run {run_dir}: the run has not finished (no {RESULT_FILE}); run the command that "
                             "trained it again to finish it")
        raise InputError(f"--run {run_dir} is not a run directory: it has no {RESULT_FILE} "
                         "(run directories are OUT/runs/<run-id>)")
    return os.path.abspath(run_dir)
