package org.rnnkit.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.onnx.proto.Onnx;
import org.rnnkit.tensor.Tensor;

/**
 * Seeded mutation fuzzing of {@link OnnxModel#read(byte[], String)} and {@link OnnxTensor#read(byte[],
 * String)}, from the real models and tensor files of testdata/onnx.
 *
 * <p>Every input must either be read into a consistent result or be refused with an
 * {@link OnnxFormatException} whose message starts with the source name. Any other exception or error,
 * {@link OutOfMemoryError} included, fails the test with the seed, the iteration and the input's first
 * bytes. A consistent tensor holds exactly as many values as its shape says and reads back equal from
 * {@link OnnxTensor#toBytes()}. A consistent model names its outputs, and one of every few accepted models
 * whose weights are in the file is also bound on the scalar backend and run on small inputs, which must
 * give every declared output.
 *
 * <p>Mutations: byte-level (bit flips, interesting bytes, truncation, insertion, deletion, splicing two
 * files, a varint made huge) and structural, through the generated classes (dimensions set to -1, 0, 2^31,
 * 2^62; data types changed; raw_data cut or grown; attribute types and values changed; operators renamed;
 * inputs and outputs renamed, dropped or duplicated; nodes dropped or repeated; external data declared;
 * constants and the opset changed), so that inputs reach the checks beyond protobuf's own.
 *
 * <p>Each iteration draws from its own generator seeded by (seed, iteration): one failing input replays
 * with {@code -Drnnkit.tests.seed=S -Drnnkit.tests.fuzz.iteration=I}. Knobs: {@code rnnkit.tests.fuzz}
 * (inputs per run, default 100000), {@code rnnkit.tests.seed}.
 */
class OnnxFuzzTest {
    static final long DEFAULT_SEED = 0x0_0881_ced5_0240L;

    private static final byte[] INTERESTING_BYTES = {0x00, (byte) 0xff, 0x7f, (byte) 0x80, 0x01, 0x08, 0x0a, 0x12,
        0x1a, 0x22, 0x3a, 0x42, 0x48, 0x52, (byte) 0xfe};
    private static final long[] INTERESTING_LONGS = {-1, 0, 1, 2, 3, 7, 255, 65536, 1L << 31, (1L << 31) - 1,
        (1L << 32) + 1, 1L << 62, Long.MAX_VALUE, Long.MIN_VALUE, -2};
    private static final String[] OPS = {"LSTM", "GRU", "RNN", "Transpose", "Reshape", "Squeeze", "Unsqueeze", "Slice",
        "Concat", "Constant", "Shape", "Gather", "ConstantOfShape", "Identity", "MatMul", ""};
    private static final String[] ATTRS = {"hidden_size", "direction", "layout", "clip", "activations",
        "activation_alpha", "activation_beta", "input_forget", "linear_before_reset", "perm", "axis", "axes",
        "allowzero", "value", "starts", "foo"};
    private static final String[] STRINGS = {"forward", "reverse", "bidirectional", "Tanh", "Relu", "Sigmoid",
        "HardSigmoid", "LeakyRelu", "", "X", "W", "Y", "input", "h0", "\u0000\u001b[31m"};

    private final Map<String, int[]> counts = new LinkedHashMap<>(); // kind -> {accepted, rejected}
    private Backend scalar;

