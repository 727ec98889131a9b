package org.rnnkit.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.rnnkit.backend.Backends;
import org.rnnkit.onnx.proto.Onnx;
import org.rnnkit.tensor.Tensor;

/**
 * What the reader refuses, each with the message that says so: real models from testdata/onnx edited
 * through the generated protobuf classes one fault at a time, so that each test shows the reader accepts
 * the file without the fault ({@link #acceptedUnedited}) and refuses it with.
 */
class OnnxRefusalTest {
    static final String LSTM_CLIP = "dialects/test_001_lstm_clip", TORCH_BI = "torch/007_onnx_lstm_l2_bi_i16_h16_s9_b1",
            TORCH_BF = "torch/008_onnx_lstm_bf_i9_h8_s6_b4";

    static Onnx.ModelProto model(String folder) throws IOException {
        return Onnx.ModelProto.parseFrom(Files.readAllBytes(OnnxTestSupport.data().resolve(folder).resolve("model.onnx")));
    }

    static byte[] edited(String folder, Consumer<Onnx.ModelProto.Builder> edit) throws IOException {
        Onnx.ModelProto.Builder b = model(folder).toBuilder();
        edit.accept(b);
        return b.build().toByteArray();
    }

    static String refused(byte[] bytes) {
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxModel.read(bytes, "m.onnx"));
        assertTrue(e.getMessage().startsWith("m.onnx: "), e.getMessage());
        return e.getMessage();
    }

    static void contains(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "expected '" + p + "' in: " + message);
        }
    }

    static Onnx.NodeProto.Builder node(Onnx.ModelProto.Builder m, String opType) {
        for (Onnx.NodeProto.Builder n : m.getGraphBuilder().getNodeBuilderList()) {
            if (n.getOpType().equals(opType)) {
                return n;
            }
        }
        throw new AssertionError("no " + opType + " node");
    }

    @Test
    void acceptedUnedited() throws IOException {
        for (String f : new String[] {LSTM_CLIP, TORCH_BI, TORCH_BF}) {
            OnnxModel.read(edited(f, m -> {}), "m.onnx");
        }
    }

    @Test
    void unsupportedOperatorsAreAllNamed() throws IOException {
        String msg = refused(edited(TORCH_BF, m -> {
            node(m, "Squeeze").setOpType("MatMul");
            m.getGraphBuilder().addNode(Onnx.NodeProto.newBuilder().setOpType("Foo").setDomain("com.example")
                    .addOutput("foo"));
        }));
        contains(msg, "unsupported operators 'MatMul', 'com.example.Foo'", "rnnkit reads LSTM, GRU and RNN nodes");
    }

    @Test
    void attributesOfTheWrongTypeOrUnknown() throws IOException {
        String msg = refused(edited(LSTM_CLIP, m -> {
            for (Onnx.AttributeProto.Builder a : node(m, "LSTM").getAttributeBuilderList()) {
                if (a.getName().equals("clip")) {
                    a.setType(Onnx.AttributeProto.AttributeType.INT).setI(1);
                }
            }
        }));
        contains(msg, "(LSTM): attribute 'clip': expected FLOAT, got INT");
        msg = refused(edited(LSTM_CLIP, m -> node(m, "LSTM").addAttribute(Onnx.AttributeProto.newBuilder()
                .setName("output_sequence").setType(Onnx.AttributeProto.AttributeType.INT).setI(1))));
        contains(msg, "unsupported attribute 'output_sequence'", "LSTM attributes rnnkit reads: activation_alpha");
        msg = refused(edited(LSTM_CLIP, m -> node(m, "LSTM").addAttribute(Onnx.AttributeProto.newBuilder()
                .setName("direction").setType(Onnx.AttributeProto.AttributeType.STRING)
                .setS(ByteString.copyFromUtf8("sideways")))));
        contains(msg, "attribute 'direction': expected forward, reverse or bidirectional, got 'sideways'");
        msg = refused(edited(LSTM_CLIP, m -> node(m, "LSTM").addAttribute(Onnx.AttributeProto.newBuilder()
                .setName("activations").setType(Onnx.AttributeProto.AttributeType.STRINGS)
                .addStrings(ByteString.copyFromUtf8("Sigmoid")).addStrings(ByteString.copyFromUtf8("Gelu"))
                .addStrings(ByteString.copyFromUtf8("Tanh")))));
        contains(msg, "attribute 'activations'", "'Gelu'");
        msg = refused(edited(LSTM_CLIP, m -> node(m, "LSTM").addAttribute(Onnx.AttributeProto.newBuilder()
                .setName("activations").setType(Onnx.AttributeProto.AttributeType.STRINGS)
                .addStrings(ByteString.copyFromUtf8("Sigmoid")).addStrings(ByteString.copyFromUtf8("Tanh"))
                .addStrings(ByteString.copyFromUtf8("Tanh"))).addAttribute(Onnx.AttributeProto.newBuilder()
                .setName("activation_alpha").setType(Onnx.AttributeProto.AttributeType.FLOATS).addFloats(0.5f))));
        contains(msg, "'activation_alpha'/'activation_beta': 1/0 values given, but the functions [Sigmoid, Tanh, Tanh] "
                + "take 0/0");
    }

    @Test
    void externalDataIsRefusedWithoutOpeningAnything() throws IOException {
        String msg = refused(edited(LSTM_CLIP, m -> {
            Onnx.TensorProto.Builder w = m.getGraphBuilder().getInitializerBuilder(0);
            w.clearRawData().setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("location").setValue("../../etc/passwd"));
        }));
        contains(msg, "initializer 'W'", "data_location=EXTERNAL", "no file outside the model is opened");
    }

    @Test
    void truncatedAndTrailingBytes() throws IOException {
        byte[] whole = edited(LSTM_CLIP, m -> {});
        contains(refused(Arrays.copyOf(whole, whole.length / 2)), "not a valid ONNX model");
        // a zero tag ends nothing in a top-level message: protobuf refuses it rather than ignore what follows
        byte[] trailing = Arrays.copyOf(whole, whole.length + 3);
        trailing[whole.length + 1] = 0x08;
        contains(refused(trailing), "not a valid ONNX model", "invalid tag (zero)");
        contains(refused(new byte[0]), "no graph");
    }

    @Test
    void tensorsWhoseDataDoesNotMatchTheirShapeOrType() throws IOException {
        contains(refused(edited(LSTM_CLIP, m -> {
            Onnx.TensorProto.Builder w = m.getGraphBuilder().getInitializerBuilder(0);
            w.setRawData(w.getRawData().substring(4));
        })), "initializer 'W': raw_data holds", "bytes, but shape");
        contains(refused(edited(LSTM_CLIP, m -> m.getGraphBuilder().getInitializerBuilder(0).setDims(0, -3))),
                "initializer 'W': dims[0]: expected >= 0, got -3");
        contains(refused(edited(LSTM_CLIP, m -> m.getGraphBuilder().getInitializerBuilder(0).setDims(0, 1L << 31)
                .setDims(1, 1L << 31))), "initializer 'W': dims", "hold more than 2^31-9 elements");
        contains(refused(edited(LSTM_CLIP, m -> m.getGraphBuilder().getInitializerBuilder(0).setDims(0, 1L << 40))),
                "hold more than 2^31-9 elements");
        contains(refused(edited(LSTM_CLIP, m -> m.getGraphBuilder().getInitializerBuilder(0).setDataType(11))),
                "initializer 'W': data_type: expected FLOAT (1), INT32 (6) or INT64 (7), got DOUBLE (11)");
        contains(refused(edited(LSTM_CLIP, m -> m.getGraphBuilder().getInitializerBuilder(0).setDataType(7))),
                "initializer 'W': raw_data holds"); // 8-byte elements: the same bytes do not fit the shape
        contains(refused(edited(LSTM_CLIP, m -> m.getGraphBuilder().getInitializerBuilder(0).addFloatData(1f))),
                "both in raw_data and in its typed field");
    }

    @Test
    void weightsOfTheWrongShape() throws IOException {
        contains(refused(edited(LSTM_CLIP, m -> {
            Onnx.TensorProto.Builder r = m.getGraphBuilder().getInitializerBuilder(1); // R (1, 4H, H)
            int h = (int) r.getDims(2);
            r.setDims(1, 3L * h).setRawData(r.getRawData().substring(0, 4 * 3 * h * h));
        })), "(LSTM): R: expected shape (1, 8, 2) (1 direction, 4 gates of hidden_size 2)");
    }

    @Test
    void graphsThatAreNotOneLayer() throws IOException {
        // an intermediate value as a graph output: not something PyTorch's layer returns
        contains(refused(edited(TORCH_BI, m -> m.getGraphBuilder().addOutput(Onnx.ValueInfoProto.newBuilder()
                .setName("/Reshape_output_0")))), "graph output '/Reshape_output_0': expected the last layer's output");
        // Y's axes not transposed before merging: the directions would interleave with the batch
        contains(refused(edited(TORCH_BI, m -> {
            for (Onnx.NodeProto.Builder n : m.getGraphBuilder().getNodeBuilderList()) {
                if (n.getOpType().equals("Transpose")) {
                    n.getAttributeBuilder(0).clearInts().addAllInts(java.util.List.of(0L, 1L, 2L, 3L));
                }
            }
        })), "(Reshape): merges", "rnnkit follows the merging of a layer's directions and hidden axes");
        // layer 1 reading layer 0's h0 rows
        contains(refused(edited(TORCH_BI, m -> {
            for (Onnx.NodeProto.Builder n : m.getGraphBuilder().getNodeBuilderList()) {
                if (n.getName().equals("/Slice_2")) {
                    n.setInput(1, "/Constant_1_output_0").setInput(2, "/Constant_2_output_0");
                }
            }
        })), "initial_h: expected rows 2..3 of a graph input (PyTorch's h0/c0 of layer 1)");
        // a node only the first layer's checks would catch, in the second
        contains(refused(edited(TORCH_BI, m -> {
            for (Onnx.NodeProto.Builder n : m.getGraphBuilder().getNodeBuilderList()) {
                if (n.getName().equals("/LSTM_1")) {
                    n.addAttribute(Onnx.AttributeProto.newBuilder().setName("clip")
                            .setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(3f));
                }
            }
        })), "differs from the first layer in its cell variant");
        // a node in a custom domain, even with a known name
        contains(refused(edited(TORCH_BF, m -> node(m, "Transpose").setDomain("com.example"))),
                "unsupported operator 'com.example.Transpose'");
        // no recurrent node at all
        contains(refused(edited(TORCH_BF, m -> node(m, "LSTM").setOpType("Identity").clearAttribute())),
                "no LSTM, GRU or RNN node");
    }

    @Test
    void lengthsOfZeroAndWrongInputsAtRunTime() throws IOException {
        Path dir = OnnxTestSupport.data().resolve("node/test_simple_rnn_defaults");
        OnnxModel model = OnnxModel.read(dir.resolve("model.onnx"));
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        for (int k = 0; k < model.inputNames().size(); k++) {
            in.put(model.inputNames().get(k), OnnxTensor.read(dir.resolve("test_data_set_0/input_" + k + ".pb")));
        }
        IllegalStateException noWeights = assertThrows(IllegalStateException.class, () -> model.bind(Backends.named("scalar")));
        contains(noWeights.getMessage(), "weights [W, R] are graph inputs");
        OnnxLayer bound = model.bind(in, Backends.named("scalar"));
        Map<String, OnnxTensor> missing = new LinkedHashMap<>(in);
        missing.remove("X");
        contains(assertThrows(IllegalArgumentException.class, () -> bound.run(missing)).getMessage(),
                "graph input 'X' is required, not given");
        Map<String, OnnxTensor> wrong = new LinkedHashMap<>(in);
        wrong.put("X", OnnxTensor.of("X", Tensor.zeros(2, 2, 5)));
        contains(assertThrows(IllegalArgumentException.class, () -> bound.run(wrong)).getMessage(),
                "'X': expected (sequence, batch, 2), got (2, 2, 5)");
        contains(assertThrows(IllegalArgumentException.class, () -> model.bind(Map.of("nope",
                OnnxTensor.of("nope", Tensor.zeros(1))), Backends.named("scalar"))).getMessage(),
                "'nope' is not a graph input");

        // sequence_lens of 0: ONNX allows it, rnnkit refuses it with a clear message
        Path lens = OnnxTestSupport.data().resolve("dialects/test_010_rnn_relu_lens_reverse");
        OnnxModel m2 = OnnxModel.read(lens.resolve("model.onnx"));
        Map<String, OnnxTensor> in2 = new LinkedHashMap<>();
        for (int k = 0; k < m2.inputNames().size(); k++) {
            in2.put(m2.inputNames().get(k), OnnxTensor.read(lens.resolve("test_data_set_0/input_" + k + ".pb")));
        }
        OnnxTensor l = in2.get("sequence_lens");
        long[] zero = l.toLongs();
        zero[0] = 0;
        in2.put("sequence_lens", OnnxTensor.ofIntegers("sequence_lens", l.dataType(), zero, l.shape()));
        OnnxLayer b2 = m2.bind(Backends.named("scalar"));
        contains(assertThrows(IllegalArgumentException.class, () -> b2.run(in2)).getMessage(),
                "'sequence_lens'[0] (sequence_lens): expected 1..", "got 0 (rnnkit runs every row at least one step)");
    }

    @Test
    void tensorFiles() throws IOException {
        Path pb = OnnxTestSupport.data().resolve("node/test_lstm_defaults/test_data_set_0/input_0.pb");
        byte[] bytes = Files.readAllBytes(pb);
        OnnxTensor t = OnnxTensor.read(bytes, "x.pb");
        assertEquals("X", t.name());
        assertEquals(t, OnnxTensor.read(t.toBytes(), "again"));
        OnnxFormatException e = assertThrows(OnnxFormatException.class,
                () -> OnnxTensor.read(Arrays.copyOf(bytes, bytes.length - 5), "x.pb"));
        contains(e.getMessage(), "x.pb: ");
        contains(assertThrows(IllegalStateException.class, () -> OnnxTensor.ofIntegers("n",
                OnnxTensor.DataType.INT64, new long[] {1}, 1).toTensor()).getMessage(), "expected FLOAT, got INT64");
    }
}
