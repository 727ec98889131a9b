#!/usr/bin/python3
"""Move recurrent models between PyTorch and rnnkit.

rnnkit stores a recurrent layer or cell as a safetensors file: float32 tensors named exactly
as the PyTorch module's ``state_dict`` keys, in ``state_dict`` order, plus a ``__metadata__``
entry with the module's configuration (mode, input_size, hidden_size, num_layers,
bidirectional, batch_first, bias, proj_size, cell; all string values). See the golden-case
README (testdata/golden/README.md) for the full description of the format.

This file is both a command-line tool (run it with ``--help``) and a small library::

    from rnnkit_torch import save_module, load_module
    save_module(torch.nn.LSTM(16, 32, num_layers=2), "model.safetensors")
    lstm = load_module("model.safetensors")        # an nn.LSTM, weights loaded strictly

It needs only PyTorch and numpy (Debian: ``apt-get install python3-torch``); the
safetensors container is read and written here with ``struct``/``json``/numpy.
"""

import os

# Reproducible float32 results need one OpenBLAS thread; this must be set before numpy or
# torch load OpenBLAS. setdefault: an explicit setting by the caller wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections import OrderedDict  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

__all__ = [
    "read_safetensors", "write_safetensors", "save_module", "load_module",
    "module_metadata", "build_module", "forward", "compare_arrays", "SafetensorsError",
]

MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")
METADATA_KEYS = ("mode", "input_size", "hidden_size", "num_layers", "bidirectional",
                 "batch_first", "bias", "proj_size", "cell")
FORWARD_TOL = (1e-5, 1e-4)    # (atol, rtol) for output, h_n, c_n
GRADIENT_TOL = (2e-5, 2e-4)   # (atol, rtol) for grad_*

# ----------------------------------------------------------------------------------------
# safetensors container
# ----------------------------------------------------------------------------------------

_DTYPES = OrderedDict([
    ("F32", np.dtype("<f4")), ("F64", np.dtype("<f8")), ("F16", np.dtype("<f2")),
    ("I64", np.dtype("<i8")), ("I32", np.dtype("<i4")), ("I16", np.dtype("<i2")),
    ("I8", np.dtype("i1")), ("U8", np.dtype("u1")), ("BOOL", np.dtype("?")),
])
_DTYPE_NAMES = {dt: name for name, dt in _DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024


class SafetensorsError(ValueError):
    """A file is not a valid safetensors container, or not a valid rnnkit model."""


def _no_duplicates(pairs):
    d = OrderedDict()
    for k, v in pairs:
        if k in d:
            raise SafetensorsError("duplicate key in header: %r" % k)
        d[k] = v
    return d


def read_safetensors(path, strict=True):
    """Read a safetensors file. Returns ``(tensors, metadata)``.

    ``tensors`` is an OrderedDict name -> numpy array (writable, native little-endian
    dtype, in header order); ``metadata`` is the ``__metadata__`` dict (empty if absent).

    Always checked: header length, JSON syntax, no duplicate names, known dtypes, shapes,
    ``end - begin == itemsize * prod(shape)``, and that the tensors tile the data buffer
    exactly (no gap, no overlap, nothing after the last tensor). With ``strict`` (the rnnkit
    format) also: header length a multiple of 8, padding only spaces, and data in header order.
    """
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise SafetensorsError("%s: %d bytes, too short for a header length" % (path, len(blob)))
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8 or n > _MAX_HEADER:
        raise SafetensorsError("%s: header length %d exceeds file size %d" % (path, n, len(blob)))
    raw = blob[8:8 + n]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SafetensorsError("%s: header is not UTF-8: %s" % (path, e))
    if strict:
        if n % 8:
            raise SafetensorsError("%s: header length %d is not a multiple of 8" % (path, n))
        stripped = text.rstrip(" ")
        if not stripped.endswith("}"):
            raise SafetensorsError("%s: header must be a JSON object padded with spaces only" % path)
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise SafetensorsError("%s: header is not valid JSON: %s" % (path, e))
    if not isinstance(header, dict):
        raise SafetensorsError("%s: header is not a JSON object" % path)

    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise SafetensorsError("%s: __metadata__ must map strings to strings" % path)

    data = bytearray(blob[8 + n:])   # one writable buffer; arrays are views of it
    spans = []
    tensors = OrderedDict()
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorsError("%s: tensor %r: entry must have exactly dtype, shape, "
                                   "data_offsets" % (path, name))
        dt = _DTYPES.get(info["dtype"])
        if dt is None:
            raise SafetensorsError("%s: tensor %r: unsupported dtype %r" % (path, name, info["dtype"]))
        shape = info["shape"]
        offs = info["data_offsets"]
        if not (isinstance(shape, list) and all(isinstance(s, int) and not isinstance(s, bool)
                                                and s >= 0 for s in shape)):
            raise SafetensorsError("%s: tensor %r: bad shape %r" % (path, name, shape))
        if not (isinstance(offs, list) and len(offs) == 2 and all(
                isinstance(o, int) and not isinstance(o, bool) for o in offs)):
            raise SafetensorsError("%s: tensor %r: bad data_offsets %r" % (path, name, offs))
        begin, end = offs
        count = math.prod(shape)
        if not 0 <= begin <= end <= len(data):
            raise SafetensorsError("%s: tensor %r: data_offsets %r outside the %d-byte buffer"
                                   % (path, name, offs, len(data)))
        if end - begin != count * dt.itemsize:
            raise SafetensorsError("%s: tensor %r: %d bytes for shape %r of %s (expected %d)"
                                   % (path, name, end - begin, shape, info["dtype"],
                                      count * dt.itemsize))
        spans.append((begin, end, name))
        arr = np.frombuffer(data, dtype=dt, count=count, offset=begin).reshape(shape)
        tensors[name] = arr.astype(dt.newbyteorder("="), copy=False)

    pos = 0
    for begin, end, name in sorted(spans, key=lambda s: (s[0], s[1])):
        if begin != pos:
            raise SafetensorsError("%s: tensor %r starts at %d, expected %d (%s)"
                                   % (path, name, begin, pos, "gap" if begin > pos else "overlap"))
        pos = end
    if pos != len(data):
        raise SafetensorsError("%s: %d bytes after the last tensor" % (path, len(data) - pos))
    if strict:
        pos = 0
        for begin, end, name in spans:
            if begin != pos:
                raise SafetensorsError("%s: tensor %r is not stored in header order" % (path, name))
            pos = end
    return tensors, dict(metadata)


def _as_numpy(t):
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    return np.asarray(t)


def safetensors_bytes(tensors, metadata=None):
    """The bytes of a safetensors file (see ``write_safetensors``)."""
    header = OrderedDict()
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("metadata must map str to str, got %r: %r" % (k, v))
        header["__metadata__"] = OrderedDict(metadata)
    chunks = []
    pos = 0
    for name, t in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError("bad tensor name %r" % (name,))
        a = _as_numpy(t)
        name_dt = _DTYPE_NAMES.get(a.dtype.newbyteorder("<")) if a.dtype.byteorder != "|" \
            else _DTYPE_NAMES.get(a.dtype)
        if name_dt is None:
            raise TypeError("tensor %r: unsupported dtype %s" % (name, a.dtype))
        b = np.ascontiguousarray(a, dtype=_DTYPES[name_dt]).tobytes()
        header[name] = OrderedDict([("dtype", name_dt), ("shape", [int(s) for s in a.shape]),
                                    ("data_offsets", [pos, pos + len(b)])])
        chunks.append(b)
        pos += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)


