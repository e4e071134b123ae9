"""Tables 2–4 and Figures 3–6 of SDCH, drawn from recorded results only (they never train).

``python -m sdch_tf.figures --results results/cpu-synthetic`` redraws everything a result set
supports; each module draws one table or figure from the run files read by ``collect``.
"""
