# The output folder's index (index.html, index.md): one line per campaign, from
# the small card each aggregation writes, so it is rebuilt only when a campaign's
# summary changes (a no-op build leaves it alone).


rule index:
    input:
        cards=get_cards,
        problems="{summary}/.tcsummary/problems.json",
        params=params_input("index"),
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
        values=index_params,
    run:
        from tcsummary.jobs.index import index

        out = output.html.rsplit("/", 1)[0]
        index(input.cards, input.problems, out, **params.values, log=log[0])


# With several repositories in one output folder: the folder's own index, one line per
# repository (campaigns, runs, link to its index) and every comparison.
rule top_index:
    input:
        cards=get_all_cards,
        params=params_input("top_index"),
    output:
        html=report(
            "{top}/index.html",
            category="Reports",
            caption="../report/index.rst",
        ),
        md="{top}/index.md",
    log:
        "{top}/.tcsummary/logs/index.log",
    wildcard_constraints:
        top=top_constraint(),
    localrule: True
    params:
        values=top_index_params,
    run:
        from tcsummary.jobs.index import top_index

        out = output.html.rsplit("/", 1)[0]
        top_index(input.cards, out, **params.values, log=log[0])
