package org.rnnkit.nativebackend;

import org.rnnkit.nn.CellType;

/**
 * GRU, gates {@code r, z, n} (PyTorch's {@code nn.GRU}): {@code n = tanh(gx_n + r*(W_hn h + b_hn))},
 * {@code h' = (h - n)*z + n}, with {@code b_hn} inside {@code r*(...)}. Tape slot per {@code (t, b)}:
 * incoming h, r z n, {@code W_hn h + b_hn} ({@code H} each). Gate gradients per row
 * {@code dr, dz, dn*r, dn}: the first three are the hidden side, {@code dr, dz, dn} the input side.
 *
 * <p>Thread safety: stateless.
 */
final class NativeGruKernel extends NativeKernel {
    NativeGruKernel(int threads) {
        super(threads);
    }

    @Override
    int typeCode() {
        return GRU;
    }

    @Override
    CellType cellType() {
        return CellType.GRU;
    }
}
