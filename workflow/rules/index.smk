# The output folder's index (index.html, index.md): one line per campaign, from
# the small card each aggregation writes, so it is rebuilt only when a campaign's
# summary changes (a no-op build leaves it alone).


rule index:
    input:
        cards=get_cards,
        problems="{summary}/.tcsummary/problems.json",
    output:
        html=report(
            "{summary}/index.html",
            category="Reports",
            caption="../report/index.rst",
        ),
        md="{summary}/index.md",
    log:
        "{summary}/.tcsummary/logs/index.log",
    localrule: True
    params:
        repository=get_index_repository,
        comparisons=get_index_comparisons,
    run:
        from tcsummary.jobs import index

        out = output.html.rsplit("/", 1)[0]
        index(input.cards, input.problems, out, **params, log=log[0])
