# Per-run extraction of class reports and confusion matrices, batched: one job per
# campaign up to 1,000 runs, then one per hash prefix (a job per run costs ~50 ms
# of scheduling alone, see README). The job's input is the batch manifest that
# discovery rewrites whenever one of the batch's artifact files appears,
# disappears or changes (name, size, mtime).
#
# The parsing runs in `workers` processes (config); the job's own thread only waits for
# them, so it counts as one core: an extraction then overlaps with the in-process jobs
# (aggregate, compare, tcbench_files, index share one interpreter, i.e. one core) instead
# of waiting for them. A 10,000-run cold build: 37.7 -> 34.9 s on 2 cores. One extraction
# at a time (`resources: extraction: 1` in the profile): two would run twice the processes
# on the same cores, for no speed and their memory. On SLURM the profile sets this rule's
# threads to the processes it runs. The build's last extraction ends the worker
# processes (they would idle beside the aggregations until their 2 s timeout), and
# extractions go first (`priority`): the workers are gone before the aggregations and
# comparisons grow the build's process. Cold 1,000-run build: summed peak RSS of the
# build's processes 312-318 -> 275-278 MB, wall 7.3 -> 7.1 s.


rule extract:
    input:
        get_batch_manifest,
    output:
        "{summary}/.tcsummary/{campaign}/extract/{batch}.json",
    log:
        "{summary}/.tcsummary/{campaign}/logs/extract-{batch}.log",
    priority: 1
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
        extraction=1,
    run:
        from tcsummary.jobs.extract import extract

        extract(
            input[0], output[0], config["workers"], BUILD.extractions(), log=log[0]
        )
