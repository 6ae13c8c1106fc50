"""The reason a run failed, where a user looks: after Snakemake's last line.

Snakemake ends a failed run with "At least one job did not complete
successfully"; the cause sits higher up, inside a traceback or a log. The
Snakefile's ``onerror:`` handler collects each failed job's rule and the
end of its log with ``summary`` and prints it as the run's last words.
"""

from pathlib import Path

# Lines of each failed job's log repeated at the end (a message and its context).
TAIL_LINES = 8


def log_tail(path, lines=TAIL_LINES):
    """The last ``lines`` non-blank lines of the text file ``path`` (a note if it is missing)."""
    path = Path(path)
    if not path.is_file():
        return [f"(no log: {path} was not written)"]
    text = path.read_text(errors="replace").splitlines()
    return [line for line in text if line.strip()][-lines:]


def summary(failed, lines=TAIL_LINES):
    """The text that ends a failed run: for each ``(rule, wildcards, logs)`` in
    ``failed`` (``wildcards`` a dict, ``logs`` the job's log files), the rule
    and the last ``lines`` lines of each log. Empty when nothing failed."""
    if not failed:
        return ""
    out = [f"{len(failed)} job(s) failed; the end of each log (the cause is usually its last line):"]
    for rule, wildcards, logs in failed:
        named = ", ".join(f"{key}={value}" for key, value in wildcards.items())
        out.append(f"\n  rule {rule}" + (f" ({named})" if named else "") + ":")
        if not logs:
            out.append("    (the rule has no log)")
        for log in logs:
            out.append(f"    {log}:")
            out += [f"      {line}" for line in log_tail(log, lines)]
    return "\n".join(out)


def failed_jobs(workflow):
    """``(rule, wildcards, logs)`` of each job that failed in this Snakemake run,
    from its scheduler (ordered by rule and wildcards); empty if unknown."""
    scheduler = getattr(workflow, "scheduler", None)
    jobs = []
    for job in getattr(scheduler, "failed", None) or ():
        # A group job (a cluster submission of several rules) lists its jobs.
        jobs += list(job.jobs) if hasattr(job, "jobs") else [job]
    found = []
    for job in jobs:
        rule = getattr(job, "rule", None)
        wildcards = dict(getattr(job, "wildcards_dict", None) or {})
        found.append((getattr(rule, "name", str(job)), wildcards, [str(log) for log in (job.log or [])]))
    return sorted(found, key=lambda item: (item[0], sorted(item[1].items())))
