package org.rnnkit.onnx;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.io.AtomicFile;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.MergeMode;
import org.rnnkit.nn.ParameterLayout;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.onnx.proto.Onnx;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.CellVariant;

/**
 * Writes a recurrent layer as a standard ONNX model (opset {@value #OPSET}) that ONNX Runtime and other
 * runtimes load: one {@code LSTM}, {@code GRU} or {@code RNN} node per stacked layer, its weights as
 * initializers in ONNX's gate order, joined as PyTorch's exporter joins them, so the file has the
 * interface of an exported {@code nn.LSTM}/{@code GRU}/{@code RNN}:
 *
 * <ul>
 *   <li>inputs {@code input} ({@code (seq, batch, input_size)}, or {@code (batch, seq, input_size)} with
 *       batch_first; both axes dynamic) and, when asked for ({@link #write(RecurrentLayer, boolean)}),
 *       {@code h0} ({@code (S, batch, H)}) and for an LSTM {@code c0};
 *   <li>outputs {@code output} (the layer's output, in the input's layout), {@code h_n} and for an LSTM
 *       {@code c_n} ({@code (S, batch, H)}), {@code S = num_layers * directions}.
 * </ul>
 *
 * Every cell variant ONNX's operators have is written as their attributes: activations with
 * {@code activation_alpha}/{@code activation_beta} (in the order ONNX Runtime consumes them), {@code clip},
 * {@code input_forget}, peepholes ({@code P}), {@code linear_before_reset} (1 for PyTorch's GRU, 0 for the
 * reset gate before the product), {@code direction} (reverse-only too). {@code batch_first} is written as
 * {@code Transpose} nodes around the recurrent ones, not as {@code layout=1}, which ONNX Runtime refuses.
 *
 * <p>Refused, with a message naming the option: an LSTM projection ({@code proj_size}: no ONNX operator
 * has one) and directions merged other than by concatenation (ONNX's operators concatenate; rnnkit's
 * reader would not recognise the extra operators either).
 *
 * <p>{@link OnnxModel#read} reads what this writes back to the same configuration and weights.
 *
 * <p>Thread safety: stateless.
 */
public final class OnnxWriter {
    /** The operator set the models import: LSTM/GRU/RNN-14 (with {@code layout}), as PyTorch 2.x exports. */
    public static final int OPSET = 17;
    static final int IR_VERSION = 8;

    private OnnxWriter() {}

    /** {@link #write(RecurrentLayer, boolean)} without initial-state inputs (the layer starts from zeros). */
    public static byte[] write(RecurrentLayer layer) {
        return write(layer, false);
    }

    /** Writes {@link #write(RecurrentLayer, boolean)} to {@code file}, atomically (a reader never sees half a file). */
    public static void write(RecurrentLayer layer, boolean initialState, Path file) throws IOException {
        AtomicFile.write(file, write(layer, initialState));
    }

    /**
     * The serialized ONNX model of {@code layer}.
     *
     * @param initialState whether the model takes {@code h0} (and {@code c0}) as inputs
     * @throws IllegalArgumentException when the layer has a projection or merges its directions other
     *     than by concatenation
     */
    public static byte[] write(RecurrentLayer layer, boolean initialState) {
        Objects.requireNonNull(layer, "layer");
        return write(layer.config(), layer.stateDict(), initialState);
    }

    /** As {@link #write(RecurrentLayer, boolean)}, from a configuration and its state_dict (checked strictly). */
    public static byte[] write(RecurrentConfig cfg, Map<String, Tensor> stateDict, boolean initialState) {
        Objects.requireNonNull(cfg, "cfg");
        if (cfg.projSize() > 0) {
            throw new IllegalArgumentException("proj_size: ONNX's LSTM has no projection; a layer with proj_size="
                    + cfg.projSize() + " cannot be written as ONNX");
        }
        if (cfg.mergeMode() != MergeMode.CONCAT) {
            throw new IllegalArgumentException("merge_mode: ONNX's operators concatenate the two directions; a layer"
                    + " merging them by " + cfg.mergeMode().key() + " is not written as ONNX");
        }
        Map<String, Tensor> params = ParameterLayout.checked(cfg, stateDict);
        return new Builder(cfg, params, initialState).build().toByteArray();
    }