def write_safetensors(path, tensors, metadata=None):
    """Write ``tensors`` (name -> numpy array or torch tensor, in the order given) and
    ``metadata`` (str -> str) as a safetensors file: compact JSON header, ``__metadata__``
    first, padded with spaces to a multiple of 8, tensors back to back in C order.
    Arrays keep their dtype (pass float32 for rnnkit). The file is replaced atomically."""
    blob = safetensors_bytes(tensors, metadata)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ----------------------------------------------------------------------------------------
# modules <-> metadata
# ----------------------------------------------------------------------------------------

_CELL_CLASSES = {"RNN_TANH": nn.RNNCell, "RNN_RELU": nn.RNNCell,
                 "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}


def _b(v):
    return "true" if v else "false"


def module_metadata(module, batch_first=None):
    """The rnnkit ``__metadata__`` dict (str -> str, in the format's key order) of an
    ``nn.RNN``/``nn.LSTM``/``nn.GRU`` or ``nn.RNNCell``/``nn.LSTMCell``/``nn.GRUCell``.
    ``batch_first`` overrides the layer's own attribute (cells are always ``false``)."""
    if isinstance(module, nn.RNNCellBase):
        if isinstance(module, nn.LSTMCell):
            mode = "LSTM"
        elif isinstance(module, nn.GRUCell):
            mode = "GRU"
        elif isinstance(module, nn.RNNCell):
            mode = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}.get(module.nonlinearity)
            if mode is None:
                raise ValueError("RNNCell nonlinearity %r" % module.nonlinearity)
        else:
            raise TypeError("unsupported cell class %s" % type(module).__name__)
        if batch_first:
            raise ValueError("cells have no batch_first")
        vals = (mode, module.input_size, module.hidden_size, 1, False, False, module.bias, 0, True)
    elif isinstance(module, nn.RNNBase):
        mode = module.mode
        if mode not in MODES:
            raise TypeError("unsupported RNN mode %r" % mode)
        if isinstance(module, nn.RNN) and module.nonlinearity not in ("tanh", "relu"):
            raise ValueError("RNN nonlinearity %r" % module.nonlinearity)
        bf = module.batch_first if batch_first is None else bool(batch_first)
        vals = (mode, module.input_size, module.hidden_size, module.num_layers,
                module.bidirectional, bf, module.bias, getattr(module, "proj_size", 0), False)
    else:
        raise TypeError("not a recurrent layer or cell: %s" % type(module).__name__)
    out = OrderedDict()
    for k, v in zip(METADATA_KEYS, vals):
        out[k] = _b(v) if isinstance(v, bool) else str(int(v)) if k != "mode" else v
    return out


