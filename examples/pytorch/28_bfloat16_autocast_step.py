"""Mixed precision on the CPU: bfloat16 autocast for the matrix products, float32 for the loss.

Inside ``torch.autocast("cpu", dtype=torch.bfloat16)`` Linear layers run in bfloat16 (8 significant
bits, float32's range), losses in float32; the parameters and their gradients stay float32.
"""
import torch

torch.set_printoptions(precision=4)

# deterministic data and weights (no random numbers)
x = torch.cos(torch.arange(64.0)).reshape(16, 4)
y = torch.sin(torch.arange(32.0) * 0.5).reshape(16, 2)

model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.sin(torch.arange(p.numel(), dtype=torch.float32) * 0.37 + i).reshape(p.shape) * 0.5)

optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8)   # float16 needs it; harmless with bfloat16

print("bfloat16:", torch.bfloat16, torch.finfo(torch.bfloat16).eps, torch.tensor([1 / 3]).bfloat16())
print("promotion:", (torch.ones(1, dtype=torch.bfloat16) + torch.ones(1, dtype=torch.float16)).dtype)

for step in range(4):
    optimizer.zero_grad()
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        hidden = model[0](x)
        pred = model(x)
        loss = torch.nn.functional.mse_loss(pred, y)
        if step == 0:
            print("inside autocast:", hidden.dtype, pred.dtype, loss.dtype, torch.is_autocast_enabled("cpu"))
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    print(f"step {step} loss {loss.item():.4f} grad dtype {model[0].weight.grad.dtype}")

print("outside autocast:", model(x).dtype, torch.is_autocast_enabled("cpu"))
print("scale:", scaler.get_scale())
print(pred[:2])
print(model[2].bias)
