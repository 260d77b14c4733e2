# The image every Kubeflow Pipelines task of this pipeline runs: Python 3.10,
# the locked runtime dependencies (no dev/test tools), the project in /app.
#   docker build -t REGISTRY/mnist-tfx:TAG . && docker push REGISTRY/mnist-tfx:TAG
# The tag below is exact; to pin by digest too, append @sha256:... from
# `docker buildx imagetools inspect python:3.10.13-slim-bookworm`.
FROM python:3.10.13-slim-bookworm

# Keras 2 in every process, reading the project's read-only copy of its
# default config, so it writes none (foundation/keras_choice.py). The
# compiled tasks' command (pipeline/launch/kubeflow_task.py) sets both itself;
# this is for commands run in the image that do not start through the
# project's process boundary, such as the workers' printed trainer command.
ENV TF_USE_LEGACY_KERAS=1 \
    KERAS_HOME=/app/foundation/keras_home \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so this large layer is rebuilt only when the lock changes.
COPY requirements-runtime.lock ./
RUN pip install --no-deps --require-hashes -r requirements-runtime.lock

COPY pyproject.toml README.md ./
COPY foundation/ foundation/
COPY trainer_module/ trainer_module/
COPY components/ components/
COPY pipeline/ pipeline/
COPY system/ system/
COPY schemas/ schemas/
# Editable, so the code stays in /app, where the compiled pipeline reads
# schemas/ (PipelineConfig.image_project_root); setuptools comes from the lock,
# so nothing unpinned is fetched.
RUN pip install --no-deps --no-build-isolation -e .

# The tasks run as whatever uid the cluster chooses: KFP 2.17.0 takes every
# capability away and lets an admin set the uid, a "restricted" namespace
# refuses root, OpenShift assigns an arbitrary uid in group 0. Nothing in /app
# or site-packages is theirs to write, and nothing they run needs a home:
# Keras reads KERAS_HOME, pip (TFX installs the Trainer's module with it)
# keeps no cache, Python writes no bytecode, and the rest writes under the
# temp dir, /tmp (docs/kubeflow.md#the-security-context).
# A home that exists nowhere, so that every runtime gives the same one
# (Docker and Kubernetes give "/" to a uid without a passwd entry, and KFP
# 2.17.0 mounts writable /.cache, /.config and /.local for it).
ENV HOME=/nonexistent
# Numeric, so that runAsNonRoot can verify it with no passwd entry (an
# arbitrary uid has none either); group 0, as OpenShift runs it.
USER 10001:0
