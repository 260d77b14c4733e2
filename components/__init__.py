"""Custom TFX components: MNIST ingestion and the data-validation gate."""
