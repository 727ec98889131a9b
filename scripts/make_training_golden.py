#!/usr/bin/python3
"""Make the training golden cases (testdata/golden-training): a few optimizer steps of a recurrent
layer with a Linear head and cross-entropy, with gradient clipping, all computed by PyTorch.

Each case trains ``rnn`` (``nn.LSTM``/``nn.GRU``/``nn.RNN``) followed by ``head``
(``nn.Linear(D*H_out, C)``) for N steps; every step is::

    opt.zero_grad()
    logits = head(rnn(inputs[s])[0])                        # (T, B, C), zero initial state
    loss = F.cross_entropy(logits.reshape(T*B, C), targets[s].reshape(T*B))    # mean
    loss.backward()
    norm = clip_grad_norm_(params, max_norm) | clip_grad_value_(params, v) | nothing
    opt.step()

and the case stores the initial and final parameters, the inputs and targets, every step's loss
and gradient norm, and the first step's gradients. See testdata/golden-training/README.md.

Besides writing the data, every case is checked four ways and the results go into its case.json:

* ``float64_check``: the same run in float64 (weights and inputs widened exactly), PyTorch's own
  modules and optimizers. The float32 results' distance from it is the basis of the tolerance.
* ``formula_check``: the same float64 run with the optimizer and the clipping replaced by the
  update rules written in the README (implemented here with elementary tensor operations, no
  ``torch.optim``, no ``torch.nn.utils``). It must reproduce PyTorch's float64 run to rounding;
  that is what makes the README's formulas PyTorch's.
* ``float32_replay``: clipping and optimizer replayed in float32 with numpy, following the README's
  table of PyTorch's float32 evaluation order, from PyTorch's gradients of every step: it must give
  the same bits (it does, on every case).
* ``mistakes``: the formula run with one rule deliberately wrong (Nesterov dropped, eps inside the
  square root, ...): how far each mistake lands from the golden float32 data, as a fraction of the
  tolerance. Above 1 = the golden data catch that mistake.

Run with Debian's interpreter and python3-torch 1.13 (``apt-get install python3-torch``)::

    /usr/bin/python3 scripts/make_training_golden.py testdata/golden-training

The output is byte-for-byte reproducible: ``OPENBLAS_NUM_THREADS=1``, ``OPENBLAS_CORETYPE=Haswell``
and ``ATEN_CPU_CAPABILITY=avx2`` (set below, before numpy and torch load; these kernels run on every
AVX2 host, so AVX2 and AVX-512 hosts compute the same bits), ``torch.set_num_threads(1)``, fixed
seeds. ``compare DIR_A DIR_B`` compares two generated directories under the golden tolerance rule
(to measure what another float32 evaluation gives, e.g. ``--openblas-coretype SkylakeX`` or
``--aten-cpu-capability default``, written to another directory).
"""

import os
import sys


def _early_option(argv, name, default):
    """Options that configure OpenBLAS and ATen must act before numpy/torch load, so they are read here."""
    for i, a in enumerate(argv):
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
    return default


_ARGV = sys.argv[1:] if __name__ == "__main__" else []
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OPENBLAS_CORETYPE"] = _early_option(_ARGV, "--openblas-coretype", "Haswell")
# ATen's own kernels: 1.13 picks its AVX2 kernels on AVX2 and on AVX-512 hosts alike (AVX-512 is
# opt-in), but ATEN_CPU_CAPABILITY=avx512 or =default in the caller's environment changes the last
# bits; pin it.
os.environ["ATEN_CPU_CAPABILITY"] = _early_option(_ARGV, "--aten-cpu-capability", "avx2")

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
from collections import OrderedDict  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rnnkit_torch import (METADATA_KEYS, build_module, module_metadata, read_safetensors,  # noqa: E402
                          write_safetensors)

SET = "golden-training"
SEED = 20261124
FORWARD_RULE = (1e-5, 1e-4)    # golden README: output, h_n, c_n
GRADIENT_RULE = (2e-5, 2e-4)   # golden README: grad_*; the suggested rule for every file here