def _parse_metadata(md, where="metadata"):
    missing = [k for k in METADATA_KEYS if k not in md]
    if missing:
        raise SafetensorsError("%s: missing __metadata__ keys %s" % (where, ", ".join(missing)))
    cfg = {}
    if md["mode"] not in MODES:
        raise SafetensorsError("%s: mode %r, expected one of %s" % (where, md["mode"], ", ".join(MODES)))
    cfg["mode"] = md["mode"]
    for k in ("input_size", "hidden_size", "num_layers", "proj_size"):
        v = md[k]
        if not (v.isascii() and v.isdigit()):
            raise SafetensorsError("%s: %s=%r is not a decimal integer" % (where, k, v))
        cfg[k] = int(v)
    for k in ("bidirectional", "batch_first", "bias", "cell"):
        if md[k] not in ("true", "false"):
            raise SafetensorsError("%s: %s=%r, expected 'true' or 'false'" % (where, k, md[k]))
        cfg[k] = md[k] == "true"
    if cfg["input_size"] < 1 or cfg["hidden_size"] < 1 or cfg["num_layers"] < 1:
        raise SafetensorsError("%s: sizes must be >= 1: %r" % (where, cfg))
    if cfg["cell"] and (cfg["num_layers"] != 1 or cfg["bidirectional"] or cfg["batch_first"]
                        or cfg["proj_size"]):
        raise SafetensorsError("%s: a cell needs num_layers=1, bidirectional=false, "
                               "batch_first=false, proj_size=0: %r" % (where, cfg))
    if cfg["proj_size"] and (cfg["mode"] != "LSTM" or cfg["proj_size"] >= cfg["hidden_size"]):
        raise SafetensorsError("%s: proj_size=%d needs an LSTM layer and proj_size < hidden_size"
                               % (where, cfg["proj_size"]))
    return cfg


def build_module(mode, input_size, hidden_size, num_layers=1, bidirectional=False,
                 batch_first=False, bias=True, proj_size=0, cell=False):
    """A freshly initialised torch module for an rnnkit configuration (uses torch's RNG)."""
    mode = mode.upper()
    if mode not in MODES:
        raise ValueError("mode %r, expected one of %s" % (mode, ", ".join(MODES)))
    if cell:
        if num_layers != 1 or bidirectional or batch_first or proj_size:
            raise ValueError("a cell has no num_layers, bidirectional, batch_first or proj_size")
        if mode.startswith("RNN_"):
            return nn.RNNCell(input_size, hidden_size, bias=bias, nonlinearity=mode[4:].lower())
        return _CELL_CLASSES[mode](input_size, hidden_size, bias=bias)
    kw = dict(num_layers=num_layers, bias=bias, batch_first=batch_first,
              bidirectional=bidirectional)
    if mode == "LSTM":
        return nn.LSTM(input_size, hidden_size, proj_size=proj_size, **kw)
    if proj_size:
        raise ValueError("proj_size is for LSTM layers only")
    if mode == "GRU":
        return nn.GRU(input_size, hidden_size, **kw)
    return nn.RNN(input_size, hidden_size, nonlinearity=mode[4:].lower(), **kw)


def save_module(module, path, batch_first=None):
    """Write an ``nn.RNN``/``LSTM``/``GRU``/``*Cell``'s ``state_dict`` and its metadata as an
    rnnkit safetensors file. Parameters are written as float32 (rnnkit's only dtype).
    ``batch_first`` overrides the layer's attribute in the metadata. Returns the metadata."""
    md = module_metadata(module, batch_first)
    sd = module.state_dict()
    expected = _expected_names(_parse_metadata(md))
    if list(sd.keys()) != expected:
        raise ValueError("state_dict keys %s differ from the rnnkit layout %s"
                         % (list(sd.keys()), expected))
    if getattr(module, "dropout", 0):
        print("warning: dropout=%g is not stored in the rnnkit format" % module.dropout,
              file=sys.stderr)
    tensors = OrderedDict((k, v.detach().cpu().to(torch.float32).numpy()) for k, v in sd.items())
    write_safetensors(path, tensors, md)
    return md


def _expected_names(cfg):
    """state_dict keys, in order, for a configuration (the table of the golden README)."""
    suffixes = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if cfg["bias"] else [])
    if cfg["cell"]:
        return suffixes
    if cfg["proj_size"]:
        suffixes = suffixes + ["weight_hr"]
    names = []
    for k in range(cfg["num_layers"]):
        for d in (["", "_reverse"] if cfg["bidirectional"] else [""]):
            names += ["%s_l%d%s" % (s, k, d) for s in suffixes]
    return names


def load_module(path, strict=True, return_metadata=False):
    """Build the torch module described by an rnnkit safetensors file and load its tensors
    with ``load_state_dict(strict=True)``. Checks that every tensor is F32 and (with
    ``strict``) that the file is in the exact rnnkit layout: header padded to 8 bytes,
    tensors in ``state_dict`` order. Returns the module (and the metadata dict with
    ``return_metadata``). The module is on the CPU, float32, in training mode (as built)."""
    tensors, md = read_safetensors(path, strict=strict)
    cfg = _parse_metadata(md, path)
    module = build_module(**cfg)
    want = list(module.state_dict().keys())
    bad = [n for n, a in tensors.items() if a.dtype != np.float32]
    if bad:
        raise SafetensorsError("%s: tensors not F32: %s" % (path, ", ".join(bad)))
    if strict and list(tensors.keys()) != want and set(tensors) == set(want):
        raise SafetensorsError("%s: tensors not in state_dict order; expected %s" % (path, want))
    try:
        module.load_state_dict(OrderedDict((k, torch.from_numpy(v)) for k, v in tensors.items()),
                               strict=True)
    except RuntimeError as e:
        raise SafetensorsError("%s: %s" % (path, e))
    return (module, md) if return_metadata else module