    /** The graph of one layer: the nodes in order, their initializers, the interface. */
    private static final class Builder {
        final RecurrentConfig cfg;
        final Map<String, Tensor> params;
        final boolean initialState;
        final int h, d, g;
        final Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder().setName("rnnkit");

        Builder(RecurrentConfig cfg, Map<String, Tensor> params, boolean initialState) {
            this.cfg = cfg;
            this.params = params;
            this.initialState = initialState;
            this.h = cfg.hiddenSize();
            this.d = cfg.directions();
            this.g = cfg.type().gates();
        }

        Onnx.ModelProto build() {
            boolean lstm = cfg.type() == CellType.LSTM;
            String seq = "seq", batch = "batch";
            graph.addInput(value("input", cfg.batchFirst() ? batch : seq, cfg.batchFirst() ? seq : batch,
                    Integer.toString(cfg.inputSize())));
            if (initialState) {
                graph.addInput(value("h0", Integer.toString(cfg.stateCount()), batch, Integer.toString(h)));
                if (lstm) {
                    graph.addInput(value("c0", Integer.toString(cfg.stateCount()), batch, Integer.toString(h)));
                }
            }
            String x = "input";
            if (cfg.batchFirst()) {
                x = node("Transpose", "input_time_major", List.of(x), ints("perm", 1, 0, 2));
            }
            constant("reshape_merge_directions", new long[] {3}, new long[] {0, 0, -1});
            List<String> hN = new ArrayList<>(), cN = new ArrayList<>();
            for (int k = 0; k < cfg.numLayers(); k++) {
                boolean top = k == cfg.numLayers() - 1;
                String[] out = layer(k, x, top && !cfg.batchFirst() ? "output" : "output" + k);
                x = out[0];
                hN.add(out[1]);
                cN.add(out[2]);
            }
            String output = cfg.batchFirst() ? node("Transpose", "output", List.of(x), ints("perm", 1, 0, 2)) : x;
            if (cfg.numLayers() > 1) { // one layer's node writes h_n and c_n itself
                node("Concat", "h_n", hN, axis(0));
                if (lstm) {
                    node("Concat", "c_n", cN, axis(0));
                }
            }
            graph.addOutput(value(output, cfg.batchFirst() ? batch : seq, cfg.batchFirst() ? seq : batch,
                    Integer.toString(cfg.outputSize())));
            graph.addOutput(value("h_n", Integer.toString(cfg.stateCount()), batch, Integer.toString(h)));
            if (lstm) {
                graph.addOutput(value("c_n", Integer.toString(cfg.stateCount()), batch, Integer.toString(h)));
            }
            return Onnx.ModelProto.newBuilder().setIrVersion(IR_VERSION).setProducerName("rnnkit")
                    .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                    .setGraph(graph).build();
        }

