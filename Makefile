# make run   - set up (first time) and run the pipeline on MNIST
# make test  - set up (first time) and run the tests
# make bench - the pipeline against the tutorial's bare script (minutes)
# make bench-scale - how cost grows with the data: 1x, 3x, 10x MNIST (an hour)
# Both accept MNIST_DIR=/path/to/the/four/idx/files; without it, `run`
# downloads MNIST (checksum-verified) and the tests use ../shared/data/mnist
# when present, or digits they draw themselves.

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export MNIST_DIR
export PYTHON

.PHONY: setup run test bench bench-scale lock clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml scripts/setup.sh scripts/fetch_uv.py
	bash scripts/setup.sh
	touch $@

run: setup
	$(PY) -m pipeline run $(ARGS)

# Two workers (TEST_WORKERS=0 for one process); tests/fixtures/scheduling.py groups the
# modules that share a pipeline run onto one worker.
TEST_WORKERS ?= 2

test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder $(ARGS)

# The pipeline against the seed tutorial's bare script (docs/performance.md).
bench: setup
	$(PY) bench/run.py $(ARGS)

# Time, peak RSS and disk per component at 1x, 3x, 10x MNIST (docs/performance.md).
bench-scale: setup
	$(PY) bench/scale.py $(ARGS)

# Re-resolve the locks after editing pyproject.toml's dependencies:
# requirements.lock (with the dev extra) for .venv, and the container image's
# requirements-runtime.lock, held to the same versions minus the dev tools.
lock: setup
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python $(PY) \
	  --python-platform x86_64-manylinux_2_31 --generate-hashes -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --python $(PY) -c requirements.lock \
	  --python-platform x86_64-manylinux_2_31 --generate-hashes -o requirements-runtime.lock

clean:
	rm -rf $(VENV) outputs
