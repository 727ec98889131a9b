package org.rnnkit.train;

import org.rnnkit.tensor.Tensor;

/**
 * A loss value and its gradient with respect to the prediction it was computed from.
 *
 * <p>Thread safety: immutable record; the gradient tensor is fresh and owned by the caller.
 */
public record Loss(double value, Tensor gradient) {}
