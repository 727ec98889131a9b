package org.rnnkit.nn;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.rnnkit.tensor.Tensor;

/**
 * PyTorch's default initialisation of recurrent parameters: every tensor uniform in
 * {@code [-1/sqrt(H), 1/sqrt(H)]}, drawn here from a {@link SplittableRandom} with the caller's seed
 * (the distribution is PyTorch's; the random stream is not, so the values differ from PyTorch's).
 *
 * <p>Thread safety: stateless.
 */
public final class Initializer {
    private Initializer() {}

    /** Fresh parameters for {@code layout}, uniform in {@code [-bound, bound)}, {@code bound = 1/sqrt(hidden)}. */
    public static Map<String, Tensor> uniform(ParameterLayout layout, int hiddenSize, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double bound = 1.0 / Math.sqrt(hiddenSize);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (ParameterLayout.Entry e : layout.entries()) {
            Tensor t = Tensor.zeros(e.shape());
            float[] d = t.data();
            for (int i = 0; i < d.length; i++) {
                d[i] = (float) rnd.nextDouble(-bound, bound);
            }
            out.put(e.name(), t);
        }
        return out;
    }
}
