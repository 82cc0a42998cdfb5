#!/usr/bin/env python3
"""Independent numpy/torch implementations of calip3d's few-shot parts (METHOD.md §9), for the
parity tests in tests/it/tune.rs. Fixtures land in tests/data/tune/.

    python3 scripts/fewshot_reference.py cache FEATURES.safetensors OUT.safetensors
        FEATURES is what `calip3d fit --export-features` wrote (calip3d's own features);
        OUT gets Tip-Adapter's logits computed with numpy for a few (alpha, beta).
    python3 scripts/fewshot_reference.py adapter OUT.safetensors
        random view features, text features and adapter weights (seeded); OUT gets them, the
        torch eval-mode forward of PointCLIP's inter-view adapter, and the weights after a few
        full-batch SGD epochs without dropout.

Needs numpy, torch and safetensors.
"""
import math
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

CACHE_PAIRS = [(1.0, 1.0), (2.5, 3.0), (0.5, 8.0)]


def normalize(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def cloud_features(view_global, views, weights):
    f = normalize(view_global.astype(np.float64)).reshape(-1, views, view_global.shape[-1])
    w = np.asarray(weights, np.float64)
    return normalize((f * w[None, :, None]).sum(1) / w.sum())


def cache(features_path, out_path):
    with safe_open(features_path, "np") as f:
        t = {k: f.get_tensor(k) for k in f.keys()}
    weights = t["view_weights"]
    views = len(weights)
    keys = cloud_features(t["shots.global"], views, weights)
    labels = t["shots.labels"].astype(int)
    k = int(t["val.logits"].shape[1])
    values = np.eye(k)[labels]
    f = cloud_features(t["val.global"], views, weights)
    out = {}
    for alpha, beta in CACHE_PAIRS:
        affinity = f @ keys.T
        extra = alpha * np.exp(-beta * (1.0 - affinity)) @ values
        out[f"cache.{alpha}.{beta}"] = extra.astype(np.float32)
        out[f"logits.{alpha}.{beta}"] = (t["val.logits"] + extra).astype(np.float32)
    save_file(out, out_path)


def adapter(out_path):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    n, v, c, k, epochs = 8, 3, 16, 4, 4
    lr, warmup, eps, residual = 0.01, 1e-5, 0.2, 0.6
    x = torch.randn(n * v, c)
    text = F.normalize(torch.randn(k, c), dim=-1)
    labels = torch.arange(n) % k
    weights = torch.tensor([1.0, 0.5, 0.75])

    bn_in = nn.BatchNorm1d(v * c)
    glob = nn.Linear(v * c, c)
    bn_g = nn.BatchNorm1d(c)
    view_in = nn.Linear(c, c)
    view_out = nn.Linear(c, v * c)
    with torch.no_grad():  # non-trivial batch-norm parameters and statistics
        for bn, m in [(bn_in, v * c), (bn_g, c)]:
            bn.weight.copy_(1 + 0.1 * torch.randn(m))
            bn.bias.copy_(0.1 * torch.randn(m))
            bn.running_mean.copy_(0.05 * torch.randn(m))
            bn.running_var.copy_(1 + 0.2 * torch.rand(m))
    modules = {"bn_in": bn_in, "global": glob, "bn_global": bn_g, "view_in": view_in,
               "view_out": view_out}

    def state(prefix):
        out = {}
        for name, m in modules.items():
            for p in ["weight", "bias", "running_mean", "running_var"]:
                if hasattr(m, p):
                    out[f"{prefix}.{name}.{p}"] = getattr(m, p).detach().numpy().astype(np.float32).copy()
        return out

    # Round the start to f32 so both sides begin from the very same numbers.
    with torch.no_grad():
        for key, val in state("x").items():
            _, name, p = key.split(".")
            getattr(modules[name], p).copy_(torch.from_numpy(val.astype(np.float64)))
    x = torch.from_numpy(x.numpy().astype(np.float32).astype(np.float64))
    text = torch.from_numpy(text.numpy().astype(np.float32).astype(np.float64))
    fixture = state("init")

    def forward(feat):
        f = F.normalize(feat, dim=-1).reshape(-1, v * c)
        g = F.relu(bn_g(glob(bn_in(f))))
        a = F.relu(view_out(F.relu(view_in(g))))
        return (residual * a + (1 - residual) * f).reshape(-1, c)

    def logits_of(adapted):
        per_view = 100.0 * F.normalize(adapted, dim=-1) @ F.normalize(text, dim=-1).T
        per_view = per_view.reshape(-1, v, k)
        return (per_view * (weights / weights.sum())[None, :, None]).sum(1)

    for m in modules.values():
        m.eval()
    with torch.no_grad():
        fixture["eval.adapted"] = forward(x).numpy().astype(np.float32)

    params = [p for m in modules.values() for p in m.parameters()]
    opt = torch.optim.SGD(params, lr=lr)
    for m in modules.values():
        m.train()
    losses = []
    for epoch in range(epochs):
        step_lr = warmup if epoch == 0 else lr * (1 + math.cos(math.pi * (epoch - 1) / epochs)) / 2
        for g in opt.param_groups:
            g["lr"] = step_lr
        opt.zero_grad()
        loss = F.cross_entropy(logits_of(forward(x)), labels, label_smoothing=eps)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    fixture.update(state("trained"))
    fixture["x"] = x.numpy().astype(np.float32)
    fixture["text"] = text.numpy().astype(np.float32)
    fixture["labels"] = labels.numpy().astype(np.float32)
    fixture["view_weights"] = weights.numpy().astype(np.float32)
    fixture["losses"] = np.asarray(losses, np.float32)
    save_file(fixture, out_path, metadata={"epochs": str(epochs)})


if __name__ == "__main__":
    if sys.argv[1:2] == ["cache"] and len(sys.argv) == 4:
        cache(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["adapter"] and len(sys.argv) == 3:
        adapter(sys.argv[2])
    else:
        sys.exit(__doc__)
