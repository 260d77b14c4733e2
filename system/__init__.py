"""Artifact types that Kubeflow Pipelines' UI renders, under KFP's own names.

The KFP UI shows an artifact in a task's Visualization panel when its type in
ML Metadata is `system.HTML` (or `system.Markdown`), reading the file at the
artifact's URI. A TFX artifact's type name is its TYPE_NAME, and TFX's
Kubeflow container entry point imports the class back from that very name as
`<module>.<class>`; so a TFX artifact KFP renders must be a class `HTML` in a
top-level module called `system`. This package is that module.
"""
from tfx.types.value_artifact import ValueArtifact


class HTML(ValueArtifact):
    """One self-contained HTML page, stored as the file at the artifact's URI.

    A ValueArtifact, because KFP reads the URI itself as the page (not a
    directory): TFX gives value artifacts a file URI locally too.
    """

    TYPE_NAME = "system.HTML"

    def encode(self, value: str) -> bytes:
        return value.encode("utf-8")

    def decode(self, serialized_value: bytes) -> str:
        return serialized_value.decode("utf-8")
