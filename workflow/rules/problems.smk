# Problems that belong to no campaign (an artifact folder without an Aim run, a run
# whose metadata cannot be read, a stray entry under artifacts/), one CSV per repository.


rule problems:
    input:
        found="{summary}/.tcsummary/problems.json",
        params=params_input("problems"),
    output:
        report(
            "{summary}/problems.csv",
            category="Problems",
            caption="../report/problems.rst",
        ),
    log:
        "{summary}/.tcsummary/logs/problems.log",
    localrule: True
    params:
        values=problems_params,
    run:
        from tcsummary.jobs.problems import problems

        problems(input.found, output[0], **params.values, log=log[0])
