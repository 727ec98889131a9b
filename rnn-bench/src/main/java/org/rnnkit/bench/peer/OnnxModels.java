package org.rnnkit.bench.peer;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.ParameterLayout;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.tensor.Tensor;

/**
 * Builds the ONNX model of an rnnkit layer from its own weights, at set-up time, so ONNX Runtime runs
 * the same function: one ONNX {@code LSTM}/{@code GRU}/{@code RNN} node per layer (PyTorch's gate order
 * converted to ONNX's; GRU with {@code linear_before_reset=1}, which is PyTorch's {@code b_hn} inside
 * {@code r*(...)}), and between layers a Transpose + Reshape from {@code [T, D, B, H]} to {@code [T, B, D*H]}.
 * Input {@code X} is {@code [T, B, I]} (sequence first), zero initial state; output {@code Y} is
 * {@code [T, B, D*H]}.
 *
 * <p>Thread safety: stateless.
 */
public final class OnnxModels {
    private OnnxModels() {}

    /** The serialized model (ir_version 7, opset 14). Projection ({@code proj_size}) has no ONNX form. */
    public static byte[] build(RecurrentConfig cfg, Map<String, Tensor> stateDict) {
        if (cfg.projSize() > 0 || cfg.batchFirst()) {
            throw new IllegalArgumentException("ONNX peer: proj_size and batch_first have no one-node ONNX form");
        }
        int h = cfg.hiddenSize(), d = cfg.directions(), g = cfg.type().gates();
        int[] order = switch (cfg.type()) {
            case LSTM -> new int[] {0, 3, 1, 2}; // PyTorch i,f,g,o -> ONNX i,o,f,c
            case GRU -> new int[] {1, 0, 2}; // PyTorch r,z,n -> ONNX z,r,h
            default -> new int[] {0};
        };
        GraphProto.Builder graph = GraphProto.newBuilder().setName("rnnkit");
        graph.addInput(value("X", "seq", "batch", Integer.toString(cfg.inputSize())));
        graph.addOutput(value("Y", "seq", "batch", Integer.toString(d * h)));
        graph.addInitializer(tensor("reshape_to_TBF", new long[] {3}, null, new long[] {0, 0, -1}));
        String in = "X";
        for (int k = 0; k < cfg.numLayers(); k++) {
            int inW = cfg.layerInputSize(k);
            float[] w = new float[d * g * h * inW], r = new float[d * g * h * h], b = new float[d * 2 * g * h];
            for (int dir = 0; dir < d; dir++) {
                String s = ParameterLayout.suffix(k, dir);
                reorder(stateDict.get("weight_ih" + s).data(), w, dir * g * h * inW, order, h, inW);
                reorder(stateDict.get("weight_hh" + s).data(), r, dir * g * h * h, order, h, h);
                if (cfg.bias()) {
                    reorder(stateDict.get("bias_ih" + s).data(), b, dir * 2 * g * h, order, h, 1);
                    reorder(stateDict.get("bias_hh" + s).data(), b, dir * 2 * g * h + g * h, order, h, 1);
                }
            }
            String sfx = Integer.toString(k);
            graph.addInitializer(tensor("W" + sfx, new long[] {d, g * h, inW}, w, null));
            graph.addInitializer(tensor("R" + sfx, new long[] {d, g * h, h}, r, null));
            graph.addInitializer(tensor("B" + sfx, new long[] {d, 2L * g * h}, b, null));
            NodeProto.Builder node = NodeProto.newBuilder().setOpType(opType(cfg.type())).setName("rnn" + sfx)
                    .addInput(in).addInput("W" + sfx).addInput("R" + sfx).addInput("B" + sfx).addOutput("Yraw" + sfx)
                    .addAttribute(AttributeProto.newBuilder().setName("hidden_size").setType(AttributeProto.AttributeType.INT).setI(h))
                    .addAttribute(AttributeProto.newBuilder().setName("direction").setType(AttributeProto.AttributeType.STRING)
                            .setS(ByteString.copyFromUtf8(d == 2 ? "bidirectional" : "forward")));
            if (cfg.type() == CellType.GRU) {
                node.addAttribute(AttributeProto.newBuilder().setName("linear_before_reset")
                        .setType(AttributeProto.AttributeType.INT).setI(1));
            }
            if (cfg.type() == CellType.RNN_RELU || cfg.type() == CellType.RNN_TANH) {
                node.addAttribute(AttributeProto.newBuilder().setName("activations")
                        .setType(AttributeProto.AttributeType.STRINGS)
                        .addStrings(ByteString.copyFromUtf8(cfg.type() == CellType.RNN_RELU ? "Relu" : "Tanh")));
            }
            graph.addNode(node);
            // [T, D, B, H] -> [T, B, D, H] -> [T, B, D*H]
            graph.addNode(NodeProto.newBuilder().setOpType("Transpose").setName("transpose" + sfx)
                    .addInput("Yraw" + sfx).addOutput("Yt" + sfx)
                    .addAttribute(AttributeProto.newBuilder().setName("perm").setType(AttributeProto.AttributeType.INTS)
                            .addInts(0).addInts(2).addInts(1).addInts(3)));
            String out = k == cfg.numLayers() - 1 ? "Y" : "X" + (k + 1);
            graph.addNode(NodeProto.newBuilder().setOpType("Reshape").setName("reshape" + sfx)
                    .addInput("Yt" + sfx).addInput("reshape_to_TBF").addOutput(out));
            in = out;
        }
        return ModelProto.newBuilder().setIrVersion(7).setProducerName("rnnkit-bench")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(14))
                .setGraph(graph).build().toByteArray();
    }

    private static String opType(CellType t) {
        return switch (t) {
            case LSTM -> "LSTM";
            case GRU -> "GRU";
            case RNN_TANH, RNN_RELU -> "RNN";
        };
    }

    /** Copies gate blocks of {@code rows = G*h} rows of {@code cols} floats in ONNX's block order. */
    private static void reorder(float[] src, float[] dst, int dstOff, int[] order, int h, int cols) {
        for (int block = 0; block < order.length; block++) {
            System.arraycopy(src, order[block] * h * cols, dst, dstOff + block * h * cols, h * cols);
        }
    }

    private static TensorProto tensor(String name, long[] dims, float[] f, long[] longs) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name);
        for (long dim : dims) {
            t.addDims(dim);
        }
        if (f != null) {
            ByteBuffer buf = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            buf.asFloatBuffer().put(f);
            t.setDataType(TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(buf.array()));
        } else {
            ByteBuffer buf = ByteBuffer.allocate(longs.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            buf.asLongBuffer().put(longs);
            t.setDataType(TensorProto.DataType.INT64_VALUE).setRawData(ByteString.copyFrom(buf.array()));
        }
        return t.build();
    }

    private static ValueInfoProto value(String name, String... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (String dim : dims) {
            if (dim.chars().allMatch(Character::isDigit)) {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(Long.parseLong(dim)));
            } else {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(dim));
            }
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }
}
