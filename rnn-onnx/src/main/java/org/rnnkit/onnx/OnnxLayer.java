package org.rnnkit.onnx;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.io.Untrusted;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tensor.Tensor;

/**
 * An {@link OnnxModel} bound to its weights and a backend: the rnnkit {@link #layer()} it is, and
 * {@link #run} in the model's own terms, graph inputs in and graph outputs out by name.
 *
 * <p>For a single-node model, {@code run} computes what ONNX's operator defines: {@code Y}
 * {@code (T, D, B, H)} ({@code layout=1}: {@code (B, T, D, H)}), {@code Y_h} and {@code Y_c} {@code (D, B, H)}
 * ({@code layout=1}: {@code (B, D, H)}); with {@code sequence_lens}, a row's {@code Y} past its length is zero
 * and its {@code Y_h}/{@code Y_c} are its state after its own last step. rnnkit runs every row at least one
 * step: a length of 0 (which ONNX allows) is refused. For PyTorch's graph, {@code run} returns the graph's
 * {@code output}, {@code h_n} and {@code c_n} as PyTorch's module does.
 *
 * <p>Thread safety: immutable; {@code run} may be called from many threads at once (each call has its own
 * workspace).
 */
public final class OnnxLayer {
    private final OnnxModel model;
    private final RecurrentLayer layer;

    OnnxLayer(OnnxModel model, RecurrentLayer layer) {
        this.model = model;
        this.layer = layer;
    }

    /**
     * The rnnkit layer: PyTorch's parameters ({@code state_dict} names, gate order) and layout. For a
     * single-node model, {@code batch_first} is the node's {@code layout=1}, {@code reverse} its
     * {@code direction=reverse}, and its states are {@code (D, B, H)}.
     */
    public RecurrentLayer layer() {
        return layer;
    }

    public OnnxModel model() {
        return model;
    }

    /**
     * Runs the model on graph inputs given by name, and returns every graph output by name, in the graph's
     * order. Weight inputs in the map are ignored (they were given to {@link OnnxModel#bind(Map,
     * org.rnnkit.backend.Backend)}).
     *
     * @throws IllegalArgumentException naming the input and what was expected: a required input not given,
     *     a wrong type or shape, a length outside {@code 1..T}
     */
    public Map<String, OnnxTensor> run(Map<String, OnnxTensor> inputs) {
        Objects.requireNonNull(inputs, "inputs");
        Plan plan = model.plan();
        RecurrentConfig cfg = layer.config();
        OnnxTensor xt = required(inputs, plan.x());
        Tensor x = floats(xt, plan.x());
        if (x.rank() != 3 || x.dim(2) != cfg.inputSize()) {
            throw new IllegalArgumentException(Untrusted.quote(plan.x()) + ": expected " + (cfg.batchFirst()
                    ? "(batch, sequence, " : "(sequence, batch, ") + cfg.inputSize() + "), got " + x.shapeString());
        }
        int seq = x.dim(cfg.batchFirst() ? 1 : 0), batch = x.dim(cfg.batchFirst() ? 0 : 1);
        ForwardOptions options = ForwardOptions.defaults();
        if (plan.lengths() != null) {
            options = options.withLengths(lengths(required(inputs, plan.lengths()), plan.lengths(), seq, batch));
        }
        Tensor h0 = plan.h0() == null ? null : state(required(inputs, plan.h0()), plan.h0(), batch, cfg.hOut());
        Tensor c0 = plan.c0() == null ? null : state(required(inputs, plan.c0()), plan.c0(), batch, cfg.hiddenSize());
        LayerOutput y = layer.forward(x, options.withInitialState(h0, c0));
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        for (Plan.Output o : plan.outputs()) {
            Tensor t = switch (o.role()) {
                case Y -> onnxY(y.output(), seq, batch);
                case Y_H -> onnxState(y.hN());
                case Y_C -> onnxState(y.cN());
                case OUTPUT -> y.output();
                case H_N -> y.hN();
                case C_N -> y.cN();
            };
            out.put(o.name(), OnnxTensor.of(o.name(), t));
        }
        return out;
    }

