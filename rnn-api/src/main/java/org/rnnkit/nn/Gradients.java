package org.rnnkit.nn;

import java.util.Collections;
import java.util.Map;
import org.rnnkit.tensor.Tensor;

/**
 * Gradients of a loss from a backward pass, named and shaped as PyTorch's autograd gives them.
 *
 * @param parameters per parameter, by {@code state_dict} name and in its order
 * @param input gradient of the input, same shape (zeros at padded steps of variable-length rows); null when
 *     not computed ({@link TrainableLayer#backward})
 * @param h0 gradient of the initial hidden state ({@code h0}/{@code h}), same shape as {@code h_n}
 * @param c0 gradient of the initial cell state for LSTMs, else null
 *
 * <p>Thread safety: immutable record; from {@link RecurrentLayer#backward} its tensors are fresh and owned by
 * the caller, from {@link TrainableLayer#backward} they are the layer's, rewritten by its next backward pass.
 */
public record Gradients(Map<String, Tensor> parameters, Tensor input, Tensor h0, Tensor c0) {
    public Gradients {
        parameters = Collections.unmodifiableMap(parameters);
    }
}
