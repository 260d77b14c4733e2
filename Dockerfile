# The image every Kubeflow Pipelines task of this pipeline runs: Python 3.10,
# the locked runtime dependencies (no dev/test tools), the project in /app.
#   docker build -t REGISTRY/mnist-tfx:TAG . && docker push REGISTRY/mnist-tfx:TAG
# The tag below is exact; to pin by digest too, append @sha256:... from
# `docker buildx imagetools inspect python:3.10.13-slim-bookworm`.
FROM python:3.10.13-slim-bookworm

# Keras 2 in every process (trainer_module/keras_choice.py). The compiled
# tasks' command (pipeline/launch/kubeflow_task.py) selects it itself; this is
# for commands run in the image that do not start through the project's
# process boundary, such as the workers' printed trainer command.
ENV TF_USE_LEGACY_KERAS=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so this large layer is rebuilt only when the lock changes.
COPY requirements-runtime.lock ./
RUN pip install --no-deps --require-hashes -r requirements-runtime.lock

COPY pyproject.toml README.md ./
COPY pipeline/ pipeline/
COPY components/ components/
COPY trainer_module/ trainer_module/
COPY system/ system/
COPY schemas/ schemas/
# Editable, so the code stays in /app, where the compiled pipeline reads
# schemas/ (PipelineConfig.image_project_root); setuptools comes from the lock,
# so nothing unpinned is fetched.
RUN pip install --no-deps --no-build-isolation -e .
