package org.rnnkit.nn;

import java.util.Objects;
import org.rnnkit.tensor.Tensor;

/**
 * The many-to-one readout of a layer: the top layer's final hidden state of each direction, concatenated
 * (or combined by the layer's {@link MergeMode}) like the output rows, as PyTorch users write
 * {@code h_n[-1]} or {@code torch.cat((h_n[-2], h_n[-1]), dim=1)}; and its backward.
 *
 * <p>Thread safety: stateless.
 */
public final class LastHidden {
    private LastHidden() {}

    /**
     * The readout of {@code hN} ({@code (S, B, H_out)}, or {@code (S, H_out)} unbatched, as
     * {@link LayerOutput#hN()} holds it): {@code (B, outputSize)}, or {@code (outputSize)} unbatched.
     *
     * @throws IllegalArgumentException if {@code hN} does not have the layer's state shape
     */
    public static Tensor of(RecurrentConfig config, Tensor hN) {
        int batch = batch(config, hN);
        Tensor f = hN.rank() == 2 ? Tensor.zeros(config.outputSize()) : Tensor.zeros(batch, config.outputSize());
        DirectionLayout.lastHidden(config, hN.data(), batch, f.data());
        return f;
    }

    /**
     * The gradient with respect to {@code hN} of a loss whose gradient with respect to {@link #of} is
     * {@code gradient}: zero except in the top layer's rows.
     */
    public static Tensor gradient(RecurrentConfig config, Tensor hN, Tensor gradient) {
        int batch = batch(config, hN);
        Checks.requireNonNull("gradient", gradient);
        if (hN.rank() == 2) {
            Checks.requireShape("gradient", gradient, config.outputSize());
        } else {
            Checks.requireShape("gradient", gradient, batch, config.outputSize());
        }
        Tensor g = Tensor.zeros(hN.shape());
        DirectionLayout.lastHiddenGradient(config, hN.data(), batch, gradient.data(), g.data());
        return g;
    }

    private static int batch(RecurrentConfig config, Tensor hN) {
        Objects.requireNonNull(config, "config");
        Checks.requireNonNull("hN", hN);
        if (hN.rank() == 2) {
            Checks.requireShape("hN", hN, config.stateCount(), config.hOut());
            return 1;
        }
        if (hN.rank() != 3) {
            throw new IllegalArgumentException("hN: expected (S, B, H_out) or unbatched (S, H_out) with S="
                    + config.stateCount() + ", H_out=" + config.hOut() + ", got " + hN.shapeString());
        }
        Checks.requireShape("hN", hN, config.stateCount(), hN.dim(1), config.hOut());
        return hN.dim(1);
    }
}
