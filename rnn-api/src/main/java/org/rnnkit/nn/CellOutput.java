package org.rnnkit.nn;

import org.rnnkit.tensor.Tensor;

/**
 * The new state a cell returns: PyTorch's {@code h'} and, for {@code LSTMCell}, {@code c'}.
 *
 * @param h {@code (B, H)} or {@code (H)} for unbatched input
 * @param c {@code (B, H)} or {@code (H)} for the LSTM cell; null otherwise
 *
 * <p>Thread safety: the record is immutable; the tensors are fresh and owned by the caller.
 */
public record CellOutput(Tensor h, Tensor c) {}