def rnn_cfg(mode, input_size, hidden_size, num_layers=1, bidirectional=False, proj_size=0):
    return OrderedDict([("mode", mode), ("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers), ("bidirectional", bidirectional),
                        ("batch_first", False), ("bias", True), ("proj_size", proj_size),
                        ("cell", False)])


def sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """torch.optim.SGD's arguments, every one written out (1.13 defaults where not given)."""
    return OrderedDict([("type", "SGD"), ("lr", lr), ("momentum", momentum), ("dampening", dampening),
                        ("weight_decay", weight_decay), ("nesterov", nesterov), ("maximize", False),
                        ("foreach", False), ("differentiable", False)])


def adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    """torch.optim.Adam's (or, decoupled, AdamW's) arguments, every one written out."""
    o = OrderedDict([("type", "AdamW" if decoupled else "Adam"), ("lr", lr), ("betas", list(betas)),
                     ("eps", eps), ("weight_decay", weight_decay), ("amsgrad", amsgrad),
                     ("maximize", False), ("foreach", False), ("capturable", False)])
    if not decoupled:   # AdamW in 1.13 has neither argument
        o["differentiable"] = False
        o["fused"] = False
    return o


def clip_norm(max_norm):
    return OrderedDict([("type", "norm"), ("max_norm", max_norm), ("norm_type", 2.0),
                        ("error_if_nonfinite", False)])


def clip_value(v):
    return OrderedDict([("type", "value"), ("clip_value", v)])


CLIP_NONE = OrderedDict([("type", "none")])

# name, rnn config, classes, seq_len T, batch B, steps N, optimizer, clipping, seed.
# These models' gradient norms are 0.2 to 1.1, so max_norm sits inside that range: some steps clip,
# some do not (make_case refuses a norm within 0.1% of max_norm).
CASES = [
    ("000_lstm_sgd_momentum_clipnorm",
     rnn_cfg("LSTM", 6, 12), 5, 8, 3, 8,
     sgd(0.5, momentum=0.9), clip_norm(0.25), SEED + 0),
    ("001_gru_l2_adam_clipvalue",
     rnn_cfg("GRU", 5, 10, num_layers=2), 6, 7, 4, 8,
     adam(1e-2), clip_value(0.05), SEED + 1),
    ("002_lstm_l2_bi_proj_adamw",
     rnn_cfg("LSTM", 7, 16, num_layers=2, bidirectional=True, proj_size=6), 4, 6, 3, 6,
     adam(5e-3, weight_decay=0.1, decoupled=True), CLIP_NONE, SEED + 2),
    ("003_rnntanh_sgd_weightdecay",
     rnn_cfg("RNN_TANH", 8, 14), 10, 9, 2, 10,
     sgd(0.1, weight_decay=1e-3), CLIP_NONE, SEED + 3),
    ("004_gru_sgd_nesterov_clipnorm",
     rnn_cfg("GRU", 5, 16), 5, 6, 2, 8,
     sgd(0.3, momentum=0.9, nesterov=True), clip_norm(0.5), SEED + 4),
    ("005_lstm_l2_adam_l2decay",
     rnn_cfg("LSTM", 6, 10, num_layers=2), 8, 5, 3, 6,
     adam(1e-2, weight_decay=1e-2), CLIP_NONE, SEED + 5),
    # SGD's dampening and Adam's amsgrad, the remaining options of the toolkit's optimizers
    ("006_rnntanh_l2_bi_sgd_dampening_clipnorm",
     rnn_cfg("RNN_TANH", 6, 8, num_layers=2, bidirectional=True), 6, 6, 3, 8,
     sgd(0.2, momentum=0.8, dampening=0.3, weight_decay=1e-2), clip_norm(0.8), SEED + 6),
    ("007_gru_adamw_amsgrad_clipvalue",
     rnn_cfg("GRU", 9, 12), 7, 5, 2, 8,
     adam(2e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, amsgrad=True, decoupled=True),
     clip_value(0.1), SEED + 7),
]


class Model(nn.Module):
    """``rnn`` then ``head``: parameters() = state_dict order = rnn.* then head.weight, head.bias."""

    def __init__(self, cfg, classes):
        super().__init__()
        self.rnn = build_module(**cfg)
        d = 2 if cfg["bidirectional"] else 1
        self.head = nn.Linear(d * (cfg["proj_size"] or cfg["hidden_size"]), classes)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out)


def step_loss(model, x, y):
    logits = model(x)
    c = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, c), y.reshape(-1))


def global_norm(grads):
    """The 2-norm of all gradients as one vector, exactly as clip_grad_norm_ computes it."""
    return torch.norm(torch.stack([torch.norm(g.detach(), 2.0) for g in grads]), 2.0)


# ----------------------------------------------------------------------------------------------
# PyTorch's own clipping and optimizers
# ----------------------------------------------------------------------------------------------

class TorchRules:
    """clip_grad_norm_ / clip_grad_value_ and torch.optim, as a user calls them."""

    def __init__(self, params, o, clip):
        kw = OrderedDict((k, v) for k, v in o.items() if k != "type")
        if "betas" in kw:
            kw["betas"] = tuple(kw["betas"])
        self.opt = getattr(torch.optim, o["type"])(params, **kw)
        self.params, self.clip = params, clip

    def zero_grad(self):
        self.opt.zero_grad()

    def clip_(self):
        """Clips the gradients; returns (norm before clipping, clip coefficient or None, #clamped)."""
        c = self.clip
        grads = [p.grad for p in self.params]
        if c["type"] == "norm":
            norm = torch.nn.utils.clip_grad_norm_(self.params, c["max_norm"], norm_type=c["norm_type"],
                                                  error_if_nonfinite=c["error_if_nonfinite"])
            coef = torch.clamp(c["max_norm"] / (norm + 1e-6), max=1.0)   # the factor it applied
            return norm, coef, None
        norm = global_norm(grads)
        if c["type"] == "value":
            v = torch.tensor(c["clip_value"], dtype=grads[0].dtype)
            clamped = sum(int((g.abs() > v).sum()) for g in grads)
            torch.nn.utils.clip_grad_value_(self.params, c["clip_value"])
            return norm, None, clamped
        return norm, None, None

    def step(self):
        self.opt.step()


# ----------------------------------------------------------------------------------------------
# The README's formulas, with elementary tensor operations (no torch.optim, no nn.utils)
# ----------------------------------------------------------------------------------------------

MISTAKES = OrderedDict([
    ("clip_skipped", "no clipping at all"),
    ("clip_norm_without_1e-6", "coef = max_norm/total_norm (no +1e-6)"),
    ("clip_norm_always_scales", "coef = max_norm/(total_norm+1e-6), not clamped to 1"),
    ("sgd_no_weight_decay", "weight_decay ignored"),
    ("sgd_decoupled_weight_decay", "p -= lr*wd*p separately, momentum on the raw gradient"),
    ("sgd_dampening_at_first_step", "first buffer = (1-dampening)*d instead of d"),
    ("sgd_nesterov_dropped", "d = buf (plain momentum) although nesterov=True"),
    ("adam_no_bias_correction", "step_size = lr, denom = sqrt(v) + eps"),
    ("adam_eps_inside_sqrt", "denom = sqrt(v/bc2 + eps)"),
    ("adam_eps_before_bias_correction", "denom = (sqrt(v) + eps)/sqrt(bc2)"),
    ("adam_l2_decoupled", "Adam's weight_decay applied as AdamW's p *= 1-lr*wd"),
    ("adamw_l2_coupled", "AdamW's weight_decay applied as Adam's g += wd*p"),
    ("adamw_decay_after_update", "p *= 1-lr*wd after the Adam update instead of before"),
    ("adamw_decay_without_lr", "p *= 1-wd instead of 1-lr*wd"),
    ("amsgrad_ignored", "denom from v instead of max(v) although amsgrad=True"),
    ("amsgrad_max_of_bias_corrected", "max taken over v/bc2 (bias-corrected) instead of raw v"),
])


