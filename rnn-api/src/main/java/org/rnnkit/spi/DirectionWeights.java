package org.rnnkit.spi;

/**
 * The parameters of one layer direction in PyTorch's layout (row-major, gate blocks in PyTorch order).
 *
 * @param weightIh {@code (G*H, inputSize)}
 * @param weightHh {@code (G*H, hOut)}
 * @param biasIh {@code (G*H)}, or null without bias
 * @param biasHh {@code (G*H)}, or null without bias
 * @param weightHr {@code (P, H)}, or null without projection
 *
 * <p>Thread safety: the arrays are owned by the layer that made this record and never written after it
 * was built, so sharing across threads is safe. Backends must not write them.
 */
public record DirectionWeights(float[] weightIh, float[] weightHh, float[] biasIh, float[] biasHh, float[] weightHr) {}
