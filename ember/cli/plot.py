"""``training.png``: the loss curves (train and validation on one axis, so overfitting shows as the two
parting) and the validation accuracy beside them, one point per epoch."""

__all__ = ["plot_history"]


def plot_history(history, path, title, best_epoch=None):
    """Draw ``history`` (lists ``train_loss``, ``val_loss``, ``val_accuracy``) into ``path``; a dotted line
    marks ``best_epoch`` (the epoch ``model.safetensors`` comes from)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    epochs = list(range(1, len(history["train_loss"]) + 1))
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, history["train_loss"], marker="o", label="train")
    ax_loss.plot(epochs, history["val_loss"], marker="o", label="validation")
    ax_loss.set(title="loss", xlabel="epoch", ylabel="cross-entropy")
    ax_loss.legend()
    ax_acc.plot(epochs, [100 * a for a in history["val_accuracy"]], marker="o", color="tab:green")
    ax_acc.set(title="validation accuracy", xlabel="epoch", ylabel="%")
    if best_epoch:
        for ax in (ax_loss, ax_acc):
            ax.axvline(best_epoch, color="grey", linestyle=":", linewidth=1)
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