# ----------------------------------------------------------------------------------------
# running and comparing
# ----------------------------------------------------------------------------------------

def _t(a):
    return None if a is None else torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def forward(module, x, h0=None, c0=None, lengths=None):
    """Run a layer or cell the way rnnkit's ``run`` does. ``x``, ``h0``, ``c0`` are torch
    tensors (or None); ``lengths`` a 1-D int64 array/tensor for a padded batch (layers only),
    run through ``pack_padded_sequence(..., enforce_sorted=False)`` and padded back to the
    input's time length. Returns an OrderedDict name -> tensor: ``output``, ``h_n`` (and
    ``c_n``) for layers; ``h_n`` (and ``c_n``) = the new state for cells."""
    is_lstm = isinstance(module, (nn.LSTM, nn.LSTMCell))
    if is_lstm and (h0 is None) != (c0 is None):
        raise ValueError("an LSTM needs both h0 and c0, or neither")
    if not is_lstm and c0 is not None:
        raise ValueError("c0 is for LSTM only")
    hx = None if h0 is None else ((h0, c0) if is_lstm else h0)
    res = OrderedDict()
    if isinstance(module, nn.RNNCellBase):
        if lengths is not None:
            raise ValueError("lengths are for layers only")
        out = module(x, hx)
        if is_lstm:
            res["h_n"], res["c_n"] = out
        else:
            res["h_n"] = out
        return res
    if lengths is not None:
        lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.int64)
        if x.dim() != 3:
            raise ValueError("lengths need a batched (3-D) input")
        t_axis = 1 if module.batch_first else 0
        total = x.shape[t_axis]
        if lengths.dim() != 1 or lengths.shape[0] != x.shape[1 - t_axis]:
            raise ValueError("lengths must have shape (batch,)")
        if int(lengths.min()) < 1 or int(lengths.max()) > total:
            raise ValueError("lengths must be in 1..%d" % total)
        packed = pack_padded_sequence(x, lengths, batch_first=module.batch_first,
                                      enforce_sorted=False)
        out, state = module(packed, hx)
        out, _ = pad_packed_sequence(out, batch_first=module.batch_first, total_length=total)
    else:
        out, state = module(x, hx)
    res["output"] = out
    if is_lstm:
        res["h_n"], res["c_n"] = state
    else:
        res["h_n"] = state
    return res


def compare_arrays(got, expected, atol, rtol):
    """Worst fraction of the allowed difference, over all elements, under the golden rule
    ``|got-expected| <= atol*max(1, max|expected|) + rtol*|expected|`` (pass iff <= 1).
    Returns ``(fraction, message)``; fraction is inf on a shape mismatch or NaN."""
    got = np.asarray(got, dtype=np.float64)
    exp = np.asarray(expected, dtype=np.float64)
    if got.shape != exp.shape:
        return math.inf, "shape %s vs expected %s" % (got.shape, exp.shape)
    if got.size == 0:
        return 0.0, "empty"
    if not (np.isfinite(got).all() and np.isfinite(exp).all()):
        same = np.array_equal(got, exp, equal_nan=True)
        if not same:
            return math.inf, "non-finite values differ"
        return 0.0, "non-finite values identical"
    diff = np.abs(got - exp)
    allowed = atol * max(1.0, float(np.abs(exp).max())) + rtol * np.abs(exp)
    frac = diff / allowed
    i = int(np.argmax(frac))
    idx = np.unravel_index(i, frac.shape)
    return float(frac.flat[i]), "max|diff| %.3g, worst at %s: got %.9g expected %.9g" % (
        float(diff.max()), tuple(int(j) for j in idx), got.flat[i], exp.flat[i])


def _tol_for(name, atol=None, rtol=None):
    base = GRADIENT_TOL if os.path.basename(name).startswith("grad_") else FORWARD_TOL
    return (base[0] if atol is None else atol, base[1] if rtol is None else rtol)


def _save_npy(path, t):
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    np.save(path, np.ascontiguousarray(a, dtype="<f4"))


def _load_npy(path):
    return np.load(path, allow_pickle=False)


def _load_f32(path):
    if path is None:
        return None
    a = _load_npy(path)
    if a.dtype != np.float32:
        if not np.issubdtype(a.dtype, np.floating):
            raise SystemExit("%s: dtype %s, expected float32" % (path, a.dtype))
        print("note: %s is %s, converted to float32" % (path, a.dtype), file=sys.stderr)
    return _t(a)


# ----------------------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------------------

def _mode_arg(s):
    m = s.upper().replace("-", "_")
    if m not in MODES:
        raise argparse.ArgumentTypeError("mode %r, expected one of rnn_tanh, rnn_relu, lstm, gru" % s)
    return m


def cmd_export(a):
    torch.manual_seed(a.seed)
    try:
        m = build_module(a.mode, a.input_size, a.hidden_size, a.num_layers, a.bidirectional,
                         a.batch_first, not a.no_bias, a.proj_size, a.cell)
    except ValueError as e:
        raise SystemExit("export: %s" % e)
    md = save_module(m, a.out)
    print("wrote %s: %s(%s), %d tensors, %d parameters" % (
        a.out, type(m).__name__, ", ".join("%s=%s" % kv for kv in md.items() if kv[0] != "mode"),
        len(m.state_dict()), sum(p.numel() for p in m.parameters())))
    return 0


