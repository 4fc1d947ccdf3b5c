"""What each Snakemake rule calls: one module per rule file, one function per rule.

``jobs.extract`` serves ``workflow/rules/extract.smk``, ``jobs.aggregate`` serves
``aggregate.smk`` and so on. These modules are the only ones that join the stages
(plan -> summarise -> render) and do their I/O; rules only wire files together. Each
function takes ``log=<the rule's log file>`` (see :func:`core.logs.logged_job`), writes every
file atomically (temporary sibling, then rename) and depends on nothing but its inputs, so
``--forceall`` rebuilds are byte-identical.

One module per rule file, not one module for all: a rule imports only what its job needs.
An extraction (its parsing runs in worker processes) then starts its workers at once instead
of waiting ~0.4 s for pandas, pyarrow and scipy to import, which the first aggregation or
comparison imports meanwhile on the other core.
"""
