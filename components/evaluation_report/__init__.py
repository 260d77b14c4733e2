"""EvaluationReporter: one readable report per run, from the Evaluator's results.

  summary.py    the summary's type (one JSON-able dict), reading it back, its key figures and verdict
  gather.py     gathers the facts into it (tfma_facts.py, data_facts.py, digits.py: TFMA, TFDV, digits)
  render.py     renders the self-contained HTML page from that dict alone (svg.py: the charts)
  executor.py   writes both; component.py wires it into the pipeline

summary.py and render.py import no TensorFlow, so the CLI can read and render.
The report artifact's two files are named in foundation/names.py.
"""
