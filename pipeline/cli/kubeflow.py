"""`compile` and `deploy`: the pipeline for Kubeflow Pipelines (and Vertex AI)."""
import argparse
import os

from foundation import fs
from pipeline import config as config_lib
from pipeline.cli import options
from pipeline.process import console


def add_parsers(commands) -> None:
    compile_ = commands.add_parser("compile", help="write the Kubeflow Pipelines spec")
    deploy = commands.add_parser(
        "deploy", help="compile, upload to Kubeflow Pipelines (a new version if it exists), run"
    )
    for sub in (compile_, deploy):
        options.add_config_options(sub, kubeflow=True)
        sub.add_argument(
            "--package-path", default=None,
            help="the PipelineSpec YAML to write (default build/kubeflow/<pipeline>.yaml)",
        )
        sub.add_argument(
            "--vertex-job-path", default=None,
            help="also write the Vertex AI PipelineJob JSON here",
        )
    compile_.set_defaults(func=cmd_compile)
    deploy.add_argument("--run", action="store_true", help="start a run after uploading")
    deploy.add_argument(
        "--version-name", default=None,
        help="the uploaded version's name (default <pipeline>-<timestamp>)",
    )
    deploy.set_defaults(func=cmd_deploy)


def _compile(args: argparse.Namespace, cfg: config_lib.PipelineConfig) -> str:
    from pipeline.launch import kubeflow_compile

    # Checked first: compiling loads TensorFlow and builds a wheel.
    kubeflow_compile.check(cfg)
    print(f"Compiling {cfg.pipeline_name} for Kubeflow Pipelines: image {cfg.image}", flush=True)
    print(f"  pipeline root: {cfg.pipeline_root}", flush=True)
    if not fs.is_remote(cfg.output_dir):
        print("  note: the output directory is a local path; the cluster's pods "
              "must see it (pass --output-dir gs://BUCKET/...)", flush=True)
    written = console.quietly(
        args.verbose,
        console.log_path(os.path.join(config_lib.PROJECT_ROOT, "build"), "compile"),
        lambda: kubeflow_compile.compile_pipeline(cfg, args.package_path, args.vertex_job_path),
    )
    print(f"PipelineSpec: {written[0]}")
    if args.vertex_job_path:
        print(f"Vertex PipelineJob: {written[1]}")
    return written[0]


def cmd_compile(args: argparse.Namespace) -> int:
    _compile(args, options.config_from(args))
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from pipeline.launch import kubeflow_deploy

    cfg = options.config_from(args)
    package_path = _compile(args, cfg)
    print(f"Uploading to Kubeflow Pipelines at {cfg.kfp_host or 'the default endpoint'}", flush=True)
    result = kubeflow_deploy.deploy(cfg, package_path, args.version_name, args.run)
    print(f"Pipeline {cfg.pipeline_name}: id {result.pipeline_id}, version {result.version_id}")
    if result.run_url:
        print(f"Run: {result.run_url}")
    return 0
