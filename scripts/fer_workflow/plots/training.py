"""Training figures: learning curves of the CNN and the DNN."""

import matplotlib.pyplot as plt

COLORS = {"cnn": "tab:blue", "dnn": "tab:orange"}


def learning_curves(histories, parameters, kept=None):
    """Accuracy and loss per epoch, train (dashed) and validation (solid).

    ``histories``: {model name: history DataFrame}; ``parameters``: {name: int};
    ``kept``: {name: the epoch whose weights were saved (the record's
    ``kept_epoch``)}, ringed on the validation accuracy curve.
    Both panels share the epoch axis; each model has one colour. The legend
    sits below the panels (one column per model), where it hides no curve.
    """
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(10, 5), sharex=True)
    for i, (name, history) in enumerate(histories.items()):
        color = COLORS.get(name, f"C{i}")
        label = f"{name.upper()} ({parameters[name]:,} parameters)"
        for ax, metric in ((acc_ax, "accuracy"), (loss_ax, "loss")):
            ax.plot(history["epoch"], history[f"val_{metric}"], color=color, label=f"{label}, validation")
            ax.plot(history["epoch"], history[metric], color=color, ls="--", label=f"{label}, train")
        if kept and name in kept:
            at = history["epoch"] == kept[name]
            acc_ax.plot(
                history["epoch"][at],
                history["val_accuracy"][at],
                "o",
                mfc="none",
                ms=9,
                color=color,
                label=f"{label}, kept epoch {kept[name]}",
            )
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss")
    for ax in (acc_ax, loss_ax):
        ax.grid(alpha=0.3)
    handles, labels = acc_ax.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=max(len(histories), 1), fontsize="small", frameon=False
    )
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    return fig