def mistakes_for(o, clip):
    m = ["clip_skipped"] if clip["type"] != "none" else []
    if clip["type"] == "norm":
        m += ["clip_norm_without_1e-6", "clip_norm_always_scales"]
    if o["type"] == "SGD":
        if o["weight_decay"]:
            m += ["sgd_no_weight_decay"]
            if o["momentum"]:   # without momentum, decoupled decay is the same arithmetic
                m += ["sgd_decoupled_weight_decay"]
        if o["momentum"] and o["dampening"]:
            m += ["sgd_dampening_at_first_step"]
        if o["nesterov"]:
            m += ["sgd_nesterov_dropped"]
    else:
        m += ["adam_no_bias_correction", "adam_eps_inside_sqrt", "adam_eps_before_bias_correction"]
        if o["type"] == "Adam" and o["weight_decay"]:
            m += ["adam_l2_decoupled"]
        if o["type"] == "AdamW" and o["weight_decay"]:
            m += ["adamw_l2_coupled", "adamw_decay_after_update", "adamw_decay_without_lr"]
        if o["amsgrad"]:
            m += ["amsgrad_ignored", "amsgrad_max_of_bias_corrected"]
    return m


class FormulaRules:
    """Clipping and the optimizer update exactly as written in the README (``mistake``: one rule
    deliberately wrong). Works in the parameters' dtype."""

    def __init__(self, params, o, clip, mistake=None):
        assert mistake is None or mistake in MISTAKES, mistake
        self.params, self.o, self.clip, self.mistake = params, o, clip, mistake
        self.t = 0
        self.state = [dict() for _ in params]

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def clip_(self):
        c, grads = self.clip, [p.grad for p in self.params]
        total = torch.sqrt(sum(torch.sum(g * g) for g in grads))
        if c["type"] == "none" or self.mistake == "clip_skipped":
            return total, None, None
        if c["type"] == "norm":
            coef = c["max_norm"] / (total + (0.0 if self.mistake == "clip_norm_without_1e-6" else 1e-6))
            if self.mistake != "clip_norm_always_scales":
                coef = torch.clamp(coef, max=1.0)
            for g in grads:
                g.mul_(coef)
            return total, coef, None
        for g in grads:
            g.clamp_(-c["clip_value"], c["clip_value"])
        return total, None, None

    @torch.no_grad()
    def step(self):
        self.t += 1
        for p, st in zip(self.params, self.state):
            if self.o["type"] == "SGD":
                self._sgd(p, p.grad.clone(), st)
            else:
                self._adam(p, p.grad.clone(), st)

    def _sgd(self, p, g, st):
        o, m = self.o, self.mistake
        lr, mu, tau, wd = o["lr"], o["momentum"], o["dampening"], o["weight_decay"]
        d = g
        if wd != 0 and m not in ("sgd_no_weight_decay", "sgd_decoupled_weight_decay"):
            d = d + wd * p
        if mu != 0:
            if "buf" not in st:
                st["buf"] = ((1 - tau) * d) if m == "sgd_dampening_at_first_step" else d.clone()
            else:
                st["buf"] = mu * st["buf"] + (1 - tau) * d
            buf = st["buf"]
            if o["nesterov"] and m != "sgd_nesterov_dropped":
                d = d + mu * buf
            else:
                d = buf
        if wd != 0 and m == "sgd_decoupled_weight_decay":
            p.sub_(lr * wd * p)
        p.sub_(lr * d)

    def _adam(self, p, g, st):
        o, m, t = self.o, self.mistake, self.t
        lr, (b1, b2), eps, wd = o["lr"], o["betas"], o["eps"], o["weight_decay"]
        decoupled = o["type"] == "AdamW"
        if m == "adam_l2_decoupled" or m == "adamw_l2_coupled":
            decoupled = not decoupled
        if wd != 0:
            if decoupled and m != "adamw_decay_after_update":
                p.mul_(1 - (wd if m == "adamw_decay_without_lr" else lr * wd))
            elif not decoupled:
                g = g + wd * p
        if "m" not in st:
            st["m"], st["v"] = torch.zeros_like(p), torch.zeros_like(p)
            st["vmax"] = torch.zeros_like(p)
        st["m"] = b1 * st["m"] + (1 - b1) * g
        st["v"] = b2 * st["v"] + (1 - b2) * g * g
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        v = st["v"]
        if o["amsgrad"] and m != "amsgrad_ignored":
            if m == "amsgrad_max_of_bias_corrected":
                st["vmax"] = torch.maximum(st["vmax"], v / bc2)
                v = st["vmax"] * bc2
            else:
                st["vmax"] = torch.maximum(st["vmax"], v)
                v = st["vmax"]
        if m == "adam_no_bias_correction":
            denom, step_size = torch.sqrt(v) + eps, lr
        elif m == "adam_eps_inside_sqrt":
            denom, step_size = torch.sqrt(v / bc2 + eps), lr / bc1
        elif m == "adam_eps_before_bias_correction":
            denom, step_size = (torch.sqrt(v) + eps) / math.sqrt(bc2), lr / bc1
        else:
            denom, step_size = torch.sqrt(v) / math.sqrt(bc2) + eps, lr / bc1
        p.sub_(step_size * st["m"] / denom)
        if wd != 0 and decoupled and m == "adamw_decay_after_update":
            p.mul_(1 - lr * wd)


# ----------------------------------------------------------------------------------------------
# The README's float32 evaluation order, in numpy, bit for bit
# ----------------------------------------------------------------------------------------------

def _f(x):
    """Round to float32 (from float64 or a Python float)."""
    return np.float32(x) if np.isscalar(x) else np.asarray(x, dtype=np.float64).astype(np.float32)


def _fma(a, b, c):
    """float32(a*b + c) with one rounding (evaluated in float64: a*b is exact there)."""
    return _f(np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64))


def _mul(a, b):
    return _f(np.asarray(a, np.float64) * np.asarray(b, np.float64))


