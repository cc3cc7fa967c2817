"""Learning-rate schedules: the learning rate each scheduler gives, epoch by epoch."""
import torch
import torch.nn as nn
from torch.optim import lr_scheduler


def make_opt(lr=0.1):
    return torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=lr, momentum=0.9)


def trace(name, make_sched, epochs=8, lr=0.1, metric=None):
    opt = make_opt(lr)
    sched = make_sched(opt)
    lrs = []
    for epoch in range(epochs):
        lrs.append(round(opt.param_groups[0]["lr"], 6))
        opt.step()                       # (a real loop trains here)
        if metric is None:
            sched.step()
        else:
            sched.step(metric[epoch])
    print(f"{name:<22}", lrs)
    return sched


trace("StepLR", lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5))
trace("MultiStepLR", lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, 5], gamma=0.1))
trace("ExponentialLR", lambda o: lr_scheduler.ExponentialLR(o, gamma=0.8))
trace("CosineAnnealingLR", lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=0.001))
trace("LambdaLR", lambda o: lr_scheduler.LambdaLR(o, lr_lambda=lambda e: 1.0 / (1 + e)))
trace("LinearLR (warm-up)", lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4))
trace("OneCycleLR", lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=8))
trace("SequentialLR", lambda o: lr_scheduler.SequentialLR(
    o, [lr_scheduler.LinearLR(o, start_factor=0.5, total_iters=2), lr_scheduler.ExponentialLR(o, gamma=0.5)],
    milestones=[2]))
trace("CosineWarmRestarts", lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3))
s = trace("ReduceLROnPlateau", lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=1),
          metric=[1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8])
sched = trace("PolynomialLR", lambda o: lr_scheduler.PolynomialLR(o, total_iters=6, power=2.0))
print([round(v, 6) for v in sched.get_last_lr()], sched.last_epoch)
print(sorted(sched.state_dict().keys()))

# param groups keep their own learning rates
model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
opt = torch.optim.Adam([{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.01}], lr=0.1)
sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
for _ in range(3):
    opt.step()
    sched.step()
print([round(g["lr"], 6) for g in opt.param_groups], [round(v, 6) for v in sched.get_last_lr()])
