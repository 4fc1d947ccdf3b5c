# Rendering: report.html (self-contained), report.md, LaTeX tables, SVG figures.


rule render:
    input:
        view="{summary}/.tcsummary/{campaign}/view.json",
    output:
        html=report(
            "{summary}/{campaign}/report.html",
            category="Reports",
            caption="../report/report.rst",
            labels={"campaign": "{campaign}"},
        ),
        md="{summary}/{campaign}/report.md",
        tables=directory("{summary}/{campaign}/tables"),
        figures=report(
            directory("{summary}/{campaign}/figures"),
            patterns=["{name}.svg"],
            category="Figures",
            caption="../report/figures.rst",
            subcategory="{campaign}",
            labels={"campaign": "{campaign}", "figure": "{name}"},
        ),
    log:
        "{summary}/.tcsummary/{campaign}/logs/render.log",
    localrule: True
    # no in_process: it renders in a child process (see tcsummary.jobs.render), on a core
    # of its own beside the in-process jobs
    resources:
        mem_mb=500,
        runtime=10,
    run:
        from tcsummary.jobs.render import render

        render(input.view, output.html.rsplit("/", 1)[0], log=log[0])
