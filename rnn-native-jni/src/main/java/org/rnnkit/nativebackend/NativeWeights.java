package org.rnnkit.nativebackend;

import java.lang.ref.Cleaner;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;

/**
 * One layer direction's weights packed in native memory by {@code rk_prepare}: panels of 64 outputs for
 * the fused kernels' products ({@code W_ih}, {@code W_hh}, {@code W_hh^T}, and {@code W_hr}, {@code W_hr^T}
 * with a projection), the biases folded as the forward pass adds them, and a plain copy of {@code W_ih}
 * for the input gradient. Freed by a {@link Cleaner} once unreachable; kernels keep the object reachable
 * for the whole of a native call.
 *
 * <p>Thread safety: immutable after construction, except that {@link org.rnnkit.spi.RecurrentKernel#update}
 * re-packs the native memory in place for the weights' sole owner, between its own kernel calls; otherwise
 * that memory is only read by kernel calls.
 */
final class NativeWeights implements PreparedWeights {
    private static final Cleaner CLEANER = Cleaner.create();

    private final KernelShape shape;
    final long handle;

    NativeWeights(KernelShape shape, long handle) {
        this.shape = shape;
        this.handle = handle;
        CLEANER.register(this, new Free(handle));
    }

    @Override
    public KernelShape shape() {
        return shape;
    }

    /** Frees the native block; holds the handle only, never the weights object. */
    private record Free(long handle) implements Runnable {
        @Override
        public void run() {
            NativeMethods.release(handle);
        }
    }
}
