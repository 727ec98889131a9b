package org.rnnkit.nn;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.internal.DenseOps;
import org.rnnkit.internal.KernelAccess;
import org.rnnkit.spi.DenseKernel;
import org.rnnkit.tensor.Tensor;

/**
 * A fully connected layer {@code y = x W^T + b}, PyTorch's {@code nn.Linear}: {@code weight} is
 * {@code (out, in)}, {@code bias} is {@code (out)}. Used as the output head of recurrent models
 * ({@code y_t = W_hy h_t + b_y}). Its products run on a backend's dense kernel, like the recurrent layers'.
 *
 * <p>Thread safety: immutable once built; safe to share.
 */
public final class Linear {
    private final int in, out;
    private final float[] weight, bias; // bias null when absent
    private final Backend backend;
    private final DenseKernel dense;

    private Linear(int in, int out, float[] weight, float[] bias, Backend backend) {
        this.in = in;
        this.out = out;
        this.weight = weight;
        this.bias = bias;
        this.backend = backend;
        this.dense = KernelAccess.kernels(backend).dense();
    }

    /**
     * A layer from tensors named {@code weight} and (optionally) {@code bias}, copied, on the default
     * backend ({@link Backends#get()}).
     *
     * @throws IllegalArgumentException if a tensor is missing, extra or mis-shaped
     */
    public static Linear of(Map<String, Tensor> params) {
        return of(params, Backends.get());
    }

    /**
     * A layer from tensors named {@code weight} and (optionally) {@code bias}, copied, on {@code backend}.
     *
     * @throws IllegalArgumentException if a tensor is missing, extra or mis-shaped
     */
    public static Linear of(Map<String, Tensor> params, Backend backend) {
        Objects.requireNonNull(backend, "backend");
        Tensor w = params.get("weight");
        if (w == null || w.rank() != 2) {
            throw new IllegalArgumentException("weight: expected a tensor of shape (out, in), got "
                    + (w == null ? "none" : w.shapeString()));
        }
        Tensor b = params.get("bias");
        if (b != null && !b.sameShape(w.dim(0))) {
            throw new IllegalArgumentException("bias: expected shape " + Tensor.shapeString(w.dim(0)) + ", got "
                    + b.shapeString());
        }
        for (String k : params.keySet()) {
            if (!k.equals("weight") && !k.equals("bias")) {
                throw new IllegalArgumentException("unexpected tensor '" + k + "' for a Linear layer");
            }
        }
        if (w.dim(0) < 1 || w.dim(1) < 1) {
            throw new IllegalArgumentException("weight: expected positive sizes, got " + w.shapeString());
        }
        return new Linear(w.dim(1), w.dim(0), w.data().clone(), b == null ? null : b.data().clone(), backend);
    }

    /** PyTorch's default initialisation: weight and bias uniform in {@code [-1/sqrt(in), 1/sqrt(in)]}. */
    public static Map<String, Tensor> initialParameters(int in, int out, boolean bias, long seed) {
        if (in < 1 || out < 1) {
            throw new IllegalArgumentException("in/out: expected >= 1, got in=" + in + " out=" + out);
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        double bound = 1.0 / Math.sqrt(in);
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("weight", fill(Tensor.zeros(out, in), rnd, bound));
        if (bias) {
            m.put("bias", fill(Tensor.zeros(out), rnd, bound));
        }
        return m;
    }

    private static Tensor fill(Tensor t, SplittableRandom rnd, double bound) {
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) rnd.nextDouble(-bound, bound);
        }
        return t;
    }

    public int inFeatures() {
        return in;
    }

    public int outFeatures() {
        return out;
    }

    /** The backend whose dense kernel runs the products. */
    public Backend backend() {
        return backend;
    }

    /** {@code y = x W^T + b} over the last axis of {@code x} ({@code (..., in)} → {@code (..., out)}). */
    public Tensor forward(Tensor x) {
        int rows = rows(x);
        int[] shape = x.shape();
        shape[shape.length - 1] = out;
        Tensor y = Tensor.zeros(shape);
        DenseOps.linear(dense, x.data(), rows, in, weight, bias, out, y.data());
        return y;
    }

    /**
     * Gradients for upstream gradient {@code gy} of {@link #forward}{@code (x)}: a map with
     * {@code weight} (and {@code bias}), and the input gradient under the key {@code input}.
     */
    public Map<String, Tensor> backward(Tensor x, Tensor gy) {
        int rows = rows(x);
        int[] yShape = x.shape();
        yShape[yShape.length - 1] = out;
        Checks.requireShape("gy", Objects.requireNonNull(gy, "gy"), yShape);
        Tensor gw = Tensor.zeros(out, in), gx = Tensor.zeros(x.shape());
        Tensor gb = bias == null ? null : Tensor.zeros(out);
        DenseOps.linearBackward(dense, x.data(), rows, in, weight, out, gy.data(), gw.data(),
                gb == null ? null : gb.data(), gx.data());
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("weight", gw);
        if (gb != null) {
            m.put("bias", gb);
        }
        m.put("input", gx);
        return m;
    }

    private int rows(Tensor x) {
        Checks.requireNonNull("x", x);
        if (x.rank() < 1 || x.dim(-1) != in) {
            throw new IllegalArgumentException("x: expected last dimension " + in + ", got " + x.shapeString());
        }
        return x.size() / in;
    }
}