        /** Layer {@code k} on {@code x} ({@code (seq, batch, F)}): its output (named {@code out}), final h and final c. */
        String[] layer(int k, String x, String outName) {
            int inW = cfg.layerInputSize(k);
            int[] order = gateOrder(cfg.type());
            float[] w = new float[d * g * h * inW], r = new float[d * g * h * h], b = new float[d * 2 * g * h];
            float[] p = cfg.variant().peepholes() ? new float[d * 3 * h] : null;
            for (int dir = 0; dir < d; dir++) {
                String s = ParameterLayout.suffix(k, dir);
                reorder(params.get("weight_ih" + s).data(), w, dir * g * h * inW, order, h, inW);
                reorder(params.get("weight_hh" + s).data(), r, dir * g * h * h, order, h, h);
                if (cfg.bias()) {
                    reorder(params.get("bias_ih" + s).data(), b, dir * 2 * g * h, order, h, 1);
                    reorder(params.get("bias_hh" + s).data(), b, dir * 2 * g * h + g * h, order, h, 1);
                }
                if (p != null) { // rnnkit p_i, p_f, p_o -> ONNX P = [p_i, p_o, p_f]
                    reorder(params.get("weight_peephole" + s).data(), p, dir * 3 * h, new int[] {0, 2, 1}, h, 1);
                }
            }
            String l = Integer.toString(k);
            initializer("W" + l, new long[] {d, (long) g * h, inW}, w);
            initializer("R" + l, new long[] {d, (long) g * h, h}, r);
            List<String> inputs = new ArrayList<>(List.of(x, "W" + l, "R" + l));
            if (cfg.bias()) {
                initializer("B" + l, new long[] {d, 2L * g * h}, b);
                inputs.add("B" + l);
            } else {
                inputs.add("");
            }
            inputs.add(""); // sequence_lens: every row runs every step
            boolean lstm = cfg.type() == CellType.LSTM;
            boolean one = cfg.numLayers() == 1;
            if (initialState && one) {
                inputs.add("h0");
                if (lstm) {
                    inputs.add("c0");
                }
            } else if (initialState) { // this layer's rows of the initial states
                constant("rows_start" + l, new long[] {1}, new long[] {(long) k * d});
                constant("rows_end" + l, new long[] {1}, new long[] {(long) (k + 1) * d});
                constant("rows_axis" + l, new long[] {1}, new long[] {0});
                inputs.add(node("Slice", "h0_" + l, List.of("h0", "rows_start" + l, "rows_end" + l, "rows_axis" + l)));
                if (lstm) {
                    inputs.add(node("Slice", "c0_" + l, List.of("c0", "rows_start" + l, "rows_end" + l,
                            "rows_axis" + l)));
                }
            } else {
                inputs.add("");
                if (lstm) {
                    inputs.add("");
                }
            }
            if (p != null) {
                initializer("P" + l, new long[] {d, 3L * h}, p);
                inputs.add("P" + l);
            }
            while (inputs.get(inputs.size() - 1).isEmpty()) { // trailing absent inputs are left out
                inputs.remove(inputs.size() - 1);
            }
            Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(opType(cfg.type())).setName("rnn" + l);
            inputs.forEach(n::addInput);
            String yh = one ? "h_n" : "Y_h" + l, yc = one ? "c_n" : "Y_c" + l;
            n.addOutput("Y" + l).addOutput(yh);
            if (lstm) {
                n.addOutput(yc);
            }
            n.addAttribute(Onnx.AttributeProto.newBuilder().setName("hidden_size")
                    .setType(Onnx.AttributeProto.AttributeType.INT).setI(h));
            n.addAttribute(string("direction", cfg.bidirectional() ? "bidirectional" : cfg.reverse() ? "reverse"
                    : "forward"));
            variantAttributes(n);
            graph.addNode(n);
            // Y (seq, D, batch, H) -> (seq, batch, D, H) -> (seq, batch, D*H): the directions concatenated per step
            String t = node("Transpose", "Y_steps" + l, List.of("Y" + l), ints("perm", 0, 2, 1, 3));
            String out = node("Reshape", outName, List.of(t, "reshape_merge_directions"));
            return new String[] {out, yh, lstm ? yc : null};
        }

        /** Activations (always for an RNN, whose ONNX default is tanh), clip, input_forget, linear_before_reset. */
        void variantAttributes(Onnx.NodeProto.Builder n) {
            CellVariant v = cfg.variant();
            int slots = cfg.type().activationSlots();
            List<Activation> acts = new ArrayList<>();
            for (int dir = 0; dir < d; dir++) {
                List<Activation> own = v.activationsOf(dir, slots);
                acts.addAll(own.isEmpty() ? cfg.type().defaultActivations() : own);
            }
            boolean rnn = slots == 1;
            if (rnn || !v.activations().isEmpty()) {
                Onnx.AttributeProto.Builder names = Onnx.AttributeProto.newBuilder().setName("activations")
                        .setType(Onnx.AttributeProto.AttributeType.STRINGS);
                Onnx.AttributeProto.Builder alphas = Onnx.AttributeProto.newBuilder().setName("activation_alpha")
                        .setType(Onnx.AttributeProto.AttributeType.FLOATS);
                Onnx.AttributeProto.Builder betas = Onnx.AttributeProto.newBuilder().setName("activation_beta")
                        .setType(Onnx.AttributeProto.AttributeType.FLOATS);
                for (Activation a : acts) { // each function consumes its parameters in order (ONNX Runtime's reading)
                    names.addStrings(ByteString.copyFromUtf8(a.function().onnxName()));
                    if (a.function().takesAlpha()) {
                        alphas.addFloats(a.alpha());
                    }
                    if (a.function().takesBeta()) {
                        betas.addFloats(a.beta());
                    }
                }
                n.addAttribute(names);
                if (alphas.getFloatsCount() > 0) {
                    n.addAttribute(alphas);
                }
                if (betas.getFloatsCount() > 0) {
                    n.addAttribute(betas);
                }
            }
            if (v.hasClip()) {
                n.addAttribute(Onnx.AttributeProto.newBuilder().setName("clip")
                        .setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(v.clip()));
            }
            if (v.inputForget()) {
                n.addAttribute(Onnx.AttributeProto.newBuilder().setName("input_forget")
                        .setType(Onnx.AttributeProto.AttributeType.INT).setI(1));
            }
            if (cfg.type() == CellType.GRU) { // ONNX's default (0) is not PyTorch's form: always written
                n.addAttribute(Onnx.AttributeProto.newBuilder().setName("linear_before_reset")
                        .setType(Onnx.AttributeProto.AttributeType.INT).setI(v.resetBeforeProduct() ? 0 : 1));
            }
        }