def float32_replay(initial, gold, o, clip):
    """Replays clipping and the optimizer in float32 with numpy, following the README's float32
    table, from PyTorch's own gradients (before clipping) and gradient norms of every step.
    Returns how many elements differ from PyTorch's clipped gradients and final parameters."""
    params = [_np(t).copy() for t in initial.values()]
    state = [dict() for _ in params]
    clip_diff = 0
    for s, (pre, post, total) in enumerate(zip(gold["grads_pre"], gold["grads_post"], gold["norms"])):
        grads = [_np(g).copy() for g in pre]
        if clip["type"] == "norm":
            denom = _f(np.float64(_np(total)) + np.float64(_f(1e-6)))
            coef = _mul(_f(1.0 / np.float64(denom)), _f(clip["max_norm"]))
            coef = min(coef, np.float32(1.0))
            grads = [_mul(g, coef) for g in grads]
        elif clip["type"] == "value":
            v = _f(clip["clip_value"])
            grads = [np.clip(g, -v, v) for g in grads]
        clip_diff += sum(int((a != _np(b)).sum()) for a, b in zip(grads, post))
        t = s + 1
        for i, (p, g, st) in enumerate(zip(params, grads, state)):
            if o["type"] == "SGD":
                mu, tau, wd = o["momentum"], o["dampening"], o["weight_decay"]
                d = _fma(_f(wd), p, g) if wd != 0 else g
                if mu != 0:
                    if "buf" not in st:
                        st["buf"] = d.copy()
                    else:
                        st["buf"] = _fma(_f(1 - tau), d, _mul(st["buf"], _f(mu)))
                    d = _fma(_f(mu), st["buf"], d) if o["nesterov"] else st["buf"]
                params[i] = _fma(_f(-o["lr"]), d, p)
                continue
            b1, b2 = o["betas"]
            wd, eps = o["weight_decay"], o["eps"]
            if o["type"] == "AdamW":
                p = _mul(p, _f(1 - o["lr"] * wd))
            elif wd != 0:
                g = _fma(_f(wd), p, g)
            if "m" not in st:
                st["m"] = np.zeros_like(p)
                st["v"] = np.zeros_like(p)
                st["vmax"] = np.zeros_like(p)
            st["m"] = _fma(_f(1 - b1), g, _mul(st["m"], _f(b1)))
            st["v"] = _fma(_mul(_f(1 - b2), g), g, _mul(st["v"], _f(b2)))
            v = st["v"]
            if o["amsgrad"]:
                st["vmax"] = np.maximum(st["vmax"], v)
                v = st["vmax"]
            bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
            denom = _f(np.float64(np.sqrt(v)) / np.float64(_f(math.sqrt(bc2))))
            denom = _f(np.float64(denom) + np.float64(_f(eps)))
            upd = _f(np.float64(_mul(_f(-(o["lr"] / bc1)), st["m"])) / np.float64(denom))
            params[i] = _f(np.float64(p) + np.float64(upd))
    final = [_np(t) for t in gold["final"].values()]
    diff = sum(int((a != b).sum()) for a, b in zip(params, final))
    maxd = max(float(np.abs(a.astype(np.float64) - b).max()) for a, b in zip(params, final))
    return OrderedDict([
        ("what", "clipping and optimizer replayed in float32 with numpy, following the README's float32 "
                 "table, from PyTorch's gradients before clipping and its gradient norms of every step"),
        ("clipped_gradient_elements_differing", clip_diff),
        ("final_parameter_elements_differing", diff),
        ("final_parameter_elements", int(sum(a.size for a in final))),
        ("max_abs_diff_final", maxd),
    ])


# ----------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------

def train(model, inputs, targets, rules, record_grads=False):
    """N steps. Returns per-step losses, norms (before clipping), clip coefficients, clamped element
    counts, the first step's gradients (before clipping) and the final parameters."""
    params = list(model.parameters())
    names = [n for n, _ in model.named_parameters()]
    r = OrderedDict([("losses", []), ("norms", []), ("coefs", []), ("clamped", []), ("grads0", None),
                     ("grads_pre", []), ("grads_post", [])])
    for s in range(inputs.shape[0]):
        rules.zero_grad()
        loss = step_loss(model, inputs[s], targets[s])
        loss.backward()
        if s == 0:
            r["grads0"] = OrderedDict((n, p.grad.detach().clone()) for n, p in zip(names, params))
        if record_grads:
            r["grads_pre"].append([p.grad.detach().clone() for p in params])
        norm, coef, clamped = rules.clip_()
        if record_grads:
            r["grads_post"].append([p.grad.detach().clone() for p in params])
        rules.step()
        r["losses"].append(loss.detach().clone())
        r["norms"].append(norm.detach().clone())
        r["coefs"].append(None if coef is None else coef.detach().clone())
        r["clamped"].append(clamped)
    r["final"] = OrderedDict((n, p.detach().clone()) for n, p in zip(names, params))
    return r


def make_data(cfg, classes, T, B, N, seed):
    """Initial model, inputs (N, T, B, I) standard normal, targets (N, T, B) from a fixed random
    'teacher' so that the loss can fall: argmax over classes of (x[t] + 0.5*x[t-1]) @ W."""
    torch.manual_seed(seed)
    model = Model(cfg, classes)
    inputs = torch.randn(N, T, B, cfg["input_size"])
    w = torch.randn(cfg["input_size"], classes)
    prev = torch.cat([torch.zeros_like(inputs[:, :1]), inputs[:, :-1]], dim=1)
    targets = ((inputs + 0.5 * prev) @ w).argmax(-1).to(torch.int64)
    return model, inputs, targets


def double_copy(model):
    m = copy.deepcopy(model).double()
    for (n, a), (_, b) in zip(model.named_parameters(), m.named_parameters()):
        assert torch.equal(a.double(), b) and b.dtype == torch.float64, n
    return m


# ----------------------------------------------------------------------------------------------
# comparisons
# ----------------------------------------------------------------------------------------------

def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def fraction(got, ref, rule):
    """Largest fraction of |got - ref| <= atol*max(1, max|ref|) + rtol*|ref| used (ref = reference)."""
    got = np.asarray(_np(got), dtype=np.float64)
    ref = np.asarray(_np(ref), dtype=np.float64)
    atol, rtol = rule
    allowed = atol * max(1.0, float(np.abs(ref).max())) + rtol * np.abs(ref)
    return float((np.abs(got - ref) / allowed).max())


