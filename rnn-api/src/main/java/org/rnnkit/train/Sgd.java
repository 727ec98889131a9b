package org.rnnkit.train;

import java.util.HashMap;
import java.util.Map;
import org.rnnkit.tensor.Tensor;

/**
 * Stochastic gradient descent with PyTorch 1.13's exact update ({@code torch.optim.SGD}), in float32:
 * <pre>
 * d = g + weight_decay * p
 * if momentum != 0: buf = d (first step) or momentum * buf + (1 - dampening) * d
 *                   d = nesterov ? d + momentum * buf : buf
 * p = p - lr * d
 * </pre>
 *
 * <p>Thread safety: not thread-safe (keeps momentum buffers).
 */
public final class Sgd implements Optimizer {
    private final float lr, momentum, dampening, weightDecay;
    private final boolean nesterov;
    private final Map<String, float[]> buffers = new HashMap<>();

    /** Plain SGD. */
    public Sgd(double lr) {
        this(lr, 0, 0, 0, false);
    }

    public Sgd(double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
        if (!(lr >= 0) || !(momentum >= 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("SGD: expected lr, momentum, weight_decay >= 0, got lr=" + lr
                    + " momentum=" + momentum + " weight_decay=" + weightDecay);
        }
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("SGD: nesterov needs momentum > 0 and dampening = 0, got momentum="
                    + momentum + " dampening=" + dampening);
        }
        this.lr = (float) lr;
        this.momentum = (float) momentum;
        this.dampening = (float) dampening;
        this.weightDecay = (float) weightDecay;
        this.nesterov = nesterov;
    }

    @Override
    public void step(Map<String, Tensor> params, Map<String, Tensor> grads) {
        Optimizer.forEachPair(params, grads, (name, pd, gd) -> {
            float[] buf = buffers.get(name);
            boolean first = buf == null;
            if (momentum != 0 && first) {
                buf = new float[pd.length];
                buffers.put(name, buf);
            }
            for (int i = 0; i < pd.length; i++) {
                float d = weightDecay != 0 ? gd[i] + weightDecay * pd[i] : gd[i];
                if (momentum != 0) {
                    buf[i] = first ? d : momentum * buf[i] + (1 - dampening) * d;
                    d = nesterov ? d + momentum * buf[i] : buf[i];
                }
                pd[i] = pd[i] - lr * d;
            }
        });
    }
}
