"""``report.html``: one self-contained page about a training run (no network, no external files).

It shows the command and settings, the model summary, the loss and accuracy curves (inline SVG), and
for classifiers the confusion matrix and a grid of misclassified test images; for text models, the
samples generated after each epoch. ``ember train`` writes it beside its other outputs.
"""
import html
import io

import numpy as np

__all__ = ["write_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
table.kv td { padding: 0.15em 1em 0.15em 0; vertical-align: top; } table.kv td:first-child { color: #666; }
table.cm { border-collapse: collapse; font-size: 0.85em; } table.cm td, table.cm th { border: 1px solid #ccc;
  padding: 0.25em 0.5em; text-align: right; } table.cm th { background: #f0f0f0; }
.figure svg { max-width: 100%; height: auto; }
"""


def _svg(fig):
    """A matplotlib figure as an inline <svg> element (its XML header dropped)."""
    import matplotlib.pyplot as plt
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _curves(history):
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    epochs = [r["epoch"] for r in history]
    has_acc = any(r.get("val_accuracy") is not None for r in history)
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(10 if has_acc else 5.5, 3.6), squeeze=False)
    ax = axes[0, 0]
    for key, label in (("train_loss", "train loss"), ("val_loss", "validation loss")):
        ys = [r.get(key) for r in history]
        if any(y is not None for y in ys):
            ax.plot(epochs, [np.nan if y is None else y for y in ys], marker="o", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if has_acc:
        ax = axes[0, 1]
        ax.plot(epochs, [np.nan if r.get("val_accuracy") is None else 100 * r["val_accuracy"] for r in history],
                marker="o", color="tab:green", label="validation accuracy")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)")
        ax.legend()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return _svg(fig)


def _confusion_table(cm, names):
    cm = np.asarray(cm)
    names = list(names) if names is not None else [str(i) for i in range(cm.shape[0])]
    head = "<tr><th>true \\ predicted</th>" + "".join(f"<th>{html.escape(str(n))}</th>" for n in names) + "</tr>"
    peak = max(int(cm.max()), 1)
    rows = []
    for i, row in enumerate(cm):
        cells = []
        for j, v in enumerate(row):
            shade = int(255 - 120 * v / peak)
            color = f"rgb({shade},{shade},255)" if i == j else (f"rgb(255,{shade},{shade})" if v else "white")
            cells.append(f'<td style="background:{color}">{int(v)}</td>')
        rows.append(f"<tr><th>{html.escape(str(names[i]))}</th>{''.join(cells)}</tr>")
    return f'<table class="cm" id="confusion">{head}{"".join(rows)}</table>'


def _misclassified_grid(items, names):
    import matplotlib.pyplot as plt
    n = len(items)
    cols = min(8, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.6 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, (image, true, pred) in zip(axes.ravel(), items):
        img = np.asarray(image, dtype=np.float32)
        img = img.reshape(img.shape[-2:]) if img.ndim > 2 else img
        ax.imshow(img, cmap="gray_r")
        name = (lambda k: names[k] if names is not None else k)
        ax.set_title(f"true {name(true)}\npred {name(pred)}", fontsize=8)
    fig.tight_layout()
    return _svg(fig)


def write_report(path, *, title, command=None, config=None, summary=None, history=(), test_accuracy=None,
                 confusion=None, class_names=None, misclassified=(), samples=()):
    """Write the run's report to ``path`` (a self-contained HTML file) and return the path.

    ``history``: per-epoch dicts (epoch, train_loss, val_loss, val_accuracy ...); ``confusion``: a (C, C)
    count matrix of test predictions (rows: true class); ``misclassified``: (image, true, predicted)
    triples; ``samples``: (epoch, text) pairs for text models."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    if test_accuracy is not None:
        parts.append(f'<p id="test-accuracy">Test accuracy: <b>{100 * test_accuracy:.2f}%</b></p>')
    if command:
        parts.append(f'<h2>Command</h2><pre id="command">{html.escape(command)}</pre>')
    if config:
        rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                       for k, v in config.items())
        parts.append(f'<h2>Settings</h2><table class="kv" id="config">{rows}</table>')
    if summary:
        parts.append(f'<h2>Model</h2><pre id="summary">{html.escape(str(summary))}</pre>')
    history = list(history)
    if history:
        parts.append(f'<h2>Training curves</h2><div class="figure" id="curves">{_curves(history)}</div>')
        cols = [k for k in history[0] if k != "epoch"]
        head = "<tr><th>epoch</th>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr>"
        body = "".join("<tr><td>{}</td>{}</tr>".format(
            r["epoch"], "".join(f"<td>{_fmt(r.get(c))}</td>" for c in cols)) for r in history)
        parts.append(f'<table class="cm" id="history">{head}{body}</table>')
    if confusion is not None:
        parts.append("<h2>Confusion matrix (test set)</h2>" + _confusion_table(confusion, class_names))
    misclassified = list(misclassified)
    if misclassified:
        parts.append(f'<h2>Misclassified test images</h2><div class="figure" id="misclassified">'
                     f"{_misclassified_grid(misclassified, class_names)}</div>")
    samples = list(samples)
    if samples:
        parts.append("<h2>Generated samples</h2>" + "".join(
            f"<h3>after epoch {e}</h3><pre class='sample'>{html.escape(t)}</pre>" for e, t in samples))
    parts.append("</body></html>\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(parts))
    return path


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))
