"""REINFORCE on a tiny corridor: a policy network picks left/right, torch.distributions.Categorical gives
log pi(a|s), and the gradient of -sum log pi(a_t|s_t) * G_t improves the policy.

Actions are drawn by inverse-CDF from NumPy uniforms (the same draws in any framework); Categorical's own
sample() is shown once for its shape."""
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Categorical

N, START, GOAL, MAX_T, GAMMA = 6, 2, 5, 12, 0.9
rng = np.random.default_rng(1)


class Corridor:
    """Cells 0..N-1; reward 1 at GOAL (episode ends), -0.05 per step otherwise."""

    def reset(self):
        self.pos = START
        return self.obs()

    def obs(self):
        return torch.nn.functional.one_hot(torch.tensor(self.pos), N).float()

    def step(self, action):
        self.pos = min(max(self.pos + (1 if action == 1 else -1), 0), N - 1)
        done = self.pos == GOAL
        return self.obs(), (1.0 if done else -0.05), done


policy = nn.Sequential(nn.Linear(N, 8), nn.Tanh(), nn.Linear(8, 2))
for i, p in enumerate(policy.parameters()):
    p.data = 0.2 * torch.cos(torch.arange(p.numel(), dtype=torch.float32) * 1.3 + i).reshape(p.shape)
opt = torch.optim.Adam(policy.parameters(), lr=0.05)
env = Corridor()

dist = Categorical(logits=policy(env.reset()))
print(dist.batch_shape, dist.event_shape, dist.sample().shape, dist.sample((4,)).shape)
print("initial P(right) at start", round(dist.probs[1].item(), 4), "entropy", round(dist.entropy().item(), 4))


def pick(probs, u):
    """Inverse-CDF draw of an action index from uniform u."""
    return int((probs.cumsum(0) < u).sum().clamp(max=len(probs) - 1))


for episode in range(40):
    obs, log_probs, rewards, entropies = env.reset(), [], [], []
    for t in range(MAX_T):
        dist = Categorical(logits=policy(obs))
        action = torch.tensor(pick(dist.probs.detach(), rng.random()))
        log_probs.append(dist.log_prob(action))
        entropies.append(dist.entropy())
        obs, r, done = env.step(action.item())
        rewards.append(r)
        if done:
            break
    returns, g = [], 0.0
    for r in reversed(rewards):
        g = r + GAMMA * g
        returns.insert(0, g)
    returns = torch.tensor(returns)
    loss = -(torch.stack(log_probs) * returns).sum() - 0.01 * torch.stack(entropies).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if episode % 10 == 9:
        print(f"episode {episode + 1} steps {len(rewards)} return {returns[0].item():.4f}")

with torch.no_grad():
    right = [Categorical(logits=policy(torch.nn.functional.one_hot(torch.tensor(s), N).float())).probs[1].item()
             for s in range(N)]
print("P(right) per cell", [round(p, 2) for p in right])
print("greedy policy reaches the goal:", all(p > 0.5 for p in right[START:GOAL]))
