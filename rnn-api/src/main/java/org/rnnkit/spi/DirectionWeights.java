package org.rnnkit.spi;

/**
 * The parameters of one layer direction in PyTorch's layout (row-major, gate blocks in PyTorch order).
 *
 * @param weightIh {@code (G*H, inputSize)}
 * @param weightHh {@code (G*H, hOut)}
 * @param biasIh {@code (G*H)}, or null without bias
 * @param biasHh {@code (G*H)}, or null without bias
 * @param weightHr {@code (P, H)}, or null without projection
 * @param peephole {@code (3*H)}: {@code p_i, p_f, p_o} of an LSTM with peepholes, or null without
 *
 * <p>The same record carries gradient accumulators (same shapes) into
 * {@link RecurrentKernel#backward}, which adds to them.
 *
 * <p>Thread safety: weights are owned by the layer that made the record and never written after it was
 * built, so sharing across threads is safe; backends must not write them. Gradient records belong to one
 * backward call.
 */
public record DirectionWeights(float[] weightIh, float[] weightHh, float[] biasIh, float[] biasHh, float[] weightHr,
        float[] peephole) {

    /** Weights without peepholes. */
    public DirectionWeights(float[] weightIh, float[] weightHh, float[] biasIh, float[] biasHh, float[] weightHr) {
        this(weightIh, weightHh, biasIh, biasHh, weightHr, null);
    }
}