def diff_entry(got, ref):
    got = np.asarray(_np(got), dtype=np.float64)
    ref = np.asarray(_np(ref), dtype=np.float64)
    return OrderedDict([
        ("max_abs_err_f32_vs_f64", float(np.abs(got - ref).max())),
        ("max_abs_value", float(np.abs(ref).max())),
        ("fraction_forward_rule", fraction(got, ref, FORWARD_RULE)),
        ("fraction_gradient_rule", fraction(got, ref, GRADIENT_RULE)),
    ])


def scalars_entry(got, ref):
    """Losses and norms: each step's value is its own one-element tensor (as the Java test checks)."""
    e = diff_entry(got, ref)
    e["fraction_forward_rule"] = max(fraction([a], [b], FORWARD_RULE) for a, b in zip(got, ref))
    e["fraction_gradient_rule"] = max(fraction([a], [b], GRADIENT_RULE) for a, b in zip(got, ref))
    e["compared"] = "per step, each value as a one-element tensor"
    return e


def tensors_entry(got, ref):
    per = OrderedDict((n, diff_entry(got[n], ref[n])) for n in got)
    worst = OrderedDict([
        ("max_abs_err_f32_vs_f64", max(e["max_abs_err_f32_vs_f64"] for e in per.values())),
        ("max_abs_value", max(e["max_abs_value"] for e in per.values())),
        ("fraction_forward_rule", max(e["fraction_forward_rule"] for e in per.values())),
        ("fraction_gradient_rule", max(e["fraction_gradient_rule"] for e in per.values())),
    ])
    return OrderedDict([("worst", worst), ("tensors", per)])


def worst_vs_golden(run, gold):
    """Worst fraction of the gradient rule of a run against the golden float32 results, over the
    losses, norms and final weights (per step scalars as one-element tensors)."""
    f = [fraction([a], [b], GRADIENT_RULE) for a, b in zip(run["losses"], gold["losses"])]
    f += [fraction([a], [b], GRADIENT_RULE) for a, b in zip(run["norms"], gold["norms"])]
    f += [fraction(run["final"][n], gold["final"][n], GRADIENT_RULE) for n in gold["final"]]
    return max(f)


def clipped_steps(r, clip):
    if clip["type"] == "norm":
        return [s for s, c in enumerate(r["coefs"]) if float(c) < 1.0]
    if clip["type"] == "value":
        return [s for s, k in enumerate(r["clamped"]) if k]
    return []


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------

def f32list(ts):
    return [float(np.float32(float(t))) for t in ts]


