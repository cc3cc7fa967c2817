"""The everyday losses and activations on fixed inputs, module and functional forms."""
import torch
import torch.nn as nn
import torch.nn.functional as F

x = torch.tensor([[-2.0, -0.5, 0.0, 0.5, 2.0], [1.5, -1.0, 0.3, -0.2, 0.8]])
for act in [nn.ReLU(), nn.LeakyReLU(0.1), nn.ELU(), nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(),
            nn.Sigmoid(), nn.Tanh(), nn.Softplus(), nn.Hardtanh(), nn.Mish(), nn.Softmax(dim=1),
            nn.LogSoftmax(dim=1)]:
    print(f"{repr(act):<32}", [round(v, 4) for v in act(x)[0].tolist()])

logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [-0.5, 1.5, 0.3], [1.0, 1.0, 1.0]])
target = torch.tensor([0, 2, 1, 1])
pred = torch.tensor([0.5, -1.0, 2.0, 0.0])
real = torch.tensor([1.0, -0.5, 1.0, 0.3])
prob = torch.tensor([0.9, 0.2, 0.6, 0.4])
label = torch.tensor([1.0, 0.0, 1.0, 0.0])
losses = {
    "CrossEntropyLoss": nn.CrossEntropyLoss()(logits, target),
    "CE label_smoothing": nn.CrossEntropyLoss(label_smoothing=0.1)(logits, target),
    "CE weight": nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5]))(logits, target),
    "CE ignore_index": F.cross_entropy(logits, torch.tensor([0, -100, 1, 1])),
    "NLLLoss": nn.NLLLoss()(F.log_softmax(logits, 1), target),
    "MSELoss": nn.MSELoss()(pred, real),
    "L1Loss": nn.L1Loss()(pred, real),
    "SmoothL1Loss": nn.SmoothL1Loss()(pred, real),
    "HuberLoss": nn.HuberLoss(delta=0.5)(pred, real),
    "BCELoss": nn.BCELoss()(prob, label),
    "BCEWithLogitsLoss": nn.BCEWithLogitsLoss(pos_weight=torch.tensor(2.0))(pred, label),
    "KLDivLoss": nn.KLDivLoss(reduction="batchmean")(F.log_softmax(logits, 1), F.softmax(logits.flip(0), 1)),
    "MultiMarginLoss": nn.MultiMarginLoss()(logits, target),
    "sum reduction": nn.MSELoss(reduction="sum")(pred, real),
}
for name, value in losses.items():
    print(f"{name:<20} {value.item():.4f}")
print(nn.MSELoss(reduction="none")(pred, real))
