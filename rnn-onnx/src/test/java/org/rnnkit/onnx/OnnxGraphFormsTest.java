package org.rnnkit.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.io.Npy;
import org.rnnkit.onnx.proto.Onnx;
import org.rnnkit.tensor.Tensor;

/**
 * Forms of PyTorch's graph that the exporter writes in other situations than the bundled cases (no
 * initial state given: zeros made by {@code ConstantOfShape} from the input's {@code Shape}; a
 * {@code Reshape} whose target is computed by {@code Shape}/{@code Gather}/{@code Concat}; older opsets'
 * attribute axes; {@code Identity}), made from the bundled exports by editing their graphs. Each edited
 * graph computes the same function as the original given zero states or the same shapes, so the expected
 * values are the original model's own results on the same backend, and they must be equal bit for bit (the
 * same layer runs in both).
 */
class OnnxGraphFormsTest {
    private static final Backend SCALAR = Backends.named("scalar");

    private static Onnx.NodeProto.Builder node(String op, List<String> in, String out) {
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder().setOpType(op).setName("/edit/" + out).addOutput(out);
        in.forEach(n::addInput);
        return n;
    }

    private static Onnx.NodeProto.Builder int64s(String out, long... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return node("Constant", List.of(), out).addAttribute(Onnx.AttributeProto.newBuilder().setName("value")
                .setType(Onnx.AttributeProto.AttributeType.TENSOR).setT(Onnx.TensorProto.newBuilder().setDataType(7)
                        .addDims(values.length).setRawData(ByteString.copyFrom(b.array()))));
    }

    /** A rank-0 int64 constant, as PyTorch writes a Gather index. */
    private static Onnx.NodeProto.Builder int64Scalar(String out, long value) {
        Onnx.NodeProto.Builder n = int64s(out, value);
        n.getAttributeBuilder(0).getTBuilder().clearDims();
        return n;
    }

    private static Onnx.NodeProto.Builder zerosOfShape(String shape, String out, float value) {
        return node("ConstantOfShape", List.of(shape), out).addAttribute(Onnx.AttributeProto.newBuilder()
                .setName("value").setType(Onnx.AttributeProto.AttributeType.TENSOR).setT(Onnx.TensorProto.newBuilder()
                        .setDataType(1).addDims(1).addFloatData(value)));
    }

    private static Map<String, OnnxTensor> npyInputs(Path dir, OnnxModel m) throws IOException {
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        for (String name : m.inputNames()) {
            in.put(name, OnnxTensor.of(name, Npy.readFloat32(dir.resolve(name + ".npy"))));
        }
        return in;
    }

    /**
     * The export of an nn.LSTM(9, 8, batch_first=True) called without (h0, c0): PyTorch makes
     * zeros(1, batch, 8) from the input's batch size; the graph then has one input.
     */
    @Test
    void zeroInitialStatesFromConstantOfShape() throws IOException {
        Path dir = OnnxTestSupport.data().resolve("torch/008_onnx_lstm_bf_i9_h8_s6_b4");
        Onnx.ModelProto original = OnnxRefusalTest.model("torch/008_onnx_lstm_bf_i9_h8_s6_b4");
        Onnx.ModelProto.Builder m = original.toBuilder();
        Onnx.GraphProto.Builder g = m.getGraphBuilder();
        g.removeInput(2).removeInput(1); // h0, c0
        List<Onnx.NodeProto.Builder> zeros = List.of(node("Shape", List.of("input"), "shape"), int64Scalar("i0", 0),
                node("Gather", List.of("shape", "i0"), "batch").addAttribute(Onnx.AttributeProto.newBuilder()
                        .setName("axis").setType(Onnx.AttributeProto.AttributeType.INT).setI(0)),
                int64s("axes0", 0), node("Unsqueeze", List.of("batch", "axes0"), "batch1"), int64s("rows", 1),
                int64s("width", 8), node("Concat", List.of("rows", "batch1", "width"), "stateShape")
                        .addAttribute(Onnx.AttributeProto.newBuilder().setName("axis")
                                .setType(Onnx.AttributeProto.AttributeType.INT).setI(0)),
                zerosOfShape("stateShape", "zeros", 0f), node("Identity", List.of("zeros"), "zerosToo"));
        for (int i = 0; i < zeros.size(); i++) {
            g.addNode(i, zeros.get(i));
        }
        for (Onnx.NodeProto.Builder n : g.getNodeBuilderList()) {
            if (n.getOpType().equals("LSTM")) {
                n.setInput(5, "zeros").setInput(6, "zerosToo");
            }
        }
        OnnxModel edited = OnnxModel.read(m.build().toByteArray(), "edited.onnx");
        assertEquals(List.of("input"), edited.inputNames());
        OnnxModel plain = OnnxModel.read(original.toByteArray(), "original.onnx");
        Map<String, OnnxTensor> in = npyInputs(dir, plain);
        for (String s : List.of("h0", "c0")) {
            in.put(s, OnnxTensor.of(s, Tensor.zeros(in.get(s).shape())));
        }
        Map<String, OnnxTensor> expected = plain.bind(SCALAR).run(in);
        Map<String, OnnxTensor> got = edited.bind(SCALAR).run(Map.of("input", in.get("input")));
        assertEquals(expected, got);

        // the same graph with ones instead of zeros is not followed
        zeros.get(8).getAttributeBuilder(0).getTBuilder().setFloatData(0, 1f);
        g.setNode(8, zeros.get(8));
        OnnxFormatException e = org.junit.jupiter.api.Assertions.assertThrows(OnnxFormatException.class,
                () -> OnnxModel.read(m.build().toByteArray(), "ones.onnx"));
        assertTrue(e.getMessage().contains("(ConstantOfShape): attribute 'value': rnnkit follows a float zero state"
                + " only"), e.getMessage());
    }

