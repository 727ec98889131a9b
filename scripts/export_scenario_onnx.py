"""Exports the benchmark scenarios S2, S4 and S8 from PyTorch as ONNX files, for rnn-bench's
OnnxFileBenchmark: rnnkit runs the layer it imports from each file, paired with the same layer built in
rnnkit and with ONNX Runtime running the same file.

    python scripts/export_scenario_onnx.py rnn-bench/src/main/resources/org/rnnkit/bench/onnx

PyTorch 2.13 (torch.onnx.export with dynamo=False, which keeps the LSTM/GRU nodes; opset 17), dynamic
sequence and batch axes, PyTorch's default initialisation from a fixed seed. Each model takes `input`
(seq, batch, features) and gives `output`, `h_n` (and `c_n`), as PyTorch's module does.
"""
import sys

import torch

SCENARIOS = {
    "S2": (torch.nn.LSTM, dict(input_size=256, hidden_size=256)),
    "S4": (torch.nn.GRU, dict(input_size=256, hidden_size=256)),
    "S8": (torch.nn.LSTM, dict(input_size=128, hidden_size=128, num_layers=2, bidirectional=True)),
}


class Wrapped(torch.nn.Module):
    """The module with named outputs: output, h_n (and c_n)."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        y, state = self.rnn(x)
        return (y, *state) if isinstance(state, tuple) else (y, state)


def main(out_dir):
    for i, (name, (cls, kwargs)) in enumerate(SCENARIOS.items()):
        torch.manual_seed(2024 + i)
        module = Wrapped(cls(**kwargs)).eval()
        x = torch.randn(5, 2, kwargs["input_size"])
        lstm = cls is torch.nn.LSTM
        outputs = ["output", "h_n", "c_n"] if lstm else ["output", "h_n"]
        axes = {"input": {0: "seq", 1: "batch"}, "output": {0: "seq", 1: "batch"}, "h_n": {1: "batch"}}
        if lstm:
            axes["c_n"] = {1: "batch"}
        torch.onnx.export(module, (x,), f"{out_dir}/{name}.onnx", dynamo=False, opset_version=17,
                          input_names=["input"], output_names=outputs, dynamic_axes=axes)
        print("wrote", f"{out_dir}/{name}.onnx")


if __name__ == "__main__":
    main(sys.argv[1])
