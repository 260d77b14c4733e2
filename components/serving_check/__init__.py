"""ServingCheck: the candidate served by a fresh process with TensorFlow alone (TFX's InfraBlessing)."""
