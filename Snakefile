# tcsummary: campaign reports of a tcbench repository.
#   snakemake --cores 4                      build every campaign of config/config.yaml
#   snakemake --cores 4 --config repositories='["other/repo"]'
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/render.smk"
include: "workflow/rules/problems.smk"
include: "workflow/rules/index.smk"
include: "workflow/rules/compare.smk"


# the scheduler's last rate-limit timer would hold the exit for up to 1 s, and the
# interpreter's last collection would walk every object once more (~0.2 s)
onsuccess:
    cancel_pending_timers()
    skip_exit_collection()


onerror:
    cancel_pending_timers()
    skip_exit_collection()


rule all:
    default_target: True
    input:
        all_reports(),
    localrule: True
