package org.rnnkit.onnx;

import java.util.Arrays;
import java.util.Map;
import org.rnnkit.io.Untrusted;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.ParameterLayout;
import org.rnnkit.tensor.Tensor;

/**
 * ONNX's recurrent weights in PyTorch's {@code state_dict} form: shapes checked, gate blocks reordered
 * (LSTM {@code i, o, f, c} to {@code i, f, g, o}; GRU {@code z, r, h} to {@code r, z, n}), {@code B} split
 * into {@code bias_ih} and {@code bias_hh}, peepholes {@code P = [p_i, p_o, p_f]} to
 * {@code weight_peephole = [p_i, p_f, p_o]}.
 *
 * <p>Thread safety: stateless.
 */
final class Weights {
    /** For each PyTorch gate block, the ONNX block it comes from. */
    private static final int[] LSTM_GATES = {0, 2, 3, 1}, GRU_GATES = {1, 0, 2}, RNN_GATES = {0};
    /** For each rnnkit peephole block (p_i, p_f, p_o), the ONNX block of P (p_i, p_o, p_f). */
    private static final int[] PEEPHOLES = {0, 2, 1};

    private Weights() {}

    static int[] gateOrder(CellType type) {
        return switch (type) {
            case LSTM -> LSTM_GATES;
            case GRU -> GRU_GATES;
            default -> RNN_GATES;
        };
    }

    /** The shape ONNX prescribes for a weight role; {@code inputSize < 0} leaves W's last axis open. */
    static long[] expected(RecurrentNode n, String role, int inputSize) {
        long d = n.directions(), gh = (long) n.gates() * n.hiddenSize(), h = n.hiddenSize();
        return switch (role) {
            case "W" -> new long[] {d, gh, inputSize};
            case "R" -> new long[] {d, gh, h};
            case "B" -> new long[] {d, 2 * gh};
            default -> new long[] {d, 3 * h};
        };
    }

    /** Null when {@code shape} fits {@link #expected}, else what is wrong. */
    static String problem(RecurrentNode n, String role, long[] shape, int inputSize) {
        long[] want = expected(n, role, inputSize);
        boolean ok = shape.length == want.length;
        for (int i = 0; ok && i < want.length; i++) {
            ok = want[i] < 0 ? shape[i] >= 1 : shape[i] == want[i];
        }
        if (ok) {
            return null;
        }
        StringBuilder w = new StringBuilder("(");
        for (int i = 0; i < want.length; i++) {
            w.append(i > 0 ? ", " : "").append(want[i] < 0 ? "input_size" : Long.toString(want[i]));
        }
        return role + ": expected shape " + w + ") (" + (n.directions() == 2 ? "2 directions" : "1 direction") + ", "
                + n.gates() + " gates of hidden_size " + n.hiddenSize() + "), got " + Arrays.toString(shape);
    }

    /** The node's weight names by role, in the order W, R, B, P ("" when absent). */
    static String[][] roles(RecurrentNode n) {
        return new String[][] {{"W", n.w()}, {"R", n.r()}, {"B", n.b()}, {"P", n.p()}};
    }

    /**
     * Checks what the file says about the node's weights: initializers' types and shapes, and the declared
     * types and known dimensions of weights given as graph inputs.
     */
    static void checkDeclared(Graph g, RecurrentNode n, int inputSize) throws OnnxFormatException {
        for (String[] r : roles(n)) {
            if (r[1].isEmpty()) {
                continue;
            }
            OnnxTensor init = g.initializers.get(r[1]);
            String where = n.node().where + ": " + r[0] + " " + Untrusted.quote(r[1]);
            if (init != null) {
                if (init.dataType() != OnnxTensor.DataType.FLOAT) {
                    throw new OnnxFormatException(where + ": expected FLOAT, got " + init.dataType());
                }
                String p = problem(n, r[0], toLong(init.shape()), inputSize);
                if (p != null) {
                    throw new OnnxFormatException(n.node().where + ": " + p);
                }
                continue;
            }
            Graph.Value v = g.input(r[1]);
            if (v == null) {
                continue; // computed: the recognizer says so
            }
            if (v.elemType() != 0 && v.elemType() != OnnxTensor.DataType.FLOAT.code()) {
                throw new OnnxFormatException(where + ": expected FLOAT, got " + Protos.typeName(v.elemType()));
            }
            if (v.dims() != null) {
                long[] declared = new long[v.dims().length];
                long[] want = expected(n, r[0], inputSize);
                for (int i = 0; i < declared.length; i++) {
                    // an unknown dimension is checked when the tensor is given
                    declared[i] = v.dims()[i].known() ? v.dims()[i].value() : i < want.length && want[i] >= 0 ? want[i] : 1;
                }
                String p = problem(n, r[0], declared, inputSize);
                if (p != null) {
                    throw new OnnxFormatException(n.node().where + ": declared " + p);
                }
            }
        }
    }

    static long[] toLong(int[] shape) {
        long[] l = new long[shape.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = shape[i];
        }
        return l;
    }

    /**
     * Puts one node's weights into {@code stateDict} as layer {@code layer} (and its reverse direction).
     * With {@code bias} and no {@code B}, the biases are zeros (ONNX's meaning of an absent B).
     */
    static void put(Map<String, Tensor> stateDict, RecurrentNode n, int layer, float[] w, int inputSize, float[] r,
            float[] b, float[] p, boolean bias) {
        int h = n.hiddenSize(), g = n.gates(), rows = g * h;
        int[] order = gateOrder(n.type());
        for (int d = 0; d < n.directions(); d++) {
            String s = ParameterLayout.suffix(layer, d);
            stateDict.put("weight_ih" + s, Tensor.wrap(blocks(w, d, order, h, inputSize), rows, inputSize));
            stateDict.put("weight_hh" + s, Tensor.wrap(blocks(r, d, order, h, h), rows, h));
            if (bias) {
                float[] bi = new float[rows], bh = new float[rows];
                if (b != null) {
                    float[] both = blocks(b, d, null, 2 * rows, 1);
                    float[] wb = Arrays.copyOfRange(both, 0, rows), rb = Arrays.copyOfRange(both, rows, 2 * rows);
                    bi = blocks(wb, 0, order, h, 1);
                    bh = blocks(rb, 0, order, h, 1);
                }
                stateDict.put("bias_ih" + s, Tensor.wrap(bi, rows));
                stateDict.put("bias_hh" + s, Tensor.wrap(bh, rows));
            }
            if (p != null) {
                stateDict.put("weight_peephole" + s, Tensor.wrap(blocks(p, d, PEEPHOLES, h, 1), 3 * h));
            }
        }
    }

    /**
     * Direction {@code d}'s matrix of {@code src} (row blocks of {@code blockRows} rows of {@code cols}), its
     * blocks reordered by {@code order} (output block j is source block order[j]); null: one block as is.
     */
    private static float[] blocks(float[] src, int d, int[] order, int blockRows, int cols) {
        int blocks = order == null ? 1 : order.length;
        int blockSize = blockRows * cols, dirSize = blocks * blockSize;
        float[] out = new float[dirSize];
        for (int j = 0; j < blocks; j++) {
            int from = d * dirSize + (order == null ? 0 : order[j]) * blockSize;
            System.arraycopy(src, from, out, j * blockSize, blockSize);
        }
        return out;
    }
}
