"""Every test process starts as every entry point does (Keras 2, the version
guard), before any test imports TensorFlow; the fixtures are in
tests/fixtures/, one module per concern."""
from pipeline.process import boundary

boundary.prepare()

pytest_plugins = [
    "tests.fixtures.data",
    "tests.fixtures.shared_runs",
    "tests.fixtures.kubeflow",
    "tests.fixtures.s3",
    "tests.fixtures.scheduling",
]
