package org.rnnkit.train;

import java.util.HashMap;
import java.util.Map;
import org.rnnkit.tensor.Tensor;

/**
 * Adam and AdamW with PyTorch 1.13's exact update ({@code torch.optim.Adam}, {@code torch.optim.AdamW},
 * single-tensor path), moments in float32:
 * <pre>
 * AdamW: p = p * (1 - lr * weight_decay)          Adam: g = g + weight_decay * p
 * m = beta1 * m + (1 - beta1) * g
 * v = beta2 * v + (1 - beta2) * g * g
 * denom = sqrt(v) / sqrt(1 - beta2^t) + eps
 * p = p - (lr / (1 - beta1^t)) * m / denom
 * </pre>
 * (with {@code amsgrad}, {@code v} in {@code denom} is the running maximum of {@code v}).
 *
 * <p>Thread safety: not thread-safe (keeps moments).
 */
public final class Adam implements Optimizer {
    private final double lr, beta1, beta2, eps, weightDecay;
    private final boolean decoupled, amsgrad;
    private final Map<String, State> states = new HashMap<>();

    private static final class State {
        final float[] m, v, vMax;
        int step;

        State(int n, boolean amsgrad) {
            m = new float[n];
            v = new float[n];
            vMax = amsgrad ? new float[n] : null;
        }
    }

    /** Adam with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay. */
    public Adam(double lr) {
        this(lr, 0.9, 0.999, 1e-8, 0, false, false);
    }

    /** AdamW with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
    public static Adam adamW(double lr) {
        return new Adam(lr, 0.9, 0.999, 1e-8, 0.01, true, false);
    }

    /**
     * @param decoupled true for AdamW (decay the weights), false for Adam (add {@code weight_decay * p} to the gradient)
     */
    public Adam(double lr, double beta1, double beta2, double eps, double weightDecay, boolean decoupled,
            boolean amsgrad) {
        if (!(lr >= 0) || !(eps >= 0) || !(weightDecay >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("Adam: expected lr, eps, weight_decay >= 0 and betas in [0, 1), got lr="
                    + lr + " betas=(" + beta1 + ", " + beta2 + ") eps=" + eps + " weight_decay=" + weightDecay);
        }
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.decoupled = decoupled;
        this.amsgrad = amsgrad;
    }

    @Override
    public void step(Map<String, Tensor> params, Map<String, Tensor> grads) {
        Optimizer.forEachPair(params, grads, (name, pd, gd) -> {
            State s = states.computeIfAbsent(name, k -> new State(pd.length, amsgrad));
            s.step++;
            // Scalars as PyTorch forms them: Python doubles, cast to float where they meet float tensors.
            float b1 = (float) beta1, b2 = (float) beta2, a1 = (float) (1 - beta1), a2 = (float) (1 - beta2);
            float stepSize = (float) (lr / (1 - Math.pow(beta1, s.step)));
            float bc2Sqrt = (float) Math.sqrt(1 - Math.pow(beta2, s.step));
            float epsF = (float) eps, decay = (float) (1 - lr * weightDecay), wd = (float) weightDecay;
            for (int i = 0; i < pd.length; i++) {
                float gi = gd[i];
                if (weightDecay != 0) {
                    if (decoupled) {
                        pd[i] = pd[i] * decay;
                    } else {
                        gi = gi + wd * pd[i];
                    }
                }
                s.m[i] = s.m[i] * b1 + a1 * gi;
                s.v[i] = s.v[i] * b2 + a2 * gi * gi;
                float v = s.v[i];
                if (amsgrad) {
                    s.vMax[i] = Math.max(s.vMax[i], v);
                    v = s.vMax[i];
                }
                float denom = (float) Math.sqrt(v) / bc2Sqrt + epsF;
                pd[i] = pd[i] - stepSize * s.m[i] / denom;
            }
        });
    }
}
