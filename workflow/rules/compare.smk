# Named comparisons across campaigns and repositories (config key `comparisons`),
# one folder each under <output>/comparisons/. A comparison reads only its
# sources' campaign snapshots (their values files, written beside them), so a new
# run in one source reruns that source's campaign and the comparisons that include
# it, nothing else.


rule compare:
    input:
        values=get_comparison_values,
        params=params_input("compare"),
    output:
        ranks=report(
            "{where}/comparisons/{comparison}/ranks.csv",
            category="Comparisons across campaigns",
            caption="../report/across.rst",
            subcategory="{comparison}",
            labels={"comparison": "{comparison}", "table": "mean ranks"},
        ),
        tests=report(
            "{where}/comparisons/{comparison}/tests.csv",
            category="Comparisons across campaigns",
            caption="../report/across.rst",
            subcategory="{comparison}",
            labels={"comparison": "{comparison}", "table": "omnibus tests"},
        ),
        pairwise=report(
            "{where}/comparisons/{comparison}/pairwise.csv",
            category="Comparisons across campaigns",
            caption="../report/across.rst",
            subcategory="{comparison}",
            labels={"comparison": "{comparison}", "table": "pairwise tests"},
        ),
        by_source=report(
            "{where}/comparisons/{comparison}/ranks_by_source.csv",
            category="Comparisons across campaigns",
            caption="../report/across.rst",
            subcategory="{comparison}",
            labels={"comparison": "{comparison}", "table": "mean rank per source"},
        ),
        side_by_side=report(
            "{where}/comparisons/{comparison}/side_by_side.csv",
            category="Comparisons across campaigns",
            caption="../report/across.rst",
            subcategory="{comparison}",
            labels={"comparison": "{comparison}", "table": "side by side"},
        ),
        provenance="{where}/comparisons/{comparison}/provenance.json",
        view="{where}/comparisons/{comparison}/.tcsummary/view.json",
    log:
        "{where}/comparisons/{comparison}/.tcsummary/logs/compare.log",
    # before the aggregations it does not need: while a cold build extracts, the in-process
    # slot is free; after one new run, both comparisons' renders then overlap the aggregation
    # instead of following it, two at once beside Snakemake at its largest
    priority: 1
    localrule: True
    resources:
        mem_mb=1000,
        runtime=10,
        in_process=1,
    params:
        values=compare_params,
    run:
        from tcsummary.jobs.compare import compare

        out = output.ranks.rsplit("/", 1)[0]
        compare(input.values, out, output.view, **params.values, log=log[0])


rule render_comparison:
    # no in_process: it renders in a child process, like rule render
    input:
        view="{where}/comparisons/{comparison}/.tcsummary/view.json",
    output:
        html=report(
            "{where}/comparisons/{comparison}/report.html",
            category="Comparisons across campaigns",
            caption="../report/across.rst",
            subcategory="{comparison}",
            labels={"comparison": "{comparison}", "table": "report"},
        ),
        md="{where}/comparisons/{comparison}/report.md",
        figures=directory("{where}/comparisons/{comparison}/figures"),
        tables=directory("{where}/comparisons/{comparison}/tables"),
    log:
        "{where}/comparisons/{comparison}/.tcsummary/logs/render.log",
    localrule: True
    run:
        from tcsummary.jobs.compare import render_comparison

        render_comparison(input.view, output.html.rsplit("/", 1)[0], log=log[0])
