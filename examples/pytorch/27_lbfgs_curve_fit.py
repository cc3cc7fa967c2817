"""Fit a damped sine to noisy-looking samples with L-BFGS and a strong-Wolfe line search.

L-BFGS uses the whole dataset at every step and calls the closure several times per ``step``;
for small smooth problems it converges in a handful of steps where SGD needs thousands.
"""
import torch

torch.set_printoptions(precision=4)

# data: y = 1.5 * exp(-0.3 x) * sin(2 x + 0.5) + a deterministic wiggle (no random numbers)
x = torch.linspace(0, 6, 80)
wiggle = 0.02 * torch.sin(17 * x)
y = 1.5 * torch.exp(-0.3 * x) * torch.sin(2.0 * x + 0.5) + wiggle


class DampedSine(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.amp = torch.nn.Parameter(torch.tensor(1.0))
        self.decay = torch.nn.Parameter(torch.tensor(0.1))
        self.freq = torch.nn.Parameter(torch.tensor(1.8))
        self.phase = torch.nn.Parameter(torch.tensor(0.0))

    def forward(self, t):
        return self.amp * torch.exp(-self.decay * t) * torch.sin(self.freq * t + self.phase)


model = DampedSine()
optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=20, history_size=10,
                              line_search_fn="strong_wolfe")
loss_fn = torch.nn.MSELoss()


def closure():
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    return loss


for step in range(5):
    loss = optimizer.step(closure)
    print(f"step {step} loss before {loss.item():.4f}")

state = optimizer.state[model.amp]
print("function evaluations:", state["func_evals"] > 20, "history:", len(state["old_dirs"]) > 0)
fitted = {name: round(p.item(), 3) for name, p in model.named_parameters()}
print("fitted:", fitted)
print("final loss below 1e-3:", loss_fn(model(x), y).item() < 1e-3)
print(sorted(optimizer.state_dict()["state"][0].keys()))
