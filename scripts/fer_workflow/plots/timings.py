"""The timings figure: wall time of every job of the run, slowest on top."""

import matplotlib.pyplot as plt


def timings_figure(table, machine=""):
    """Horizontal bars of each job's wall seconds (``timings.read``'s table)."""
    shown = table.dropna(subset=["seconds"])
    fig, ax = plt.subplots(figsize=(8, 1.5 + 0.25 * max(len(shown), 1)))
    ax.barh(shown["job"][::-1], shown["seconds"][::-1], color="tab:blue")
    total = shown["seconds"].sum()
    ax.set(
        xlabel="wall time (s)",
        title=f"Time per job: {total:.0f} s in all" + (f" ({machine})" if machine else ""),
    )
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
