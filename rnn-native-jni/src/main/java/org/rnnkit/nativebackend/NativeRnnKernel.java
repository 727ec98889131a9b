package org.rnnkit.nativebackend;

import org.rnnkit.nn.CellType;

/**
 * Elman RNN: {@code h' = act(gx + W_hh h + b_hh)}, act = tanh or relu (PyTorch's {@code nn.RNN}); relu is
 * {@code max(x, 0)} with NaN kept. Tape slot per {@code (t, b)}: incoming h, new h ({@code H} each).
 *
 * <p>Thread safety: stateless.
 */
final class NativeRnnKernel extends NativeKernel {
    private final boolean relu;

    NativeRnnKernel(boolean relu, int threads) {
        super(threads);
        this.relu = relu;
    }

    @Override
    int typeCode() {
        return relu ? RNN_RELU : RNN_TANH;
    }

    @Override
    CellType cellType() {
        return relu ? CellType.RNN_RELU : CellType.RNN_TANH;
    }
}