def make_case(root, name, cfg, classes, T, B, N, o, clip, seed):
    model, inputs, targets = make_data(cfg, classes, T, B, N, seed)
    pristine = copy.deepcopy(model)
    model64 = double_copy(model)
    formula64 = double_copy(model)
    initial = OrderedDict((n, p.detach().clone()) for n, p in model.named_parameters())

    gold = train(model, inputs, targets, TorchRules(list(model.parameters()), o, clip), record_grads=True)
    r64 = train(model64, inputs.double(), targets, TorchRules(list(model64.parameters()), o, clip))
    f64 = train(formula64, inputs.double(), targets, FormulaRules(list(formula64.parameters()), o, clip))

    clipped = clipped_steps(gold, clip)
    if clipped != clipped_steps(r64, clip):
        raise SystemExit("%s: float32 and float64 clip different steps: %s vs %s"
                         % (name, clipped, clipped_steps(r64, clip)))
    if clip["type"] == "norm":
        margin = min(abs(float(n) - clip["max_norm"]) / clip["max_norm"] for n in gold["norms"])
        if margin < 1e-3:
            raise SystemExit("%s: a gradient norm is within %.2g of max_norm; pick another seed" % (name, margin))

    d = os.path.join(root, name)
    os.makedirs(d)
    meta = module_metadata(model.rnn)
    meta["classes"] = str(classes)
    for fname, tensors in (("initial.safetensors", initial), ("final.safetensors", gold["final"]),
                           ("grads_step0.safetensors", gold["grads0"])):
        arrays = OrderedDict((n, _np(t)) for n, t in tensors.items())
        assert all(a.dtype == np.float32 for a in arrays.values())
        write_safetensors(os.path.join(d, fname), arrays, meta)
    np.save(os.path.join(d, "inputs.npy"), np.ascontiguousarray(_np(inputs), dtype="<f4"))
    np.save(os.path.join(d, "targets.npy"), np.ascontiguousarray(_np(targets), dtype="<i8"))
    np.save(os.path.join(d, "losses.npy"), np.array(f32list(gold["losses"]), dtype="<f4"))
    np.save(os.path.join(d, "grad_norms.npy"), np.array(f32list(gold["norms"]), dtype="<f4"))
    for t in gold["losses"] + gold["norms"]:
        assert t.dtype == torch.float32

    # float64 run with PyTorch's optimizer: the basis of the tolerance
    check = OrderedDict()
    check["what"] = ("the same training run in float64 (initial weights and inputs widened exactly, "
                     "PyTorch's modules, clipping and optimizer); f32 = the golden files, f64 = that run")
    check["rules"] = OrderedDict([
        ("rule", "|f32 - f64| <= atol*max(1, max|f64 tensor|) + rtol*|f64|; fraction = the largest "
                 "|f32 - f64| / (atol*max(1, max|f64|) + rtol*|f64|) over the elements"),
        ("forward", OrderedDict([("atol", FORWARD_RULE[0]), ("rtol", FORWARD_RULE[1])])),
        ("gradient", OrderedDict([("atol", GRADIENT_RULE[0]), ("rtol", GRADIENT_RULE[1])])),
    ])
    files = OrderedDict()
    files["losses.npy"] = scalars_entry(f32list(gold["losses"]), [float(t) for t in r64["losses"]])
    files["grad_norms.npy"] = scalars_entry(f32list(gold["norms"]), [float(t) for t in r64["norms"]])
    files["grads_step0.safetensors"] = tensors_entry(gold["grads0"], r64["grads0"])
    files["final.safetensors"] = tensors_entry(gold["final"], r64["final"])
    check["files"] = files

    def worst(key):
        return max(e[key] if "worst" not in e else e["worst"][key] for e in files.values())
    check["worst_fraction_forward_rule"] = worst("fraction_forward_rule")
    check["worst_fraction_gradient_rule"] = worst("fraction_gradient_rule")
    check["clipped_steps_float64"] = clipped_steps(r64, clip)

    # the README's formulas in float64 against PyTorch's float64 run, and against the golden data
    fcheck = OrderedDict()
    fcheck["what"] = ("the float64 run again, with clipping and optimizer replaced by the README's "
                      "formulas (elementary tensor operations): max |formula - torch| in float64, "
                      "and its fraction of the gradient rule against the golden float32 files")
    fcheck["max_abs_diff_vs_torch_float64"] = OrderedDict([
        ("losses", max(abs(float(a) - float(b)) for a, b in zip(f64["losses"], r64["losses"]))),
        ("grad_norms", max(abs(float(a) - float(b)) for a, b in zip(f64["norms"], r64["norms"]))),
        ("final", max(float((f64["final"][n] - r64["final"][n]).abs().max()) for n in r64["final"])),
    ])
    fcheck["fraction_gradient_rule_vs_golden"] = worst_vs_golden(f64, gold)
    if fcheck["max_abs_diff_vs_torch_float64"]["final"] > 1e-12:
        raise SystemExit("%s: the README formulas do not reproduce PyTorch (%g)"
                         % (name, fcheck["max_abs_diff_vs_torch_float64"]["final"]))

    replay = float32_replay(initial, gold, o, clip)

    mistakes = OrderedDict()
    for m in mistakes_for(o, clip):
        mm = double_copy(pristine)
        rm = train(mm, inputs.double(), targets, FormulaRules(list(mm.parameters()), o, clip, mistake=m))
        mistakes[m] = OrderedDict([("mistake", MISTAKES[m]),
                                   ("fraction_gradient_rule_vs_golden", worst_vs_golden(rm, gold))])

    layouts = OrderedDict()
    layouts["initial.safetensors"] = OrderedDict([
        ("role", "initial_parameters"), ("layout", "tensors named as in parameters, shapes as in parameters"),
        ("dtype", "F32")])
    layouts["inputs.npy"] = OrderedDict([("role", "input"), ("shape", list(inputs.shape)),
                                         ("layout", "(step, seq_len, batch, input_size)"), ("dtype", "<f4")])
    layouts["targets.npy"] = OrderedDict([("role", "target"), ("shape", list(targets.shape)),
                                          ("layout", "(step, seq_len, batch)"), ("dtype", "<i8")])
    layouts["losses.npy"] = OrderedDict([("role", "expected_loss"), ("shape", [N]), ("layout", "(step)"),
                                         ("dtype", "<f4")])
    layouts["grad_norms.npy"] = OrderedDict([("role", "expected_grad_norm"), ("shape", [N]),
                                             ("layout", "(step)"), ("dtype", "<f4")])
    layouts["grads_step0.safetensors"] = OrderedDict([
        ("role", "expected_gradient"), ("layout", "tensors named as in parameters, shapes as in parameters; "
                                                  "step 0, before clipping"), ("dtype", "F32")])
    layouts["final.safetensors"] = OrderedDict([
        ("role", "expected_parameters"), ("layout", "tensors named as in parameters, shapes as in parameters; "
                                                    "after the last step"), ("dtype", "F32")])

    model_json = OrderedDict()
    for k in METADATA_KEYS:
        model_json[k] = cfg[k]
    model_json["classes"] = classes
    assert OrderedDict((k, v) for k, v in meta.items()) == OrderedDict(
        [(k, ("true" if v else "false") if isinstance(v, bool) else str(v)) for k, v in model_json.items()])

    per_step = OrderedDict([("loss", f32list(gold["losses"])), ("grad_norm", f32list(gold["norms"]))])
    if clip["type"] == "norm":
        per_step["clip_coef"] = f32list(gold["coefs"])
    if clip["type"] == "value":
        per_step["clamped_elements"] = gold["clamped"]

    case = OrderedDict([
        ("format_version", 1), ("name", name), ("set", SET),
        ("model", model_json),
        ("optimizer", o), ("clip", clip),
        ("steps", N), ("seq_len", T), ("batch", B),
        ("loss", "F.cross_entropy(head(rnn(x)[0]).reshape(T*B, C), targets.reshape(T*B)), reduction mean"),
        ("initial_state", "zeros (h0/c0 not passed)"),
        ("step", ["opt.zero_grad()", "loss = <loss>(inputs[s], targets[s])", "loss.backward()",
                  {"norm": "grad_norm = clip_grad_norm_(params, max_norm, norm_type=2.0)",
                   "value": "grad_norm = global 2-norm of the gradients; clip_grad_value_(params, clip_value)",
                   "none": "grad_norm = global 2-norm of the gradients"}[clip["type"]],
                  "opt.step()"]),
        ("parameters", OrderedDict((n, list(t.shape)) for n, t in initial.items())),
        ("files", layouts),
        ("clipped_steps", clipped),
        ("per_step", per_step),
        ("input_distribution", "standard normal"),
        ("targets", "argmax over classes of (x[t] + 0.5*x[t-1]) @ W, W a fixed standard-normal "
                    "(input_size, classes) matrix, x[-1] = 0"),
        ("weight_init", "PyTorch default (rnn: uniform(-1/sqrt(H), 1/sqrt(H)); head: nn.Linear's)"),
        ("seed", seed),
        ("producer", OrderedDict([
            ("torch", torch.__version__), ("debian_python3_torch", "1.13.1+dfsg-4"),
            ("numpy", np.__version__), ("python", sys.version.split()[0]), ("device", "cpu"),
            ("dtype", "float32"), ("torch_num_threads", torch.get_num_threads()),
            ("OPENBLAS_NUM_THREADS", os.environ["OPENBLAS_NUM_THREADS"]),
            ("OPENBLAS_CORETYPE", os.environ["OPENBLAS_CORETYPE"]),
            ("ATEN_CPU_CAPABILITY", os.environ["ATEN_CPU_CAPABILITY"]),
            ("optimizer_path", "single-tensor (foreach=False)")])),
        ("tolerance", OrderedDict([
            ("rule", "abs(got-expected) <= atol*max(1, max(abs(expected_tensor))) + rtol*abs(expected)"),
            ("atol", GRADIENT_RULE[0]), ("rtol", GRADIENT_RULE[1]),
            ("applies_to", "grads_step0, final (per tensor); losses, grad_norms (per step)")])),
        ("float64_check", check),
        ("formula_check", fcheck),
        ("float32_replay", replay),
        ("mistakes", mistakes),
    ])
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    case["bytes"] = sum(os.path.getsize(os.path.join(d, x)) for x in sorted(os.listdir(d)))
    return case


