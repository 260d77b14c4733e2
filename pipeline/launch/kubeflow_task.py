"""The command of every Kubeflow task: TFX's executor entry point, s3:// included.

    python -m pipeline.launch.kubeflow_task ARGS   (what the compiled spec runs)

is `python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor
ARGS` started through the process boundary (pipeline/process/boundary.py):
Keras 2 selected and tensorflow-io's filesystems registered first, so that
tf.io.gfile reads and writes s3:// pipeline roots and data (endpoint and
region from the container's environment: pipeline/process/object_store.py),
and the process ended so that a task that succeeded is not reported failed
by tensorflow-io's crash at interpreter exit. What an open-source KFP backend
hands the task is first made into what TFX reads (compat.adapt_kfp_executor_input).
"""
import sys
import traceback

from pipeline.process import boundary


def main() -> int:
    from absl import app

    from pipeline.process import compat

    executor_main, parse_flags = compat.kubeflow_v2_executor()
    sys.argv = compat.adapt_kfp_executor_input(sys.argv)
    try:
        app.run(executor_main, flags_parser=parse_flags)
        return 0  # app.run always exits; not reached
    except SystemExit as done:
        code = done.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    boundary.run_entry(main, s3=True)