    private OnnxTensor required(Map<String, OnnxTensor> inputs, String name) {
        OnnxTensor t = inputs.get(name);
        if (t == null && model.graph().input(name) == null) {
            t = model.graph().initializers.get(name); // a constant in the file
        }
        if (t == null) {
            throw new IllegalArgumentException("inputs: graph input " + Untrusted.quote(name) + " is required, not given"
                    + " (inputs: " + model.inputNames() + ")");
        }
        return t;
    }

    private static Tensor floats(OnnxTensor t, String name) {
        if (t.dataType() != OnnxTensor.DataType.FLOAT) {
            throw new IllegalArgumentException(Untrusted.quote(name) + ": expected FLOAT, got " + t.dataType());
        }
        return Tensor.wrap(t.floatView(), t.shape()); // read only: the layer copies or only reads it
    }

    private static int[] lengths(OnnxTensor t, String name, int seq, int batch) {
        if (t.dataType() == OnnxTensor.DataType.FLOAT || t.rank() != 1 || t.size() != batch) {
            throw new IllegalArgumentException(Untrusted.quote(name) + " (sequence_lens): expected INT32 or INT64 of "
                    + "shape (" + batch + ",), got " + t.dataType() + Tensor.shapeString(t.shape()));
        }
        long[] v = t.longView();
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            if (v[b] < 1 || v[b] > seq) {
                throw new IllegalArgumentException(Untrusted.quote(name) + "[" + b + "] (sequence_lens): expected 1.."
                        + seq + ", got " + v[b] + (v[b] == 0 ? " (rnnkit runs every row at least one step)" : ""));
            }
            lengths[b] = (int) v[b];
        }
        return lengths;
    }

    /** An initial state in the layer's (S, B, width) from the model's layout. */
    private Tensor state(OnnxTensor t, String name, int batch, int width) {
        Tensor s = floats(t, name);
        int rows = layer.config().stateCount();
        boolean batchMajor = model.plan().singleNode() && layer.config().batchFirst();
        int[] want = batchMajor ? new int[] {batch, rows, width} : new int[] {rows, batch, width};
        if (!s.sameShape(want)) {
            throw new IllegalArgumentException(Untrusted.quote(name) + ": expected shape " + Tensor.shapeString(want)
                    + ", got " + s.shapeString());
        }
        return batchMajor ? swap01(s) : s;
    }

    /** ONNX's Y from the layer's output: (T, B, D*H) to (T, D, B, H); with layout=1 (B, T, D*H) is (B, T, D, H). */
    private Tensor onnxY(Tensor out, int seq, int batch) {
        int d = layer.config().directions(), h = layer.config().hiddenSize();
        if (layer.config().batchFirst()) {
            return out.reshape(batch, seq, d, h);
        }
        float[] src = out.data(), dst = new float[src.length];
        for (int t = 0; t < seq; t++) {
            for (int b = 0; b < batch; b++) {
                for (int k = 0; k < d; k++) {
                    System.arraycopy(src, ((t * batch + b) * d + k) * h, dst, ((t * d + k) * batch + b) * h, h);
                }
            }
        }
        return Tensor.wrap(dst, seq, d, batch, h);
    }

    /** ONNX's Y_h/Y_c from the layer's (D, B, H): as is, or (B, D, H) with layout=1. */
    private Tensor onnxState(Tensor s) {
        return layer.config().batchFirst() ? swap01(s) : s;
    }

    /** (a, b, c) to (b, a, c). */
    private static Tensor swap01(Tensor s) {
        int a = s.dim(0), b = s.dim(1), c = s.dim(2);
        float[] src = s.data(), dst = new float[src.length];
        for (int i = 0; i < a; i++) {
            for (int j = 0; j < b; j++) {
                System.arraycopy(src, (i * b + j) * c, dst, (j * a + i) * c, c);
            }
        }
        return Tensor.wrap(dst, b, a, c);
    }

    @Override
    public String toString() {
        return "OnnxLayer " + Untrusted.quote(model.source()) + " as " + layer;
    }
}
