# The run's own timings in the report: every job's benchmark file (timings/)
# in one table and one figure, written after everything else, so a user sees
# what each step took on their machine.
import os


rule summarise_timings:
    input:
        # every other final output (asked when the DAG is built, after every
        # include): this job runs last and reads their benchmarks
        products=lambda wildcards: all_targets() + video_targets(),
    output:
        table=report(
            R("timings.csv"),
            caption="../report/timings_table.rst",
            category="Timings",
        ),
        figure=report(
            R("figures/timings.png"),
            caption="../report/timings.rst",
            category="Timings",
        ),
    log:
        R("logs/summarise_timings.log"),
    benchmark:
        R("timings/summarise_timings.tsv")
    conda:
        "../envs/light.yaml"
    params:
        # the benchmark folder of this run: timings/ next to timings.csv
        folder=lambda wildcards, output: os.path.join(
            os.path.dirname(output.table), "timings"
        ),
    script:
        "../scripts/summarise_timings.py"
