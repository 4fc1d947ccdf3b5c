# Config validation, parse-time discovery and every input function.
#
# Discovery runs here, when Snakemake builds the DAG, because runs already exist
# on disk (a checkpoint would never see new ones). It is cheap on reruns: each
# run's Aim record is cached by a fingerprint of its RocksDB files, and each
# campaign's snapshot file is rewritten only when its content changes, so
# Snakemake's mtime logic rebuilds exactly the campaigns that changed.
import os
import re
from pathlib import Path
from types import SimpleNamespace

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from tcsummary.core.errors import TcsummaryError
from tcsummary.core.logs import console_logging
from tcsummary.core.memory import prefer_system_allocator, skip_exit_collection
from tcsummary.core.timers import cancel_pending_timers
from tcsummary.example import ensure_example
from tcsummary.plan.build import flag, params_file, plan_build, report_config
from tcsummary.plan.campaigns import COMPARISONS
from tcsummary.plan.config import check_config, load_schema

SCHEMA = Path(workflow.current_basedir) / ".." / "schemas" / "config.schema.yaml"


def bundled_example():
    """Generate the bundled example when it is a configured repository and missing."""
    example = config["example"]
    path = Path(example["path"]).resolve()
    folders = [
        r.get("path", "") if isinstance(r, dict) else r for r in config["repositories"]
    ]
    if any(folder and Path(str(folder)).resolve() == path for folder in folders):
        ensure_example(path, example["runs"], example["campaigns"])


try:
    check_config(config, load_schema(SCHEMA))
    validate(config, schema="../schemas/config.schema.yaml")
    config["strict"] = flag(config, "strict")
    console_logging()
    prefer_system_allocator()
    if workflow.is_main_process:
        bundled_example()
    BUILD = plan_build(config, base=".", main_process=workflow.is_main_process)
except TcsummaryError as error:
    raise WorkflowError(f"tcsummary: {error}") from None


# a repository's output folder is one of the build's (exactly: an output holding several
# repositories has an index of its own, which the repositories' index rule must not claim)
wildcard_constraints:
    summary="|".join(re.escape(str(plan.summary)) for plan in BUILD.repositories),
    comparison=r"[^/]+",
    campaign=r"[^/]+",
    batch=r"[^/]+",
    key=r"flowpic_dim|max_n_pkts",
    value=r"[^/]+",


def params_input(rule):
    """Input function: the rule's params file, written at parse time (write_params_files)."""
    return lambda wildcards: PARAMS[rule][0].format(**dict(wildcards.items()))


def aggregate_params(wildcards):
    return {
        "root": get_root(wildcards),
        "tcbench_files": get_tcbench_files(wildcards),
        "config": report_config(config),
        "strict": config["strict"],
    }


def problems_params(wildcards):
    return {"strict": config["strict"]}


def index_params(wildcards):
    return {
        "repository": get_index_repository(wildcards),
        "comparisons": get_index_comparisons(wildcards),
    }


def compare_params(wildcards):
    return {
        "settings": get_comparison_settings(wildcards),
        "config": {"compare": config["compare"]},
    }


def top_index_params(wildcards):
    return {
        "repositories": get_top_repositories(wildcards),
        "comparisons": get_top_comparisons(wildcards),
    }


#: For each rule having params, the file keeping them and the function giving them
#: (see write_params_files, at the end).
PARAMS = {
    "aggregate": ("{summary}/.tcsummary/{campaign}/params.json", aggregate_params),
    "problems": ("{summary}/.tcsummary/problems-params.json", problems_params),
    "index": ("{summary}/.tcsummary/index-params.json", index_params),
    "compare": (
        "{where}/comparisons/{comparison}/.tcsummary/params.json",
        compare_params,
    ),
    "top_index": ("{top}/.tcsummary/params.json", top_index_params),
}


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
    return repository(wildcards).describe()


def get_tcbench_files(wildcards):
    return campaign_plan(wildcards).tcbench_files


def get_cards(wildcards):
    return repository(wildcards).cards()


def get_index_repository(wildcards):
    plan = repository(wildcards)
    return {
        "name": plan.name,
        "roots": [str(r) for r in plan.roots],
        "folders": list(plan.campaigns),
        "primary": config["metrics"][0],
        "top": (
            os.path.relpath(BUILD.top / "index.html", plan.summary)
            if BUILD.top is not None
            else ""
        ),
    }


def get_index_comparisons(wildcards):
    plan = repository(wildcards)
    return [
        {
            "name": c.name,
            "href": os.path.relpath(c.folder / "report.html", plan.summary),
            "href_md": os.path.relpath(c.folder / "report.md", plan.summary),
            "sources": ", ".join(s.label for s in c.sources),
        }
        for c in BUILD.comparisons_of(plan)
    ]


def top_constraint():
    """The output folder holding several repositories, or a pattern matching nothing."""
    return re.escape(str(BUILD.top)) if BUILD.top is not None else "(?!)"


def get_all_cards(wildcards):
    return [card for plan in BUILD.repositories for card in plan.cards()]


def get_top_repositories(wildcards):
    return [
        {
            "name": plan.name,
            "folder": os.path.relpath(plan.summary, BUILD.top),
            "roots": [str(r) for r in plan.roots],
            "cards": plan.cards(),
        }
        for plan in BUILD.repositories
    ]


def get_top_comparisons(wildcards):
    return [
        {
            "name": c.name,
            "href": os.path.relpath(c.folder / "report.html", BUILD.top),
            "href_md": os.path.relpath(c.folder / "report.md", BUILD.top),
            "sources": ", ".join(s.label for s in c.sources),
        }
        for c in BUILD.comparisons
    ]


def comparison_plan(wildcards):
    return BUILD.comparison(f"{wildcards.where}/comparisons/{wildcards.comparison}")


def get_comparison_values(wildcards):
    return [str(s.values) for s in comparison_plan(wildcards).sources]


def get_comparison_settings(wildcards):
    return comparison_plan(wildcards).settings()


def write_params_files():
    """Every job's params as a file, rewritten only when they change (plan.build.params_file).

    The profile leaves Snakemake's params trigger off (it imports pandas on every run), so
    these files' mtimes rerun a job whose params changed. Written here, before Snakemake
    lists the output folders' files, since it reads mtimes from that listing.
    """
    write = workflow.is_main_process
    jobs = []
    for plan in BUILD.repositories:
        summary = str(plan.summary)
        jobs += [("problems", {"summary": summary}), ("index", {"summary": summary})]
        jobs += [
            ("aggregate", {"summary": summary, "campaign": folder})
            for folder in plan.campaigns
        ]
    for comparison in BUILD.comparisons:
        where, name = str(comparison.folder).rsplit(f"/{COMPARISONS}/", 1)
        jobs += [("compare", {"where": where, "comparison": name})]
    if BUILD.top is not None:
        jobs += [("top_index", {"top": str(BUILD.top)})]
    for rule, wildcards in jobs:
        template, values = PARAMS[rule]
        params_file(
            template.format(**wildcards), values(SimpleNamespace(**wildcards)), write
        )


write_params_files()