def cmd_info(a):
    tensors, md = read_safetensors(a.model, strict=False)
    print("metadata:")
    for k, v in md.items():
        print("  %s = %s" % (k, v))
    print("tensors:")
    for k, v in tensors.items():
        print("  %-24s %-4s %s" % (k, _DTYPE_NAMES.get(v.dtype.newbyteorder("<"), v.dtype),
                                    list(v.shape)))
    try:
        read_safetensors(a.model, strict=True)
        m = load_module(a.model)
        print("valid rnnkit model: %s" % m)
        if safetensors_bytes(OrderedDict((k, v.numpy()) for k, v in m.state_dict().items()),
                             module_metadata(m)) == open(a.model, "rb").read():
            print("canonical: re-saving from PyTorch gives the identical bytes")
        else:
            print("not canonical: re-saving from PyTorch gives different bytes (same values)")
    except SafetensorsError as e:
        print("NOT a valid rnnkit model: %s" % e)
        return 1
    return 0


def cmd_gen_input(a):
    _, md = read_safetensors(a.model, strict=False)
    cfg = _parse_metadata(md, a.model)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    B, I, H = a.batch, cfg["input_size"], cfg["hidden_size"]
    Hout = cfg["proj_size"] or H
    if cfg["cell"]:
        xs, hs, cs = ((I,), (H,), (H,)) if a.unbatched else ((B, I), (B, H), (B, H))
    else:
        if a.seq_len is None:
            raise SystemExit("gen-input: --seq-len is required for layers")
        L, S = a.seq_len, cfg["num_layers"] * (2 if cfg["bidirectional"] else 1)
        if a.unbatched:
            xs, hs, cs = (L, I), (S, Hout), (S, H)
        else:
            xs = (B, L, I) if cfg["batch_first"] else (L, B, I)
            hs, cs = (S, B, Hout), (S, B, H)
    files = {"input.npy": rng.standard_normal(xs, dtype=np.float32)}
    if not a.no_state:
        files["h0.npy"] = rng.uniform(-1, 1, hs).astype(np.float32)
        if cfg["mode"] == "LSTM":
            files["c0.npy"] = rng.standard_normal(cs, dtype=np.float32)
    for n, v in files.items():
        np.save(os.path.join(a.out, n), v)
    if a.lengths:
        if cfg["cell"] or a.unbatched:
            raise SystemExit("gen-input: --lengths needs a batched layer")
        ln = np.array([int(s) for s in a.lengths.split(",")], dtype="<i8")
        if ln.shape != (B,) or ln.min() < 1 or ln.max() > a.seq_len:
            raise SystemExit("gen-input: --lengths needs %d values in 1..%d" % (B, a.seq_len))
        np.save(os.path.join(a.out, "lengths.npy"), ln)
        files["lengths.npy"] = ln
    print("wrote %s: %s" % (a.out, ", ".join("%s %s" % (n, list(v.shape)) for n, v in files.items())))
    return 0


def cmd_run(a):
    try:
        module = load_module(a.model, strict=not a.lenient)
    except SafetensorsError as e:
        raise SystemExit("run: %s" % e)
    x = _load_f32(a.input)
    h0, c0 = _load_f32(a.h0), _load_f32(a.c0)
    lengths = None
    if a.lengths:
        lengths = _load_npy(a.lengths)
        if not np.issubdtype(lengths.dtype, np.integer):
            raise SystemExit("run: %s must hold integers" % a.lengths)
    try:
        with torch.no_grad():
            res = forward(module, x, h0, c0, lengths)
    except (ValueError, RuntimeError) as e:
        raise SystemExit("run: %s" % e)
    os.makedirs(a.out, exist_ok=True)
    for n, t in res.items():
        _save_npy(os.path.join(a.out, n + ".npy"), t)
    print("wrote %s: %s" % (a.out, ", ".join("%s.npy %s" % (n, list(t.shape)) for n, t in res.items())))
    return 0


def cmd_compare(a):
    def npys(d):
        return sorted(f for f in os.listdir(d) if f.endswith(".npy"))
    if a.files:
        names = [f if f.endswith(".npy") else f + ".npy" for f in a.files.split(",")]
    else:
        names = sorted(set(npys(a.dir_a)) | set(npys(a.dir_b)))
    if not names:
        print("FAIL: no .npy files in %s or %s" % (a.dir_a, a.dir_b))
        return 1
    ok = True
    worst = 0.0
    for n in names:
        pa, pb = os.path.join(a.dir_a, n), os.path.join(a.dir_b, n)
        if not (os.path.exists(pa) and os.path.exists(pb)):
            print("FAIL %-22s only in %s" % (n, a.dir_a if os.path.exists(pa) else a.dir_b))
            ok = False
            continue
        atol, rtol = _tol_for(n, a.atol, a.rtol)
        frac, msg = compare_arrays(_load_npy(pa), _load_npy(pb), atol, rtol)
        good = frac <= 1.0
        ok &= good
        worst = max(worst, frac)
        print("%s %-22s worst fraction %.4g (atol %g, rtol %g; %s)"
              % ("ok  " if good else "FAIL", n, frac, atol, rtol, msg))
    print("%s: %d file(s), worst fraction %.4g" % ("PASS" if ok else "FAIL", len(names), worst))
    return 0 if ok else 1