    @Test
    void mutatedFilesAreReadConsistentlyOrRefused() throws IOException {
        long seed = Long.getLong("rnnkit.tests.seed", DEFAULT_SEED);
        int total = Integer.getInteger("rnnkit.tests.fuzz", 100_000);
        Integer only = Integer.getInteger("rnnkit.tests.fuzz.iteration");
        System.out.println("OnnxFuzzTest: seed " + seed + ", " + total + " inputs (reproduce with -Drnnkit.tests.seed="
                + seed + ")");
        scalar = Backends.named("scalar");
        List<byte[]> modelBytes = new ArrayList<>(), tensorBytes = new ArrayList<>();
        List<Onnx.ModelProto> models = new ArrayList<>();
        List<Onnx.TensorProto> tensors = new ArrayList<>();
        try (Stream<Path> files = Files.walk(OnnxTestSupport.data())) {
            for (Path p : files.sorted().toList()) {
                String n = p.getFileName().toString();
                if (n.equals("model.onnx")) {
                    modelBytes.add(Files.readAllBytes(p));
                    models.add(Onnx.ModelProto.parseFrom(modelBytes.getLast()));
                } else if (n.endsWith(".pb")) {
                    tensorBytes.add(Files.readAllBytes(p));
                    tensors.add(Onnx.TensorProto.parseFrom(tensorBytes.getLast()));
                }
            }
        }
        assertEquals(40, models.size(), "models in testdata/onnx");
        assertTrue(tensors.size() > 100, "tensor files in testdata/onnx: " + tensors.size());

        long start = System.nanoTime();
        for (int i = only == null ? 0 : only; i < (only == null ? total : only + 1); i++) {
            SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + i);
            boolean model = r.nextInt(4) != 0;
            byte[] input = null;
            try {
                if (model) {
                    int k = r.nextInt(models.size());
                    input = r.nextInt(5) < 2 ? bytes(r, modelBytes.get(k), modelBytes)
                            : structural(r, models.get(k).toBuilder()).build().toByteArray();
                    checkModel(input, i);
                } else {
                    int k = r.nextInt(tensors.size());
                    input = r.nextBoolean() ? bytes(r, tensorBytes.get(k), tensorBytes)
                            : tensor(r, tensors.get(k).toBuilder()).build().toByteArray();
                    checkTensor(input);
                }
            } catch (Throwable t) {
                String hex = input == null ? "(not built)" : HexFormat.of().formatHex(input, 0, Math.min(input.length, 256));
                fail("OnnxFuzzTest failed: seed " + seed + ", iteration " + i + " (" + (model ? "model" : "tensor")
                        + ", " + (input == null ? "?" : input.length) + " bytes, first 256 in hex: " + hex + "): " + t, t);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        StringBuilder sb = new StringBuilder("OnnxFuzzTest: ");
        counts.forEach((k, v) -> sb.append(k).append(" accepted ").append(v[0]).append(", refused ").append(v[1])
                .append("; "));
        System.out.printf("%s%.1f s%n", sb, seconds);
        if (only == null && total >= 2000) {
            // a fuzzer whose inputs are all refused at the first check tests nothing, and one that refuses
            // nothing mutates nothing that matters
            for (String k : List.of("model", "tensor", "model bound")) {
                int[] c = counts.getOrDefault(k, new int[2]);
                assertTrue(c[0] > total / 500 && (k.equals("model bound") || c[1] > total / 500),
                        k + " accepted/refused too lopsided: " + c[0] + "/" + c[1]);
            }
        }
    }

    private void count(String kind, boolean accepted) {
        counts.computeIfAbsent(kind, k -> new int[2])[accepted ? 0 : 1]++;
    }

    // ------------------------------------------------------------------------------------------------ oracles

    private void checkModel(byte[] input, int iteration) {
        OnnxModel m;
        try {
            m = OnnxModel.read(input, "fuzz");
        } catch (OnnxFormatException e) {
            assertTrue(e.getMessage().startsWith("fuzz: "), e.getMessage());
            count("model", false);
            return;
        }
        count("model", true);
        assertTrue(!m.outputNames().isEmpty() && m.numLayers() >= 1 && !m.toString().isEmpty());
        if (!m.weightInputs().isEmpty() || iteration % 8 != 0) {
            return;
        }
        OnnxLayer bound = m.bind(scalar); // the reference runs every cell variant
        count("model bound", true);
        Plan p = m.plan();
        List<String> roles = new ArrayList<>(java.util.Arrays.asList(p.x(), p.lengths(), p.h0(), p.c0()));
        roles.removeIf(java.util.Objects::isNull);
        if (roles.size() != new java.util.HashSet<>(roles).size()) {
            return; // one graph input in two roles (X and a state): valid ONNX, but no one input fits both
        }
        boolean constants = roles.stream().anyMatch(name -> m.graph().input(name) == null);
        Map<String, OnnxTensor> out;
        try {
            out = bound.run(smallInputs(m, bound));
        } catch (IllegalArgumentException e) {
            // lengths or states that are constants in the file may fit no input at all (a constant's batch,
            // a length of 0): then run refuses them, naming the input; with every role a graph input it must run
            assertTrue(constants, e.toString());
            return;
        }
        assertEquals(m.outputNames(), new ArrayList<>(out.keySet()));
    }

    /** Inputs of the shapes the bound layer takes: 3 steps, 2 rows, lengths 3 and 1, states of 0.5. */
    private static Map<String, OnnxTensor> smallInputs(OnnxModel m, OnnxLayer bound) {
        Plan p = m.plan();
        var cfg = bound.layer().config();
        int t = 3, b = 2;
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        Tensor x = Tensor.zeros(cfg.batchFirst() ? new int[] {b, t, cfg.inputSize()} : new int[] {t, b, cfg.inputSize()});
        java.util.Arrays.fill(x.data(), 0.25f);
        in.put(p.x(), OnnxTensor.of(p.x(), x));
        if (p.lengths() != null && m.graph().input(p.lengths()) != null) {
            in.put(p.lengths(), OnnxTensor.ofIntegers(p.lengths(), OnnxTensor.DataType.INT32, new long[] {3, 1}, 2));
        }
        boolean batchMajor = p.singleNode() && cfg.batchFirst();
        for (String s : new String[] {p.h0(), p.c0()}) {
            if (s != null && m.graph().input(s) != null) {
                Tensor st = Tensor.zeros(batchMajor ? new int[] {b, cfg.stateCount(), cfg.hiddenSize()}
                        : new int[] {cfg.stateCount(), b, cfg.hiddenSize()});
                java.util.Arrays.fill(st.data(), 0.5f);
                in.put(s, OnnxTensor.of(s, st));
            }
        }
        return in;
    }

    private void checkTensor(byte[] input) throws OnnxFormatException {
        OnnxTensor t;
        try {
            t = OnnxTensor.read(input, "fuzz");
        } catch (OnnxFormatException e) {
            assertTrue(e.getMessage().startsWith("fuzz: "), e.getMessage());
            count("tensor", false);
            return;
        }
        count("tensor", true);
        assertEquals(Tensor.checkedSize("shape", t.shape()), t.size());
        assertEquals(t, OnnxTensor.read(t.toBytes(), "again"));
    }

    // ------------------------------------------------------------------------------------- byte mutations

    private static byte[] bytes(SplittableRandom r, byte[] src, List<byte[]> corpus) {
        byte[] f = src.clone();
        int rounds = 1 + r.nextInt(3);
        for (int k = 0; k < rounds; k++) {
            f = switch (r.nextInt(7)) {
                case 0 -> {
                    for (int n = 1 + r.nextInt(4); n > 0 && f.length > 0; n--) {
                        f[r.nextInt(f.length)] ^= (byte) (1 << r.nextInt(8));
                    }
                    yield f;
                }
                case 1 -> {
                    for (int n = 1 + r.nextInt(4); n > 0 && f.length > 0; n--) {
                        f[r.nextInt(f.length)] = INTERESTING_BYTES[r.nextInt(INTERESTING_BYTES.length)];
                    }
                    yield f;
                }
                case 2 -> java.util.Arrays.copyOf(f, f.length == 0 ? 0 : r.nextInt(f.length));
                case 3 -> {
                    int at = r.nextInt(f.length + 1);
                    byte[] ins = new byte[1 + r.nextInt(16)];
                    for (int i = 0; i < ins.length; i++) {
                        ins[i] = r.nextBoolean() ? (byte) r.nextInt() : INTERESTING_BYTES[r.nextInt(INTERESTING_BYTES.length)];
                    }
                    yield splice(f, at, at, ins);
                }
                case 4 -> {
                    int a = f.length == 0 ? 0 : r.nextInt(f.length);
                    yield splice(f, a, Math.min(f.length, a + 1 + r.nextInt(16)), new byte[0]);
                }
                case 5 -> {
                    byte[] g = corpus.get(r.nextInt(corpus.size()));
                    int a = r.nextInt(f.length + 1), b = r.nextInt(g.length + 1);
                    yield splice(f, a, f.length, java.util.Arrays.copyOfRange(g, b, g.length));
                }
                default -> {
                    // a length or value varint made huge: ten bytes of the largest varint where one was
                    int at = f.length == 0 ? 0 : r.nextInt(f.length);
                    byte[] huge = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                        (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01};
                    yield splice(f, at, Math.min(f.length, at + 1), java.util.Arrays.copyOf(huge, 1 + r.nextInt(10)));
                }
            };
        }
        return f;
    }

    private static byte[] splice(byte[] f, int from, int to, byte[] ins) {
        byte[] out = new byte[f.length - (to - from) + ins.length];
        System.arraycopy(f, 0, out, 0, from);
        System.arraycopy(ins, 0, out, from, ins.length);
        System.arraycopy(f, to, out, from + ins.length, f.length - to);
        return out;
    }

    // ------------------------------------------------------------------------------- structural mutations

    private static long interesting(SplittableRandom r, long near) {
        return r.nextInt(3) == 0 ? near + r.nextInt(5) - 2 : INTERESTING_LONGS[r.nextInt(INTERESTING_LONGS.length)];
    }

    private static Onnx.TensorProto.Builder tensor(SplittableRandom r, Onnx.TensorProto.Builder t) {
        switch (r.nextInt(9)) {
            case 0 -> {
                if (t.getDimsCount() > 0) {
                    int d = r.nextInt(t.getDimsCount());
                    t.setDims(d, interesting(r, t.getDims(d)));
                }
            }
            case 1 -> t.addDims(interesting(r, 1));
            case 2 -> t.clearDims();
            case 3 -> t.setDataType(List.of(0, 1, 2, 6, 7, 10, 11, 16, 99, -1).get(r.nextInt(10)));
            case 4 -> {
                ByteString raw = t.getRawData();
                int cut = raw.isEmpty() ? 0 : r.nextInt(raw.size());
                t.setRawData(r.nextBoolean() ? raw.substring(0, cut) : raw.concat(ByteString.copyFrom(new byte[1 + r.nextInt(9)])));
            }
            case 5 -> {
                ByteString raw = t.getRawData();
                for (int i = 0; i + 4 <= raw.size() && i < 64; i += 4) {
                    t.addFloatData(Float.intBitsToFloat(r.nextInt()));
                }
                if (r.nextBoolean()) {
                    t.clearRawData();
                }
            }
            case 6 -> t.setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("location").setValue("w.bin"));
            case 7 -> t.addInt64Data(interesting(r, 0)).setDataType(7).clearRawData();
            default -> {
                byte[] raw = t.getRawData().toByteArray();
                for (int i = 0; i < raw.length; i++) {
                    if (r.nextInt(3) == 0) {
                        raw[i] = (byte) r.nextInt(); // values only (NaN payloads too): still well-formed
                    }
                }
                t.setRawData(ByteString.copyFrom(raw));
            }
        }
        return t;
    }

