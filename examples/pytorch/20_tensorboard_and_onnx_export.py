"""Train a small classifier, log the run to TensorBoard, then export the model to ONNX.

The everyday end of a training script: SummaryWriter records the loss curve, a weight histogram, the
model graph, a note and the hyperparameters (read back here with TensorBoard's own reader); at the end the
model is written to an ONNX file with a dynamic batch axis and checked with onnxruntime, if installed.
Data and starting weights come from NumPy, so any framework prints the same numbers.
"""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
from torch.utils.tensorboard import SummaryWriter

rng = np.random.default_rng(0)
X = torch.from_numpy(rng.normal(size=(64, 4)).astype(np.float32))
y = torch.from_numpy((X.numpy()[:, 0] + 0.5 * X.numpy()[:, 1] > 0).astype(np.int64))

model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(scale=0.4, size=tuple(p.shape)).astype(np.float32)))
opt = torch.optim.SGD(model.parameters(), lr=0.5)
loss_fn = nn.CrossEntropyLoss()

log_dir = tempfile.mkdtemp(prefix="runs_")
with SummaryWriter(log_dir) as writer:
    writer.add_graph(model, X[:2])
    for step in range(30):
        loss = loss_fn(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        writer.add_scalar("train/loss", loss.item(), step)
        if step % 10 == 0:
            print(f"step {step:2d} loss {loss.item():.4f}")
    accuracy = (model(X).argmax(dim=1) == y).float().mean().item()
    writer.add_scalar("train/accuracy", accuracy, 30)
    writer.add_histogram("fc1/weight", model[0].weight, 30)
    writer.add_text("notes", "a 4-16-2 MLP trained with SGD", 0)
    writer.add_hparams({"lr": 0.5, "hidden": 16}, {"hparam/accuracy": accuracy}, run_name="hparams")
print(f"final loss {loss.item():.4f} accuracy {accuracy:.3f}")
print("event files:", len([f for f in os.listdir(log_dir) if f.startswith("events.out.tfevents")]))

try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
except ImportError:
    print("tensorboard is not installed: skipped reading the events back")
else:
    events = EventAccumulator(log_dir)
    events.Reload()
    tags = events.Tags()
    print("scalars:", sorted(tags["scalars"]), "histograms:", tags["histograms"], "graph:", tags["graph"])
    losses = events.Scalars("train/loss")
    print("loss points:", len(losses), "first step", losses[0].step, "last step", losses[-1].step,
          f"last value {losses[-1].value:.4f}")

# ---- export to ONNX --------------------------------------------------------------------------------
model.eval()
onnx_path = os.path.join(log_dir, "classifier.onnx")
torch.onnx.export(model, (X[:1],), onnx_path, input_names=["features"], output_names=["logits"],
                  dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
import onnx  # noqa: E402

proto = onnx.load(onnx_path)
onnx.checker.check_model(proto)
print("initializers:", sorted(t.name for t in proto.graph.initializer))
print("ops:", [n.op_type for n in proto.graph.node])
dims = proto.graph.input[0].type.tensor_type.shape.dim
print("input:", proto.graph.input[0].name, [d.dim_param or d.dim_value for d in dims])
try:
    import onnxruntime
except ImportError:
    print("onnxruntime is not installed: skipped running the exported model")
else:
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"features": X[:10].numpy()})
    with torch.no_grad():
        expected = model(X[:10]).numpy()
    print("onnxruntime", logits.shape, "matches the model:", bool(np.allclose(logits, expected, atol=1e-5)))
