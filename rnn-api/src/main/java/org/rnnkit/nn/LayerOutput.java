package org.rnnkit.nn;

import org.rnnkit.tensor.Tensor;

/**
 * The results of a layer's forward pass, shaped as PyTorch returns them.
 *
 * @param output {@code (T, B, D*H_out)}, {@code (B, T, D*H_out)} with {@code batch_first}, or
 *     {@code (T, D*H_out)} for unbatched input
 * @param hN final hidden states, {@code (S, B, H_out)} or {@code (S, H_out)}, index {@code layer*D + direction}
 * @param cN final cell states of an LSTM, {@code (S, B, H)} or {@code (S, H)}; null for RNN and GRU
 *
 * <p>Thread safety: the record is immutable; the tensors are fresh and owned by the caller.
 */
public record LayerOutput(Tensor output, Tensor hN, Tensor cN) {}
