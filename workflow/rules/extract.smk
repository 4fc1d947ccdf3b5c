# Per-run extraction of class reports and confusion matrices, batched: one job per
# campaign up to 1,000 runs, then one per hash prefix (a job per run costs ~50 ms
# of scheduling alone, see README). The job's input is the batch manifest that
# discovery rewrites whenever one of the batch's artifact files appears,
# disappears or changes (name, size, mtime).


rule extract:
    input:
        get_batch_manifest,
    output:
        "{summary}/.tcsummary/{campaign}/extract/{batch}.json",
    log:
        "{summary}/.tcsummary/{campaign}/logs/extract-{batch}.log",
    threads: 2
    resources:
        mem_mb=500,
        runtime=10,
    run:
        from tcsummary.jobs import extract

        extract(input[0], output[0], threads, log=log[0])
