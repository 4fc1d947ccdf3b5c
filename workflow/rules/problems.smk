# Problems that belong to no campaign (an artifact folder without an Aim run, a run
# whose metadata cannot be read, a stray entry under artifacts/), one CSV per repository.


rule problems:
    input:
        "{summary}/.tcsummary/problems.json",
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
        strict=config["strict"],
    run:
        from tcsummary.jobs import problems

        problems(input[0], output[0], params.strict, log=log[0])
