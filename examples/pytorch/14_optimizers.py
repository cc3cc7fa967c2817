"""Optimizers side by side: a few steps of each on the same quadratic bowl, from the same start."""
import torch

A = torch.tensor([[3.0, 0.5], [0.5, 1.0]])
b = torch.tensor([1.0, -2.0])


def f(w):
    return 0.5 * w @ A @ w - b @ w


def run(make_opt, steps=5):
    w = torch.tensor([2.0, 2.0], requires_grad=True)
    opt = make_opt([w])
    for _ in range(steps):
        opt.zero_grad()
        loss = f(w)
        loss.backward()
        opt.step()
    return [round(v, 4) for v in w.tolist()], round(f(w).item(), 4)


optimizers = {
    "SGD": lambda p: torch.optim.SGD(p, lr=0.1),
    "SGD momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "SGD nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "SGD weight_decay": lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.1),
    "Adam": lambda p: torch.optim.Adam(p, lr=0.1),
    "Adam amsgrad": lambda p: torch.optim.Adam(p, lr=0.1, amsgrad=True),
    "AdamW": lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.1),
    "RMSprop": lambda p: torch.optim.RMSprop(p, lr=0.05),
    "Adagrad": lambda p: torch.optim.Adagrad(p, lr=0.5),
}
for name, make in optimizers.items():
    w, loss = run(make)
    print(f"{name:<18} w={w} f={loss}")

# the exact minimum (A w = b), for comparison
print("minimum f:", round(f(torch.tensor([8.0 / 11.0, -26.0 / 11.0])).item(), 4))

# optimizer state after steps
w = torch.tensor([1.0, 1.0], requires_grad=True)
opt = torch.optim.Adam([w], lr=0.1)
for _ in range(2):
    opt.zero_grad()
    f(w).backward()
    opt.step()
state = opt.state_dict()
print(sorted(state["state"][0].keys()), state["param_groups"][0]["betas"])
print(state["state"][0]["exp_avg"].round(decimals=4), float(state["state"][0]["step"]))
