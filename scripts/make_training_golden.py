#!/usr/bin/python3
"""Make the training golden cases (testdata/golden-training): a few optimizer steps of a recurrent
layer with a Linear head and cross-entropy, with gradient clipping, computed by PyTorch.

Run with Debian's interpreter and python3-torch (1.13):
    /usr/bin/python3 scripts/make_training_golden.py testdata/golden-training
The output is byte-for-byte reproducible: one thread, OpenBLAS pinned to its Haswell kernels (so
AVX2 and AVX-512 hosts compute the same bits), fixed seeds.
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OPENBLAS_CORETYPE"] = "Haswell"

import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
from collections import OrderedDict  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rnnkit_torch import build_module, module_metadata, write_safetensors  # noqa: E402

SEED = 20261124

# name, rnn config, classes, T, B, steps, optimizer (PyTorch arguments), clipping
CASES = [
    ("000_lstm_sgd_momentum_clipnorm",
     dict(mode="LSTM", input_size=6, hidden_size=12, num_layers=1), 5, 8, 3, 8,
     dict(type="SGD", lr=0.5, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0),
     dict(type="norm", max_norm=0.2, norm_type=2.0)),
    ("001_gru_l2_adam_clipvalue",
     dict(mode="GRU", input_size=5, hidden_size=10, num_layers=2), 6, 7, 4, 8,
     dict(type="Adam", lr=1e-2, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.0, amsgrad=False),
     dict(type="value", clip_value=0.05)),
    ("002_lstm_bi_proj_adamw",
     dict(mode="LSTM", input_size=7, hidden_size=16, num_layers=1, bidirectional=True, proj_size=6), 4, 6, 3, 6,
     dict(type="AdamW", lr=5e-3, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.1, amsgrad=False),
     dict(type="none")),
    ("003_rnntanh_sgd_weightdecay",
     dict(mode="RNN_TANH", input_size=8, hidden_size=14, num_layers=1), 10, 9, 2, 10,
     dict(type="SGD", lr=0.1, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=1e-3),
     dict(type="none")),
    ("004_gru_sgd_nesterov_clipnorm",
     dict(mode="GRU", input_size=5, hidden_size=9, num_layers=1), 4, 12, 3, 8,
     dict(type="SGD", lr=0.3, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.0),
     dict(type="norm", max_norm=0.2, norm_type=2.0)),
    ("005_lstm_l2_adam_l2decay",
     dict(mode="LSTM", input_size=6, hidden_size=10, num_layers=2), 8, 5, 3, 6,
     dict(type="Adam", lr=1e-2, betas=[0.9, 0.999], eps=1e-8, weight_decay=1e-2, amsgrad=False),
     dict(type="none")),
]


class Model(nn.Module):
    def __init__(self, cfg, classes):
        super().__init__()
        self.rnn = build_module(cfg["mode"], cfg["input_size"], cfg["hidden_size"],
                                num_layers=cfg.get("num_layers", 1), bidirectional=cfg.get("bidirectional", False),
                                proj_size=cfg.get("proj_size", 0))
        d = 2 if cfg.get("bidirectional", False) else 1
        h_out = cfg.get("proj_size", 0) or cfg["hidden_size"]
        self.head = nn.Linear(d * h_out, classes)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out)


def optimizer(params, o):
    if o["type"] == "SGD":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], dampening=o["dampening"],
                               nesterov=o["nesterov"], weight_decay=o["weight_decay"])
    cls = torch.optim.Adam if o["type"] == "Adam" else torch.optim.AdamW
    return cls(params, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weight_decay"],
               amsgrad=o["amsgrad"], foreach=False)


def global_norm(params):
    return torch.norm(torch.stack([torch.norm(p.grad.detach(), 2.0) for p in params]), 2.0)


def train(model, o, clip, inputs, targets):
    """Runs the steps; returns losses, grad norms (before clipping), clipped steps, step-0 gradients."""
    params = list(model.parameters())
    opt = optimizer(params, o)
    losses, norms, clipped, grads0 = [], [], [], None
    for s in range(inputs.shape[0]):
        opt.zero_grad()
        logits = model(inputs[s])
        classes = logits.shape[-1]
        loss = F.cross_entropy(logits.reshape(-1, classes), targets[s].reshape(-1))
        loss.backward()
        if s == 0:
            grads0 = OrderedDict((n, p.grad.detach().clone()) for n, p in model.named_parameters())
        if clip["type"] == "norm":
            norm = torch.nn.utils.clip_grad_norm_(params, clip["max_norm"], norm_type=clip["norm_type"])
            if float(norm) > clip["max_norm"]:
                clipped.append(s)
        else:
            norm = global_norm(params)
            if clip["type"] == "value":
                if any(bool((p.grad.abs() > clip["clip_value"]).any()) for p in params):
                    clipped.append(s)
                torch.nn.utils.clip_grad_value_(params, clip["clip_value"])
        opt.step()
        losses.append(float(loss))
        norms.append(float(norm))
    return losses, norms, clipped, grads0


def fraction(f32, f64, atol, rtol):
    """Largest fraction of |a-b| <= atol*max(1,max|b|) + rtol*|b| used (b = the float64 result)."""
    f32 = np.asarray(f32, dtype=np.float64)
    f64 = np.asarray(f64, dtype=np.float64)
    allowed = atol * max(1.0, float(np.abs(f64).max())) + rtol * np.abs(f64)
    return float((np.abs(f32 - f64) / allowed).max())


def make(root, name, cfg, classes, T, B, steps, o, clip, seed):
    torch.manual_seed(seed)
    model = Model(cfg, classes)
    inputs = torch.randn(steps, T, B, cfg["input_size"])
    targets = torch.randint(0, classes, (steps, T, B))
    initial = OrderedDict((n, p.detach().clone()) for n, p in model.named_parameters())
    model64 = Model(cfg, classes).double()
    model64.load_state_dict(OrderedDict((n, t.double()) for n, t in initial.items()))

    losses, norms, clipped, grads0 = train(model, o, clip, inputs, targets)
    l64, n64, _, g64 = train(model64, o, clip, inputs.double(), targets)
    final = OrderedDict((n, p.detach().clone()) for n, p in model.named_parameters())
    final64 = OrderedDict((n, p.detach().clone()) for n, p in model64.named_parameters())

    d = os.path.join(root, name)
    os.makedirs(d)
    meta = module_metadata(model.rnn)
    meta["classes"] = str(classes)
    write_safetensors(os.path.join(d, "initial.safetensors"), initial, meta)
    write_safetensors(os.path.join(d, "final.safetensors"), final, meta)
    write_safetensors(os.path.join(d, "grads_step0.safetensors"), grads0, meta)
    np.save(os.path.join(d, "inputs.npy"), inputs.numpy().astype("<f4"))
    np.save(os.path.join(d, "targets.npy"), targets.numpy().astype("<i8"))
    np.save(os.path.join(d, "losses.npy"), np.array(losses, dtype="<f4"))
    np.save(os.path.join(d, "grad_norms.npy"), np.array(norms, dtype="<f4"))

    check = OrderedDict()
    check["losses"] = fraction(losses, l64, 2e-5, 2e-4)
    check["grad_norms"] = fraction(norms, n64, 2e-5, 2e-4)
    check["grads_step0"] = max(fraction(grads0[n].numpy(), g64[n].numpy(), 2e-5, 2e-4) for n in grads0)
    check["final_weights"] = OrderedDict((n, fraction(final[n].numpy(), final64[n].numpy(), 2e-5, 2e-4))
                                         for n in final)
    check["final_weights_worst"] = max(check["final_weights"].values())
    check["rule"] = "max over elements of |f32 - f64| / (2e-5 * max(1, max|f64|) + 2e-4 * |f64|)"

    model_cfg = OrderedDict(json.loads(json.dumps({k: (v == "true" if v in ("true", "false") else
                                                        (int(v) if v.isdigit() else v))
                                                    for k, v in module_metadata(model.rnn).items()})))
    model_cfg["classes"] = classes
    case = OrderedDict([
        ("format_version", 1), ("name", name), ("model", model_cfg), ("optimizer", o), ("clip", clip),
        ("steps", steps), ("seq_len", T), ("batch", B), ("loss", "cross_entropy(head(rnn(x)[0]).reshape(T*B, C), "
                                                              "targets.reshape(T*B)), mean"),
        ("initial_state", "zeros (h0/c0 not passed)"),
        ("parameters", OrderedDict((n, list(t.shape)) for n, t in initial.items())),
        ("files", OrderedDict([
            ("initial.safetensors", "parameters before training (rnn.*, head.*), metadata + classes"),
            ("inputs.npy", {"shape": list(inputs.shape), "layout": "(step, seq_len, batch, input_size)", "dtype": "<f4"}),
            ("targets.npy", {"shape": list(targets.shape), "layout": "(step, seq_len, batch)", "dtype": "<i8"}),
            ("losses.npy", {"shape": [steps], "meaning": "loss of each step, before its update"}),
            ("grad_norms.npy", {"shape": [steps], "meaning": "global 2-norm of the gradients before clipping"}),
            ("grads_step0.safetensors", "gradients of the first step, before clipping"),
            ("final.safetensors", "parameters after the last step"),
        ])),
        ("clipped_steps", clipped),
        ("seed", seed),
        ("producer", OrderedDict([("torch", torch.__version__), ("numpy", np.__version__),
                                  ("python", sys.version.split()[0]), ("torch_num_threads", 1),
                                  ("OPENBLAS_CORETYPE", "Haswell"), ("OPENBLAS_NUM_THREADS", "1")])),
        ("float64_check", check),
    ])
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    return case


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "testdata/golden-training"
    torch.set_num_threads(1)
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root)
    manifest = OrderedDict([("format_version", 1), ("set", "golden-training"), ("seed", SEED), ("cases", [])])
    for i, (name, cfg, classes, T, B, steps, o, clip) in enumerate(CASES):
        case = make(root, name, cfg, classes, T, B, steps, o, clip, SEED + i)
        manifest["cases"].append(OrderedDict([("name", name), ("optimizer", o["type"]), ("clip", clip["type"]),
                                              ("clipped_steps", case["clipped_steps"]),
                                              ("float64_check", case["float64_check"]["final_weights_worst"])]))
        print("%-34s clipped %-12s f64 check: losses %.3f grads0 %.3f final %.3f" % (
            name, case["clipped_steps"], case["float64_check"]["losses"], case["float64_check"]["grads_step0"],
            case["float64_check"]["final_weights_worst"]))
    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
