"""The report's artifact type."""
from tfx.types.artifact import Artifact


class EvaluationReport(Artifact):
    """A directory: `report.html` (self-contained) and `summary.json` (its facts).

    The type name is a module path: KFP (KubeflowV2DagRunner) accepts custom
    types named `<namespace>.<Title>` only, and TFX's Kubeflow entry point
    imports the class from that name, so `components` exports it.
    """

    TYPE_NAME = "components.EvaluationReport"