CASE_DIR = re.compile(r"^\d{3}_[a-z0-9_]+$")


def cmd_generate(a):
    root = a.out
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(root, exist_ok=True)
    for x in sorted(os.listdir(root)):   # remove what this script made before, nothing else
        if CASE_DIR.match(x) and os.path.isdir(os.path.join(root, x)):
            shutil.rmtree(os.path.join(root, x))
    if os.path.exists(os.path.join(root, "manifest.json")):
        os.unlink(os.path.join(root, "manifest.json"))
    entries = []
    for name, cfg, classes, T, B, N, o, clip, seed in CASES:
        case = make_case(root, name, cfg, classes, T, B, N, o, clip, seed)
        chk = case["float64_check"]
        fw = chk["files"]["final.safetensors"]["worst"]["fraction_gradient_rule"]
        entries.append(OrderedDict([
            ("name", name), ("mode", cfg["mode"]), ("model", case["model"]),
            ("optimizer", o["type"]), ("clip", clip["type"]), ("steps", N), ("seq_len", T), ("batch", B),
            ("clipped_steps", case["clipped_steps"]),
            ("float64_check_worst_fraction_gradient_rule", chk["worst_fraction_gradient_rule"]),
            ("bytes", case["bytes"]),
        ]))
        ms = case["mistakes"]
        print("%-42s clipped %-26s f64: loss %.4f norm %.4f grads0 %.4f final %.4f | formula %.2g | "
              "f32 replay %d/%d | mistakes min %s" % (
                  name, case["clipped_steps"], chk["files"]["losses.npy"]["fraction_gradient_rule"],
                  chk["files"]["grad_norms.npy"]["fraction_gradient_rule"],
                  chk["files"]["grads_step0.safetensors"]["worst"]["fraction_gradient_rule"], fw,
                  case["formula_check"]["max_abs_diff_vs_torch_float64"]["final"],
                  case["float32_replay"]["clipped_gradient_elements_differing"],
                  case["float32_replay"]["final_parameter_elements_differing"],
                  "%.3g (%s)" % min((v["fraction_gradient_rule_vs_golden"], k) for k, v in ms.items())
                  if ms else "-"))
        if a.verbose:
            print("    losses", ["%.4f" % x for x in case["per_step"]["loss"]])
            print("    norms ", ["%.4f" % x for x in case["per_step"]["grad_norm"]])
            for k, v in ms.items():
                print("    %-36s %.3g" % (k, v["fraction_gradient_rule_vs_golden"]))
    manifest = OrderedDict([
        ("format_version", 1), ("set", SET),
        ("producer", OrderedDict([("torch", torch.__version__), ("debian_python3_torch", "1.13.1+dfsg-4"),
                                  ("numpy", np.__version__), ("python", sys.version.split()[0]),
                                  ("device", "cpu"), ("dtype", "float32"), ("torch_num_threads", 1),
                                  ("OPENBLAS_NUM_THREADS", "1"),
                                  ("OPENBLAS_CORETYPE", os.environ["OPENBLAS_CORETYPE"]),
                                  ("ATEN_CPU_CAPABILITY", os.environ["ATEN_CPU_CAPABILITY"])])),
        ("generator", "scripts/make_training_golden.py"),
        ("seed", SEED),
        ("tolerance", OrderedDict([
            ("rule", "abs(got-expected) <= atol*max(1, max(abs(expected_tensor))) + rtol*abs(expected)"),
            ("atol", GRADIENT_RULE[0]), ("rtol", GRADIENT_RULE[1]),
            ("applies_to", "grads_step0, final (per tensor); losses, grad_norms (per step)")])),
        ("case_count", len(entries)), ("cases", entries),
    ])
    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(root) for f in fs)
    print("%d cases in %s, %d bytes in all (with README)" % (len(entries), root, total))
    return 0


def cmd_compare(a):
    """Fractions of the gradient rule of DIR_A's expected files against DIR_B's (B = reference)."""
    worst_all = 0.0
    for name in sorted(x for x in os.listdir(a.dir_b) if CASE_DIR.match(x)):
        pa, pb = os.path.join(a.dir_a, name), os.path.join(a.dir_b, name)
        res = OrderedDict()
        for f in ("losses.npy", "grad_norms.npy"):
            xa, xb = np.load(os.path.join(pa, f)), np.load(os.path.join(pb, f))
            res[f] = max(fraction([u], [v], GRADIENT_RULE) for u, v in zip(xa, xb))
        for f in ("grads_step0.safetensors", "final.safetensors"):
            ta, _ = read_safetensors(os.path.join(pa, f))
            tb, _ = read_safetensors(os.path.join(pb, f))
            assert list(ta) == list(tb), f
            res[f] = max(fraction(ta[n], tb[n], GRADIENT_RULE) for n in tb)
        worst_all = max(worst_all, max(res.values()))
        print("%-42s %s" % (name, "  ".join("%s %.4f" % (k.split(".")[0], v) for k, v in res.items())))
    print("worst fraction of the gradient rule: %.4f" % worst_all)
    return 0 if worst_all <= 1.0 else 1


