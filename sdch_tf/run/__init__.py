"""One run and batches of runs: ``experiment`` (split, build, score, train, evaluate, record),
``results`` (run directories, ids and result files), ``run_plan`` (interruptible plans of runs
for ``reproduce`` and ``sweep``)."""
