package org.rnnkit.train;

import java.util.Map;
import org.rnnkit.tensor.Tensor;

/**
 * Updates parameters in place from their gradients, keeping per-parameter state (momentum, moments)
 * keyed by parameter name, like PyTorch's {@code torch.optim}.
 *
 * <p>Thread safety: implementations are not thread-safe; one optimizer belongs to one training loop.
 */
public interface Optimizer {

    /**
     * One update of every parameter that has a gradient.
     *
     * @param params parameters by name; their arrays are written
     * @param grads gradients by the same names and shapes (a parameter without gradient is left alone)
     */
    void step(Map<String, Tensor> params, Map<String, Tensor> grads);

    /** What an optimizer does to one parameter and its gradient. */
    interface Update {
        void apply(String name, float[] param, float[] grad);
    }

    /**
     * Applies {@code update} to every parameter that has a gradient, after checking that the shapes match.
     *
     * @throws IllegalArgumentException naming the gradient whose shape differs from its parameter's
     */
    static void forEachPair(Map<String, Tensor> params, Map<String, Tensor> grads, Update update) {
        params.forEach((name, p) -> {
            Tensor g = grads.get(name);
            if (g == null) {
                return;
            }
            if (!g.sameShape(p.shape())) {
                throw new IllegalArgumentException("grads['" + name + "']: expected shape " + p.shapeString()
                        + ", got " + g.shapeString());
            }
            update.apply(name, p.data(), g.data());
        });
    }
}
