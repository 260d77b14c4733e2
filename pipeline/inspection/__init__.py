"""What happened in a run, read back from ML Metadata and a run's outputs:
runs, why a component ran, a model's lineage, the report; and predictions
with the latest pushed model."""