def _case_dirs(root):
    if os.path.exists(os.path.join(root, "model.safetensors")):
        return [root]
    return [os.path.join(root, d) for d in sorted(os.listdir(root))
            if os.path.exists(os.path.join(root, d, "model.safetensors"))]


def check_case(case, grads=True):
    """Load one golden case's model with ``load_module``, run it on the case's inputs and
    compare with the stored results (and, with ``grads``, the stored gradients of the case's
    loss). Also checks that re-saving the loaded module reproduces model.safetensors byte for
    byte. Returns a list of ``(file, fraction, message)``; fraction <= 1 passes."""
    p = lambda n: os.path.join(case, n)  # noqa: E731
    have = lambda n: os.path.exists(p(n))  # noqa: E731
    res = []
    module = load_module(p("model.safetensors"))
    blob = open(p("model.safetensors"), "rb").read()
    resaved = safetensors_bytes(
        OrderedDict((k, v.detach().numpy()) for k, v in module.state_dict().items()),
        module_metadata(module))
    res.append(("model.safetensors(resave)", 0.0 if resaved == blob else math.inf,
                "byte-identical" if resaved == blob else "re-saved bytes differ"))

    x = _t(_load_npy(p("input.npy"))).requires_grad_(grads)
    h0 = _t(_load_npy(p("h0.npy"))).requires_grad_(grads) if have("h0.npy") else None
    c0 = _t(_load_npy(p("c0.npy"))).requires_grad_(grads) if have("c0.npy") else None
    lengths = _load_npy(p("lengths.npy")) if have("lengths.npy") else None
    with torch.set_grad_enabled(grads):
        out = forward(module, x, h0, c0, lengths)
    for n, t in out.items():
        frac, msg = compare_arrays(t.detach().numpy(), _load_npy(p(n + ".npy")), *FORWARD_TOL)
        res.append((n + ".npy", frac, msg))
    if not grads:
        return res
    loss = 0
    weights = {"output": "gout.npy", "h_n": "ghn.npy", "c_n": "gcn.npy"}
    for n, t in out.items():
        loss = loss + (t * _t(_load_npy(p(weights[n])))).sum()
    loss.backward()
    got = OrderedDict([("grad_input.npy", x.grad)])
    if h0 is not None:
        got["grad_h0.npy"] = h0.grad
    if c0 is not None:
        got["grad_c0.npy"] = c0.grad
    for n, prm in module.named_parameters():
        got["grad_%s.npy" % n] = prm.grad
    stored = {f for f in os.listdir(case) if f.startswith("grad_") and f.endswith(".npy")}
    for n in sorted(stored - set(got)):
        res.append((n, math.inf, "stored gradient with no counterpart"))
    for n, g in got.items():
        if n not in stored:
            res.append((n, math.inf, "gradient missing from the case"))
            continue
        frac, msg = compare_arrays(g.numpy(), _load_npy(p(n)), *GRADIENT_TOL)
        res.append((n, frac, msg))
    return res


def cmd_check_golden(a):
    cases = _case_dirs(a.dir)
    if not cases:
        print("FAIL: no case directories (with model.safetensors) in %s" % a.dir)
        return 1
    npass = 0
    worst_fwd = worst_grad = 0.0
    for case in cases:
        try:
            res = check_case(case, grads=not a.no_grads)
        except Exception as e:  # report and go on with the next case
            res = [("(error)", math.inf, "%s: %s" % (type(e).__name__, e))]
        ok = all(f <= 1.0 for _, f, _ in res)
        npass += ok
        fwd = max([f for n, f, _ in res if not n.startswith(("grad_", "model."))] or [0.0])
        grd = max([f for n, f, _ in res if n.startswith("grad_")] or [0.0])
        worst_fwd, worst_grad = max(worst_fwd, fwd), max(worst_grad, grd)
        extra = " varlen" if os.path.exists(os.path.join(case, "lengths.npy")) else ""
        print("%s %s  forward %.3g%s%s" % (
            "PASS" if ok else "FAIL", os.path.basename(case), fwd,
            "" if a.no_grads else "  gradients %.3g" % grd, extra))
        for n, f, msg in res:
            if f > 1.0 or a.verbose:
                print("     %s %-28s %.4g  %s" % ("ok  " if f <= 1 else "FAIL", n, f, msg))
    print("%s: %d/%d cases passed in %s; worst fraction forward %.4g%s" % (
        "PASS" if npass == len(cases) else "FAIL", npass, len(cases), a.dir, worst_fwd,
        "" if a.no_grads else ", gradients %.4g" % worst_grad))
    return 0 if npass == len(cases) else 1


