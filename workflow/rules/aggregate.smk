# One aggregation job per campaign; its inputs are exactly that campaign's Aim
# snapshot and extraction batches. Plus tcbench's own files, one job per
# flowpic_dim (or max_n_pkts) value, cut from the long table the aggregation
# computed once (tcbench.pkl).


rule aggregate:
    input:
        snapshot=get_snapshot,
        extractions=get_extractions,
        params=params_input("aggregate"),
    output:
        runs=report(
            "{summary}/{campaign}/runs.csv",
            category="Tables",
            caption="../report/tables.rst",
            subcategory="{campaign}",
            labels={"campaign": "{campaign}", "table": "runs"},
        ),
        metrics=report(
            "{summary}/{campaign}/metrics.csv",
            category="Tables",
            caption="../report/tables.rst",
            subcategory="{campaign}",
            labels={"campaign": "{campaign}", "table": "metrics"},
        ),
        per_class=report(
            "{summary}/{campaign}/per_class.csv",
            category="Tables",
            caption="../report/tables.rst",
            subcategory="{campaign}",
            labels={"campaign": "{campaign}", "table": "per class"},
        ),
        confusion=report(
            "{summary}/{campaign}/confusion_matrices.csv",
            category="Tables",
            caption="../report/tables.rst",
            subcategory="{campaign}",
            labels={"campaign": "{campaign}", "table": "confusion matrices"},
        ),
        answers=report(
            "{summary}/{campaign}/answers.csv",
            category="Comparisons",
            caption="../report/comparisons.rst",
            subcategory="{campaign}",
            labels={"campaign": "{campaign}", "table": "which configuration wins"},
        ),
        ranks=report(
            "{summary}/{campaign}/ranks.csv",
            category="Comparisons",
            caption="../report/comparisons.rst",
            subcategory="{campaign}",
            labels={"campaign": "{campaign}", "table": "mean ranks"},
        ),
        tests=report(
            "{summary}/{campaign}/tests.csv",
            category="Comparisons",
            caption="../report/comparisons.rst",
            subcategory="{campaign}",
            labels={"campaign": "{campaign}", "table": "omnibus tests"},
        ),
        pairwise=report(
            "{summary}/{campaign}/pairwise.csv",
            category="Comparisons",
            caption="../report/comparisons.rst",
            subcategory="{campaign}",
            labels={"campaign": "{campaign}", "table": "pairwise tests"},
        ),
        variance=report(
            "{summary}/{campaign}/variance.csv",
            category="Comparisons",
            caption="../report/comparisons.rst",
            subcategory="{campaign}",
            labels={"campaign": "{campaign}", "table": "seeds vs splits"},
        ),
        provenance="{summary}/{campaign}/provenance.json",
        view="{summary}/.tcsummary/{campaign}/view.json",
        card="{summary}/.tcsummary/{campaign}/card.json",
        tcbench="{summary}/.tcsummary/{campaign}/tcbench.pkl",
    log:
        "{summary}/.tcsummary/{campaign}/logs/aggregate.log",
    resources:
        mem_mb=1000,
        runtime=10,
        in_process=1,
        # never beside an extraction: its two worker processes and an aggregation's peak in
        # this process would pass 300 MB together (10,000 runs: 311 MB); the extractions
        # go first (priority), the aggregations then take turns
        extraction=1,
    params:
        values=aggregate_params,
    run:
        from tcsummary.jobs.aggregate import aggregate

        out = (output.runs.rsplit("/", 1)[0], output.view)
        aggregate(
            input.snapshot, input.extractions, *out, **params.values, log=log[0]
        )


rule tcbench_files:
    input:
        tables="{summary}/.tcsummary/{campaign}/tcbench.pkl",
    output:
        summary=report(
            "{summary}/{campaign}/summary_{key}_{value}.csv",
            category="tcbench-compatible",
            caption="../report/tcbench.rst",
            subcategory="{campaign}",
            labels={"campaign": "{campaign}", "file": "summary {key}={value}"},
        ),
        runsinfo="{summary}/{campaign}/runsinfo_{key}_{value}.parquet",
    log:
        "{summary}/.tcsummary/{campaign}/logs/tcbench_{key}_{value}.log",
    localrule: True
    resources:
        mem_mb=1000,
        runtime=10,
        in_process=1,
    run:
        from tcsummary.jobs.aggregate import tcbench_files

        tcbench_files(
            input.tables,
            wildcards.key,
            wildcards.value,
            output.summary,
            output.runsinfo,
            log=log[0],
        )
