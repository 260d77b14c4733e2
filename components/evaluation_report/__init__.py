"""EvaluationReporter: one readable report per run, from the Evaluator's results.

  summary.py    gathers the facts (TFMA, TFDV, training history, digits) into one JSON-able dict
  render.py     renders the self-contained HTML page from that dict alone (svg.py: the charts)
  executor.py   writes both; component.py wires it into the pipeline

The package's own imports stay free of TensorFlow, so the CLI can render.
"""

# The report artifact's two files.
SUMMARY_FILE = "summary.json"
HTML_FILE = "report.html"