        static Onnx.AttributeProto axis(long axis) {
            return Onnx.AttributeProto.newBuilder().setName("axis").setType(Onnx.AttributeProto.AttributeType.INT)
                    .setI(axis).build();
        }

        String node(String op, String output, List<String> inputs, Onnx.AttributeProto... attributes) {
            Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(op).setName(output + "_" + op);
            inputs.forEach(n::addInput);
            n.addOutput(output);
            for (Onnx.AttributeProto a : attributes) {
                n.addAttribute(a);
            }
            graph.addNode(n);
            return output;
        }

        void initializer(String name, long[] dims, float[] values) {
            ByteBuffer raw = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : values) {
                raw.putFloat(f);
            }
            Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name)
                    .setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(raw.array()));
            for (long dim : dims) {
                t.addDims(dim);
            }
            graph.addInitializer(t);
        }

        void constant(String name, long[] dims, long[] values) {
            ByteBuffer raw = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (long v : values) {
                raw.putLong(v);
            }
            Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name)
                    .setDataType(Onnx.TensorProto.DataType.INT64_VALUE).setRawData(ByteString.copyFrom(raw.array()));
            for (long dim : dims) {
                t.addDims(dim);
            }
            graph.addInitializer(t);
        }
    }

    /** For each ONNX gate block, the PyTorch block it comes from. */
    static int[] gateOrder(CellType type) {
        return switch (type) {
            case LSTM -> new int[] {0, 3, 1, 2}; // PyTorch i, f, g, o -> ONNX i, o, f, c
            case GRU -> new int[] {1, 0, 2}; // PyTorch r, z, n -> ONNX z, r, h
            case RNN_TANH, RNN_RELU -> new int[] {0};
        };
    }

    /** Copies the gate blocks ({@code h} rows of {@code cols} each) of {@code src} into {@code dst} in {@code order}. */
    static void reorder(float[] src, float[] dst, int dstOff, int[] order, int h, int cols) {
        int block = h * cols;
        for (int q = 0; q < order.length; q++) {
            System.arraycopy(src, order[q] * block, dst, dstOff + q * block, block);
        }
    }

    static String opType(CellType type) {
        return switch (type) {
            case LSTM -> "LSTM";
            case GRU -> "GRU";
            case RNN_TANH, RNN_RELU -> "RNN";
        };
    }

    static Onnx.AttributeProto ints(String name, long... values) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name)
                .setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    static Onnx.AttributeProto string(String name, String value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(value)).build();
    }

    static Onnx.ValueInfoProto value(String name, String... dims) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        for (String dim : dims) {
            Onnx.TensorShapeProto.Dimension.Builder b = Onnx.TensorShapeProto.Dimension.newBuilder();
            if (dim.chars().allMatch(Character::isDigit)) {
                b.setDimValue(Long.parseLong(dim));
            } else {
                b.setDimParam(dim);
            }
            shape.addDim(b);
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(Onnx.TensorProto.DataType.FLOAT_VALUE)
                        .setShape(shape))).build();
    }
}
