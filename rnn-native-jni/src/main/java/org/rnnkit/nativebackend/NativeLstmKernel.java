package org.rnnkit.nativebackend;

import org.rnnkit.nn.CellType;

/**
 * LSTM, gates {@code i, f, g, o} (PyTorch's {@code nn.LSTM}): {@code c' = f*c + i*g} (the reference's
 * rounding, no FMA), {@code h' = o*tanh(c')}, and with {@code proj_size > 0}, {@code h' = W_hr h'}.
 * Tape slot per {@code (t, b)}: incoming h ({@code hOut}), i f g o ({@code 4H}), incoming c,
 * {@code tanh(c')}, and with projection the unprojected {@code o*tanh(c')} ({@code H} each).
 *
 * <p>Thread safety: stateless.
 */
final class NativeLstmKernel extends NativeKernel {
    NativeLstmKernel(int threads) {
        super(threads);
    }

    @Override
    int typeCode() {
        return LSTM;
    }

    @Override
    CellType cellType() {
        return CellType.LSTM;
    }
}