SELFTEST_CONFIGS = [
    # (mode, I, H, layers, bi, bf, bias, proj, cell)
    ("RNN_TANH", 5, 7, 1, False, False, True, 0, False),
    ("RNN_RELU", 3, 4, 3, True, True, False, 0, False),
    ("LSTM", 16, 32, 1, False, False, True, 0, False),
    ("LSTM", 8, 8, 2, True, True, True, 6, False),
    ("LSTM", 4, 9, 3, False, False, False, 2, False),
    ("GRU", 6, 5, 2, True, False, True, 0, False),
    ("GRU", 1, 1, 1, False, True, False, 0, False),
    ("RNN_TANH", 4, 6, 1, False, False, True, 0, True),
    ("RNN_RELU", 4, 6, 1, False, False, False, 0, True),
    ("LSTM", 7, 3, 1, False, False, True, 0, True),
    ("GRU", 2, 9, 1, False, False, True, 0, True),
]


def cmd_selftest(a):
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("  FAIL %s" % what)
    tmp = tempfile.mkdtemp(prefix="rnnkit_torch_selftest_")
    for i, c in enumerate(SELFTEST_CONFIGS):
        cfg = dict(zip(("mode", "input_size", "hidden_size", "num_layers", "bidirectional",
                        "batch_first", "bias", "proj_size", "cell"), c))
        torch.manual_seed(1000 + i)
        m = build_module(**cfg)
        f1, f2 = os.path.join(tmp, "a%d.safetensors" % i), os.path.join(tmp, "b%d.safetensors" % i)
        md = save_module(m, f1)
        label = "%s(%s)" % (type(m).__name__, ",".join("%s=%s" % kv for kv in md.items()))
        print("%s" % label)
        check(md == OrderedDict((k, _b(v) if isinstance(v, bool) else str(v))
                                for k, v in cfg.items()), "metadata of %s" % label)
        m2, md2 = load_module(f1, return_metadata=True)
        check(type(m2) is type(m) and md2 == md, "module class/metadata after load")
        sd, sd2 = m.state_dict(), m2.state_dict()
        check(list(sd) == list(sd2) and all(torch.equal(sd[k], sd2[k]) for k in sd),
              "state_dict values after load")
        save_module(m2, f2)
        b1, b2 = open(f1, "rb").read(), open(f2, "rb").read()
        check(b1 == b2, "export -> load -> re-save byte-identical")
        (n,) = struct.unpack("<Q", b1[:8])
        check(n % 8 == 0 and b1[8:8 + n].rstrip(b" ").endswith(b"}"), "header padded to 8 with spaces")
        t, meta = read_safetensors(f1)
        check(list(t) == list(sd) and meta == md, "read_safetensors names/order/metadata")
        check(safetensors_bytes(t, meta) == b1, "write_safetensors(read_safetensors(f)) == f")
        # same forward, bit for bit
        g = torch.Generator().manual_seed(i)
        B = 3
        if cfg["cell"]:
            x = torch.randn(B, cfg["input_size"], generator=g)
        else:
            shp = (B, 5, cfg["input_size"]) if cfg["batch_first"] else (5, B, cfg["input_size"])
            x = torch.randn(*shp, generator=g)
        with torch.no_grad():
            r1, r2 = forward(m, x), forward(m2, x)
        check(all(torch.equal(r1[k], r2[k]) for k in r1), "forward identical after load")
    # the reader rejects broken files
    torch.manual_seed(0)
    base = os.path.join(tmp, "base.safetensors")
    save_module(nn.GRU(3, 4, num_layers=2), base)
    good = open(base, "rb").read()
    (n,) = struct.unpack("<Q", good[:8])
    hdr = json.loads(good[8:8 + n])

    def mutated(name, header=None, data=None, raw=None):
        p = os.path.join(tmp, name + ".safetensors")
        if raw is None:
            h = json.dumps(header if header is not None else hdr, separators=(",", ":")).encode()
            h += b" " * (-len(h) % 8)
            raw = struct.pack("<Q", len(h)) + h + (good[8 + n:] if data is None else data)
        with open(p, "wb") as f:
            f.write(raw)
        return p

    def rejects(p, what):
        try:
            load_module(p)
        except SafetensorsError as e:
            print("  rejected %-32s %s" % (what + ":", " ".join(str(e).split(": ", 1)[-1].split())[:90]))
            return
        check(False, "loader accepted %s" % what)

    rejects(mutated("trunc", raw=good[:-4]), "truncated data")
    rejects(mutated("extra", data=good[8 + n:] + b"\0\0\0\0"), "trailing bytes")
    rejects(mutated("hdrlen", raw=struct.pack("<Q", 10 ** 9) + good[8:]), "header length too big")
    h = json.loads(json.dumps(hdr))
    h["bias_hh_l1"]["dtype"] = "F64"
    rejects(mutated("dtype", header=h), "wrong dtype size")
    h = json.loads(json.dumps(hdr))
    h["__metadata__"]["hidden_size"] = "5"
    rejects(mutated("hidden", header=h), "metadata/shape mismatch")
    h = json.loads(json.dumps(hdr))
    h["__metadata__"]["mode"] = "LSTM"
    rejects(mutated("mode", header=h), "wrong mode")
    h = json.loads(json.dumps(hdr))
    del h["__metadata__"]["batch_first"]
    rejects(mutated("nobf", header=h), "missing metadata key")
    h = json.loads(json.dumps(hdr))
    del h["bias_hh_l1"]
    rejects(mutated("missing", header=h, data=good[8 + n:-48]), "missing tensor")  # (12,) F32
    h = OrderedDict(json.loads(json.dumps(hdr), object_pairs_hook=OrderedDict))
    items = list(h.items())
    items[1], items[2] = items[2], items[1]          # swap header entries, keep offsets
    rejects(mutated("order", header=OrderedDict(items)), "header order != data order")
    print("selftest: %d module configurations, %s" % (
        len(SELFTEST_CONFIGS), "PASS" if not failures else "FAIL (%d)" % len(failures)))
    if not a.keep:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    else:
        print("files kept in %s" % tmp)
    return 0 if not failures else 1


