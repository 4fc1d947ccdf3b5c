# Per-run extraction of class reports and confusion matrices, batched: one job per
# campaign up to 1,000 runs, then one per hash prefix (a job per run costs ~50 ms
# of scheduling alone, see README).


rule extract:
    input:
        get_batch_inputs,
    output:
        "{summary}/.tcsummary/{campaign}/extract/{batch}.json",
    params:
        artifacts=get_artifacts_dir,
        runs=get_batch_runs,
        contexts=get_contexts,
    log:
        "{summary}/.tcsummary/{campaign}/logs/extract-{batch}.log",
    threads: 2
    resources:
        mem_mb=500,
        runtime=10,
    run:
        from tcsummary.pipeline import run_extraction

        note = run_extraction(params.artifacts, params.runs, params.contexts, output[0], threads)
        write_log(log[0], note)
