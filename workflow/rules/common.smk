# Config validation, parse-time discovery and every input function.
#
# Discovery runs here, when Snakemake builds the DAG, because runs already exist
# on disk (a checkpoint would never see new ones). It is cheap on reruns: each
# run's Aim record is cached by a fingerprint of its RocksDB files, and each
# campaign's snapshot file is rewritten only when its content changes, so
# Snakemake's mtime logic rebuilds exactly the campaigns that changed.
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from tcsummary.build import TcsummaryError, flag, plan_build, report_config


validate(config, schema="../schemas/config.schema.yaml")
config["strict"] = flag(config, "strict")

try:
    BUILD = plan_build(config, base=".", main_process=workflow.is_main_process)
except TcsummaryError as error:
    raise WorkflowError(f"tcsummary: {error}") from None


wildcard_constraints:
    campaign=r"[^/]+",
    batch=r"[^/]+",
    key=r"flowpic_dim|max_n_pkts",
    value=r"[^/]+",


def write_log(path, note):
    """What a job did, in one line (the package functions return it)."""
    from tcsummary.atomic import write_text

    write_text(path, f"{note}\n")


def repository(wildcards):
    return BUILD.by_summary(wildcards.summary)


def campaign_plan(wildcards):
    return repository(wildcards).campaigns[wildcards.campaign]


def all_reports():
    return BUILD.reports()


def get_batch_manifest(wildcards):
    """Names, sizes and mtimes of the batch's artifact files (rewritten when one changes)."""
    return str(repository(wildcards).manifest(wildcards.campaign, wildcards.batch))


def get_snapshot(wildcards):
    return str(campaign_plan(wildcards).snapshot)


def get_extractions(wildcards):
    plan = repository(wildcards)
    return [
        str(plan.extraction(wildcards.campaign, batch))
        for batch in campaign_plan(wildcards).batches
    ]


def get_root(wildcards):
    return str(repository(wildcards).root)


def get_tcbench_files(wildcards):
    return campaign_plan(wildcards).tcbench_files