def main(argv=None):
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(
        prog="rnnkit_torch.py",
        description="Move recurrent models between PyTorch and rnnkit (safetensors + metadata), "
                    "run them in PyTorch, compare results.")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    p = sub.add_parser("export", help="write a freshly initialised PyTorch module for rnnkit",
                       description="Build a freshly initialised torch module (seeded) and write "
                                   "it as an rnnkit safetensors file.")
    p.add_argument("--mode", type=_mode_arg, required=True,
                   help="rnn_tanh, rnn_relu, lstm or gru")
    p.add_argument("--input-size", type=int, required=True)
    p.add_argument("--hidden-size", type=int, required=True)
    p.add_argument("--num-layers", type=int, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--batch-first", action="store_true")
    p.add_argument("--no-bias", action="store_true")
    p.add_argument("--proj-size", type=int, default=0, help="LSTM layers only (default 0 = none)")
    p.add_argument("--cell", action="store_true",
                   help="an RNNCell/LSTMCell/GRUCell instead of a layer")
    p.add_argument("--seed", type=int, default=0, help="torch.manual_seed before building (default 0)")
    p.add_argument("--out", required=True, help="output .safetensors file")
    p.set_defaults(fn=cmd_export)

    p = sub.add_parser("info", help="print a model file's metadata and tensors and validate it",
                       description="Print metadata and tensors of a safetensors file and check "
                                   "that it is a valid rnnkit model (exit 1 if not).")
    p.add_argument("model")
    p.set_defaults(fn=cmd_info)

    p = sub.add_parser("gen-input", help="write random input.npy/h0.npy/c0.npy for a model",
                       description="Write random input.npy (standard normal), h0.npy "
                                   "(uniform(-1,1)) and c0.npy (standard normal, LSTM) with the "
                                   "shapes the model expects.")
    p.add_argument("--model", required=True)
    p.add_argument("--seq-len", type=int, help="time steps (layers)")
    p.add_argument("--batch", type=int, default=3)
    p.add_argument("--unbatched", action="store_true", help="no batch axis")
    p.add_argument("--no-state", action="store_true", help="write no h0/c0 (zero initial state)")
    p.add_argument("--lengths", help="comma-separated per-row lengths; writes lengths.npy (int64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output directory")
    p.set_defaults(fn=cmd_gen_input)

    p = sub.add_parser("run", help="run a model file in PyTorch (same contract as `rnnkit run`)",
                       description="Load the model into PyTorch, run the forward and write "
                                   "output.npy, h_n.npy (c_n.npy) as float32 C order; for cells "
                                   "h_n.npy (c_n.npy) = the new state.")
    p.add_argument("--model", required=True)
    p.add_argument("--input", required=True, help="input .npy (float32)")
    p.add_argument("--h0", help="initial hidden state .npy (default zeros)")
    p.add_argument("--c0", help="initial cell state .npy (LSTM, with --h0)")
    p.add_argument("--lengths", help="per-row lengths .npy (int64, shape (batch,)): padded batch, "
                                     "run with pack_padded_sequence")
    p.add_argument("--lenient", action="store_true",
                   help="accept any tensor order and header padding (values are still checked)")
    p.add_argument("--out", required=True, help="output directory")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("compare", help="compare same-named .npy files of two directories",
                       description="Compare same-named .npy files (B is the reference) with "
                                   "|a-b| <= atol*max(1,max|b|) + rtol*|b|; print the worst "
                                   "fraction of the allowed difference per file; exit 1 on "
                                   "failure or on a file present on one side only.")
    p.add_argument("dir_a")
    p.add_argument("dir_b")
    p.add_argument("--atol", type=float, help="default 1e-5 (2e-5 for grad_*)")
    p.add_argument("--rtol", type=float, help="default 1e-4 (2e-4 for grad_*)")
    p.add_argument("--files", help="comma-separated names to compare (default: all .npy files)")
    p.set_defaults(fn=cmd_compare)

    p = sub.add_parser("check-golden", help="check PyTorch + the loader against golden cases",
                       description="For each case directory in DIR (or DIR itself): load "
                                   "model.safetensors with load_module, run the forward "
                                   "(pack_padded_sequence for cases with lengths.npy), compare with "
                                   "the stored output/h_n/c_n and gradients, and check that "
                                   "re-saving gives the identical bytes.")
    p.add_argument("dir")
    p.add_argument("--no-grads", action="store_true", help="forward only")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per file")
    p.set_defaults(fn=cmd_check_golden)

    p = sub.add_parser("selftest", help="round trips: export -> load -> byte-identical re-save",
                       description="For a set of configurations: export, load_module, re-save "
                                   "(byte-identical), same state_dict and forward; and the loader "
                                   "rejects malformed files.")
    p.add_argument("--keep", action="store_true", help="keep the temporary files")
    p.set_defaults(fn=cmd_selftest)

    a = ap.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