    /**
     * The export of a bidirectional batch_first nn.GRU whose Reshape target is computed from the value's
     * Shape (time and batch kept, directions and hidden merged) instead of the constant [0, 0, -1].
     */
    @Test
    void reshapeTargetFromShapeGatherConcat() throws IOException {
        Path dir = OnnxTestSupport.data().resolve("torch/010_onnx_gru_bi_bf_i9_h3_s19_b1");
        Onnx.ModelProto original = OnnxRefusalTest.model("torch/010_onnx_gru_bi_bf_i9_h3_s19_b1");
        Onnx.ModelProto.Builder m = original.toBuilder();
        Onnx.GraphProto.Builder g = m.getGraphBuilder();
        int at = -1;
        for (int i = 0; i < g.getNodeCount(); i++) {
            if (g.getNode(i).getOpType().equals("Reshape")) {
                at = i;
            }
        }
        String y = g.getNode(at).getInput(0);
        g.getNodeBuilder(at).setInput(1, "target");
        List<Onnx.NodeProto.Builder> target = List.of(node("Shape", List.of(y), "yShape"), int64s("first2", 0, 1),
                node("Gather", List.of("yShape", "first2"), "timeBatch"), int64s("rest", -1),
                node("Concat", List.of("timeBatch", "rest"), "target").addAttribute(Onnx.AttributeProto.newBuilder()
                        .setName("axis").setType(Onnx.AttributeProto.AttributeType.INT).setI(0)));
        for (int i = 0; i < target.size(); i++) {
            g.addNode(at + i, target.get(i));
        }
        OnnxModel edited = OnnxModel.read(m.build().toByteArray(), "edited.onnx");
        OnnxModel plain = OnnxModel.read(original.toByteArray(), "original.onnx");
        Map<String, OnnxTensor> in = npyInputs(dir, plain);
        assertEquals(plain.bind(SCALAR).run(in), edited.bind(SCALAR).run(in));
        assertEquals(plain.bind(SCALAR).layer().config(), edited.bind(SCALAR).layer().config());
        assertFalse(edited.isSingleNode());
    }

    /** A stacked export with opset-11 Squeeze (axes as an attribute). */
    @Test
    void squeezeAxesAsAttribute() throws IOException {
        Path dir = OnnxTestSupport.data().resolve("torch/012_onnx_rnnrelu_l3_nobias_i4_h3_s16_b3");
        Onnx.ModelProto original = OnnxRefusalTest.model("torch/012_onnx_rnnrelu_l3_nobias_i4_h3_s16_b3");
        Onnx.ModelProto.Builder m = original.toBuilder();
        for (Onnx.NodeProto.Builder n : m.getGraphBuilder().getNodeBuilderList()) {
            if (n.getOpType().equals("Squeeze")) {
                String data = n.getInput(0);
                n.clearInput().addInput(data).addAttribute(Onnx.AttributeProto.newBuilder().setName("axes")
                        .setType(Onnx.AttributeProto.AttributeType.INTS).addInts(1));
            }
        }
        m.getOpsetImportBuilder(0).setVersion(11);
        OnnxModel edited = OnnxModel.read(m.build().toByteArray(), "edited.onnx");
        OnnxModel plain = OnnxModel.read(original.toByteArray(), "original.onnx");
        Map<String, OnnxTensor> in = npyInputs(dir, plain);
        assertEquals(plain.bind(SCALAR).run(in), edited.bind(SCALAR).run(in));
        assertEquals(3, edited.numLayers());
    }
}