    private static Onnx.ModelProto.Builder structural(SplittableRandom r, Onnx.ModelProto.Builder m) {
        Onnx.GraphProto.Builder g = m.getGraphBuilder();
        int rounds = 1 + r.nextInt(2);
        for (int k = 0; k < rounds; k++) {
            int nodes = g.getNodeCount();
            switch (r.nextInt(12)) {
                case 0, 1 -> { // an initializer, or a Constant's tensor
                    if (g.getInitializerCount() > 0 && r.nextBoolean()) {
                        int i = r.nextInt(g.getInitializerCount());
                        g.setInitializer(i, tensor(r, g.getInitializerBuilder(i)));
                    } else if (nodes > 0) {
                        Onnx.NodeProto.Builder n = g.getNodeBuilder(r.nextInt(nodes));
                        for (Onnx.AttributeProto.Builder a : n.getAttributeBuilderList()) {
                            if (a.hasT()) {
                                a.setT(tensor(r, a.getTBuilder()));
                            }
                        }
                    }
                }
                case 2 -> { // an attribute's value
                    if (nodes > 0) {
                        Onnx.NodeProto.Builder n = g.getNodeBuilder(r.nextInt(nodes));
                        if (n.getAttributeCount() > 0) {
                            Onnx.AttributeProto.Builder a = n.getAttributeBuilder(r.nextInt(n.getAttributeCount()));
                            switch (a.getType()) {
                                case INT -> a.setI(interesting(r, a.getI()));
                                case FLOAT -> a.setF(List.of(0f, -1f, Float.NaN, Float.POSITIVE_INFINITY, 1e-30f, 3f)
                                        .get(r.nextInt(6)));
                                case STRING -> a.setS(ByteString.copyFromUtf8(STRINGS[r.nextInt(STRINGS.length)]));
                                case INTS -> {
                                    if (a.getIntsCount() > 0) {
                                        a.setInts(r.nextInt(a.getIntsCount()), interesting(r, 1));
                                    } else {
                                        a.addInts(interesting(r, 0));
                                    }
                                }
                                case STRINGS -> a.addStrings(ByteString.copyFromUtf8(STRINGS[r.nextInt(STRINGS.length)]));
                                case FLOATS -> a.addFloats(r.nextFloat());
                                default -> a.setType(Onnx.AttributeProto.AttributeType.GRAPH);
                            }
                        }
                    }
                }
                case 3 -> { // an attribute's type, or a new attribute
                    if (nodes > 0) {
                        Onnx.NodeProto.Builder n = g.getNodeBuilder(r.nextInt(nodes));
                        Onnx.AttributeProto.AttributeType[] types = Onnx.AttributeProto.AttributeType.values();
                        Onnx.AttributeProto.AttributeType type = types[r.nextInt(types.length - 1)];
                        if (n.getAttributeCount() > 0 && r.nextBoolean()) {
                            n.getAttributeBuilder(r.nextInt(n.getAttributeCount())).setType(type);
                        } else {
                            n.addAttribute(Onnx.AttributeProto.newBuilder().setName(ATTRS[r.nextInt(ATTRS.length)])
                                    .setType(type).setI(interesting(r, 1)).setF(0.5f)
                                    .setS(ByteString.copyFromUtf8(STRINGS[r.nextInt(STRINGS.length)]))
                                    .addInts(interesting(r, 0)).addStrings(ByteString.copyFromUtf8("Tanh")));
                        }
                    }
                }
                case 4 -> { // an operator's name
                    if (nodes > 0) {
                        g.getNodeBuilder(r.nextInt(nodes)).setOpType(OPS[r.nextInt(OPS.length)]);
                    }
                }
                case 5 -> { // a node input renamed, blanked or added
                    if (nodes > 0) {
                        Onnx.NodeProto.Builder n = g.getNodeBuilder(r.nextInt(nodes));
                        String other = anyName(r, g);
                        if (n.getInputCount() > 0 && r.nextInt(3) > 0) {
                            n.setInput(r.nextInt(n.getInputCount()), r.nextInt(4) == 0 ? "" : other);
                        } else {
                            n.addInput(other);
                        }
                    }
                }
                case 6 -> { // a node output renamed or blanked
                    if (nodes > 0) {
                        Onnx.NodeProto.Builder n = g.getNodeBuilder(r.nextInt(nodes));
                        if (n.getOutputCount() > 0) {
                            n.setOutput(r.nextInt(n.getOutputCount()), r.nextInt(3) == 0 ? "" : anyName(r, g));
                        }
                    }
                }
                case 7 -> { // a node dropped or repeated
                    if (nodes > 0) {
                        int i = r.nextInt(nodes);
                        if (r.nextBoolean()) {
                            g.removeNode(i);
                        } else {
                            g.addNode(g.getNode(i));
                        }
                    }
                }
                case 8 -> { // graph outputs: one dropped, renamed or added
                    int outs = g.getOutputCount();
                    if (outs > 0 && r.nextBoolean()) {
                        g.removeOutput(r.nextInt(outs));
                    } else if (outs > 0 && r.nextBoolean()) {
                        g.getOutputBuilder(r.nextInt(outs)).setName(anyName(r, g));
                    } else {
                        g.addOutput(Onnx.ValueInfoProto.newBuilder().setName(anyName(r, g)));
                    }
                }
                case 9 -> { // graph inputs: declared dims or type changed, or one dropped
                    int ins = g.getInputCount();
                    if (ins > 0) {
                        Onnx.ValueInfoProto.Builder v = g.getInputBuilder(r.nextInt(ins));
                        var tt = v.getTypeBuilder().getTensorTypeBuilder();
                        switch (r.nextInt(4)) {
                            case 0 -> tt.setElemType(List.of(1, 6, 7, 11, 0).get(r.nextInt(5)));
                            case 1 -> {
                                if (tt.getShape().getDimCount() > 0) {
                                    tt.getShapeBuilder().getDimBuilder(r.nextInt(tt.getShape().getDimCount()))
                                            .setDimValue(interesting(r, 2));
                                }
                            }
                            case 2 -> tt.getShapeBuilder().addDim(Onnx.TensorShapeProto.Dimension.newBuilder()
                                    .setDimParam("batch"));
                            default -> g.removeInput(r.nextInt(ins));
                        }
                    }
                }
                case 10 -> { // the opset
                    if (m.getOpsetImportCount() > 0) {
                        m.getOpsetImportBuilder(0).setVersion(List.of(1L, 6L, 7L, 9L, 11L, 13L, 99L, -1L).get(r.nextInt(8)));
                    } else {
                        m.addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(17));
                    }
                }
                default -> { // a Constant/initializer's int64 values, or a new initializer shadowing a name
                    if (r.nextBoolean()) {
                        g.addInitializer(Onnx.TensorProto.newBuilder().setName(anyName(r, g)).setDataType(7)
                                .addDims(1).addInt64Data(interesting(r, 0)));
                    } else if (nodes > 0) {
                        Onnx.NodeProto.Builder n = g.getNodeBuilder(r.nextInt(nodes));
                        for (Onnx.AttributeProto.Builder a : n.getAttributeBuilderList()) {
                            if (a.hasT() && a.getT().getDataType() == 7) {
                                Onnx.TensorProto.Builder t = a.getTBuilder();
                                int count = t.getRawData().size() / 8;
                                long[] v = new long[count];
                                java.nio.ByteBuffer bb = t.getRawData().asReadOnlyByteBuffer()
                                        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
                                for (int i = 0; i < count; i++) {
                                    v[i] = bb.getLong();
                                }
                                if (count > 0) {
                                    v[r.nextInt(count)] = interesting(r, 0);
                                }
                                java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(8 * count)
                                        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
                                for (long x : v) {
                                    out.putLong(x);
                                }
                                t.setRawData(ByteString.copyFrom(out.array()));
                            }
                        }
                    }
                }
            }
        }
        return m;
    }

    /** A value name of the graph (an input, initializer or node output), or a new one. */
    private static String anyName(SplittableRandom r, Onnx.GraphProto.Builder g) {
        List<String> names = new ArrayList<>();
        g.getInputList().forEach(v -> names.add(v.getName()));
        g.getInitializerList().forEach(t -> names.add(t.getName()));
        g.getNodeList().forEach(n -> names.addAll(n.getOutputList()));
        return names.isEmpty() || r.nextInt(6) == 0 ? "fresh" + r.nextInt(3) : names.get(r.nextInt(names.size()));
    }
}