def cmd_check(a):
    """Re-trains every case from its stored files alone (case.json, initial.safetensors, inputs.npy,
    targets.npy) with PyTorch and compares with the stored results."""
    worst_all, failed = 0.0, 0
    cases = sorted(x for x in os.listdir(a.dir) if CASE_DIR.match(x))
    for name in cases:
        d = os.path.join(a.dir, name)
        with open(os.path.join(d, "case.json")) as f:
            case = json.load(f, object_pairs_hook=OrderedDict)
        cfg = OrderedDict((k, case["model"][k]) for k in METADATA_KEYS)
        init, meta = read_safetensors(os.path.join(d, "initial.safetensors"))
        model = Model(cfg, case["model"]["classes"])
        expected_meta = module_metadata(model.rnn)
        expected_meta["classes"] = str(case["model"]["classes"])
        problems = []
        if meta != expected_meta:
            problems.append("initial.safetensors metadata %r" % meta)
        if list(init) != [n for n, _ in model.named_parameters()] or list(init) != list(case["parameters"]):
            problems.append("parameter names/order")
        model.load_state_dict(OrderedDict((n, torch.from_numpy(t)) for n, t in init.items()))
        inputs = torch.from_numpy(np.load(os.path.join(d, "inputs.npy")))
        targets = torch.from_numpy(np.load(os.path.join(d, "targets.npy")))
        if inputs.dtype != torch.float32 or targets.dtype != torch.int64:
            problems.append("dtypes %s %s" % (inputs.dtype, targets.dtype))
        r = train(model, inputs, targets, TorchRules(list(model.parameters()), case["optimizer"], case["clip"]))
        got = OrderedDict([("losses.npy", np.array(f32list(r["losses"]), np.float32)),
                           ("grad_norms.npy", np.array(f32list(r["norms"]), np.float32))])
        same, per = True, OrderedDict()
        for f, g in got.items():
            want = np.load(os.path.join(d, f))
            same &= g.tobytes() == want.tobytes()
            per[f.split(".")[0]] = max(fraction([u], [v], GRADIENT_RULE) for u, v in zip(g, want))
        for f, g in (("grads_step0.safetensors", r["grads0"]), ("final.safetensors", r["final"])):
            want, m = read_safetensors(os.path.join(d, f))
            if m != expected_meta or list(want) != list(init):
                problems.append("%s names/metadata" % f)
            per[f.split(".")[0]] = 0.0
            for n in want:
                same &= _np(g[n]).tobytes() == want[n].tobytes()
                per[f.split(".")[0]] = max(per[f.split(".")[0]], fraction(g[n], want[n], GRADIENT_RULE))
        fr = max(per.values())
        if clipped_steps(r, case["clip"]) != case["clipped_steps"]:
            problems.append("clipped steps %s" % clipped_steps(r, case["clip"]))
        ok = not problems and fr <= 1.0
        failed += not ok
        worst_all = max(worst_all, fr)
        print("%s %-42s %-17s worst fraction %.4g (%s)%s" % (
            "PASS" if ok else "FAIL", name, "bit-identical," if same else "not bit-identical,", fr,
            ", ".join("%s %.2g" % kv for kv in per.items()), "" if not problems else "  " + "; ".join(problems)))
    print("%s: %d/%d cases; worst fraction of the gradient rule %.4g" % (
        "PASS" if not failed else "FAIL", len(cases) - failed, len(cases), worst_all))
    return 1 if failed or not cases else 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    rest = []   # the subcommand detection skips the early options (already applied)
    i = 0
    while i < len(argv):
        if argv[i] in ("--openblas-coretype", "--aten-cpu-capability"):
            i += 2
            continue
        if not argv[i].startswith(("--openblas-coretype=", "--aten-cpu-capability=")):
            rest.append(argv[i])
        i += 1
    if rest[:1] in (["check"], ["compare"]):
        argv = rest
    if argv[:1] == ["check"]:
        ap = argparse.ArgumentParser(prog="make_training_golden.py check",
                                     description="Re-train every case in DIR from its stored files with "
                                                 "PyTorch and compare with the stored results.")
        ap.add_argument("dir")
        torch.set_num_threads(1)
        return cmd_check(ap.parse_args(argv[1:]))
    if argv[:1] == ["compare"]:
        ap = argparse.ArgumentParser(prog="make_training_golden.py compare",
                                     description="Compare the expected files of two generated directories "
                                                 "under the golden gradient rule (DIR_B = reference).")
        ap.add_argument("dir_a")
        ap.add_argument("dir_b")
        return cmd_compare(ap.parse_args(argv[1:]))
    ap = argparse.ArgumentParser(prog="make_training_golden.py", description=__doc__.split("\n\n")[0],
                                 epilog="'make_training_golden.py check DIR' re-trains the cases of DIR "
                                        "from their files; 'make_training_golden.py compare DIR_A DIR_B' "
                                        "compares two generated directories.")
    ap.add_argument("out", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                           "..", "testdata", SET),
                    help="output directory (default: testdata/golden-training next to this script)")
    ap.add_argument("--openblas-coretype", default="Haswell",
                    help="OpenBLAS kernel (default Haswell, which the committed data use; other values only "
                         "to measure how another float32 evaluation differs)")
    ap.add_argument("--aten-cpu-capability", default="avx2",
                    help="ATen kernels (default avx2, which the committed data use; default or avx512 only "
                         "to measure how another float32 evaluation differs)")
    ap.add_argument("-v", "--verbose", action="store_true", help="per-step losses and norms, every mistake")
    a = ap.parse_args(argv)
    if (a.openblas_coretype, a.aten_cpu_capability) != (os.environ["OPENBLAS_CORETYPE"],
                                                        os.environ["ATEN_CPU_CAPABILITY"]):
        ap.error("internal error: OpenBLAS/ATen were configured with %s/%s" % (
            os.environ["OPENBLAS_CORETYPE"], os.environ["ATEN_CPU_CAPABILITY"]))
    return cmd_generate(a)


if __name__ == "__main__":
    sys.exit(main())
