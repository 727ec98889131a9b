package org.rnnkit.onnx;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.backend.Backend;
import org.rnnkit.io.Untrusted;
import org.rnnkit.nn.MergeMode;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.onnx.proto.Onnx;
import org.rnnkit.tensor.Tensor;

/**
 * An ONNX recurrent model, read and recognised: either one {@code LSTM}, {@code GRU} or {@code RNN} node
 * (every attribute of the operators: activations with their parameters, {@code clip},
 * {@code input_forget}, peepholes, {@code linear_before_reset}, {@code direction}, {@code layout} 0 and 1,
 * {@code sequence_lens}, initial states), or the graph PyTorch's exporter writes for an {@code nn.LSTM},
 * {@code nn.GRU} or {@code nn.RNN} (stacked, bidirectional, {@code batch_first}, dynamic batch and
 * sequence axes). Either way it is one rnnkit {@link RecurrentLayer}.
 *
 * <pre>{@code
 * OnnxModel model = OnnxModel.read(Path.of("lstm.onnx"));
 * OnnxLayer bound = model.bind(Backends.get());               // weights are initializers
 * RecurrentLayer lstm = bound.layer();                         // PyTorch's layer, layout and state_dict
 * Map<String, OnnxTensor> out = bound.run(Map.of("input", OnnxTensor.of("input", x)));   // ONNX's terms
 * }</pre>
 *
 * <p>Reading is strict and refuses, before using any value: malformed protobuf, trailing bytes, nesting
 * deeper than {@value Protos#RECURSION_LIMIT}; operators other than the recurrent ones and the exporter's
 * glue (all named in the message), unknown attributes or attributes of the wrong type; tensors of types
 * other than float32 (values) and int32/int64 (lengths, shapes), with negative or overflowing dimensions,
 * or whose data does not match their shape; data stored outside the file ({@code data_location=EXTERNAL}:
 * no other file is ever opened); and graphs that are not one recurrent layer.
 *
 * <p>Thread safety: immutable; safe to share between threads.
 */
public final class OnnxModel {
    private final Graph graph;
    private final Plan plan;
    private final long irVersion;
    private final String producer;

    private OnnxModel(Graph graph, Plan plan, long irVersion, String producer) {
        this.graph = graph;
        this.plan = plan;
        this.irVersion = irVersion;
        this.producer = producer;
    }

    /**
     * Reads an ONNX model file.
     *
     * @throws OnnxFormatException if the file is malformed or holds something rnnkit does not run (see the
     *     class comment); the message names the file, the node and what was expected
     * @throws org.rnnkit.tensor.MemoryBudgetException if the file does not fit the memory budget
     * @throws IOException if the file cannot be read
     */
    public static OnnxModel read(Path file) throws IOException {
        return read(Protos.readFile(file), file.getFileName().toString());
    }

    /**
     * Reads an ONNX model from its bytes.
     *
     * @param sourceName the name messages start with, e.g. the file's name
     * @throws OnnxFormatException as {@link #read(Path)}
     */
    public static OnnxModel read(byte[] bytes, String sourceName) throws OnnxFormatException {
        Objects.requireNonNull(bytes, "bytes");
        String source = sourceName == null ? "model" : sourceName;
        Onnx.ModelProto proto = Protos.parse(bytes, source, Onnx.ModelProto.parser(), "model");
        Graph graph = Graph.of(proto, source);
        Plan plan = Recognizer.recognize(graph);
        OnnxModel model = new OnnxModel(graph, plan, proto.getIrVersion(),
                Untrusted.line((proto.getProducerName() + " " + proto.getProducerVersion()).trim(), 80));
        model.checkConfiguration();
        return model;
    }

    /** With the weights in the file, the whole configuration is checked now rather than at {@link #bind}. */
    private void checkConfiguration() throws OnnxFormatException {
        OnnxTensor w = graph.initializers.get(plan.layers().get(0).w());
        if (w == null) {
            return;
        }
        try {
            config(w.shape()[2], plan.layers().stream().anyMatch(l -> !l.b().isEmpty()));
        } catch (IllegalArgumentException e) {
            throw new OnnxFormatException(graph.source + ": " + e.getMessage(), e);
        }
    }

    RecurrentConfig config(int inputSize, boolean bias) {
        return new RecurrentConfig(plan.type(), inputSize, plan.hiddenSize(), plan.layers().size(), bias,
                plan.batchFirst(), plan.directions() == 2, 0, MergeMode.CONCAT, plan.reverse(), plan.variant());
    }

    /** The name messages use: the file's name, or the name given to {@link #read(byte[], String)}. */
    public String source() {
        return graph.source;
    }

    /**
     * True for a model of one recurrent node, which {@link OnnxLayer#run} runs in ONNX's terms ({@code Y},
     * {@code Y_h}, {@code Y_c}); false for PyTorch's graph, whose outputs are PyTorch's ({@code output},
     * {@code h_n}, {@code c_n}).
     */
    public boolean isSingleNode() {
        return plan.singleNode();
    }

    /** Number of recurrent nodes: the layer's {@code num_layers}. */
    public int numLayers() {
        return plan.layers().size();
    }

    /** The default-domain opset the model imports. */
    public long opset() {
        return graph.opset;
    }

    public long irVersion() {
        return irVersion;
    }

    /** {@code producer_name producer_version}, e.g. {@code pytorch 2.13.0} (escaped, at most 80 characters). */
    public String producer() {
        return producer;
    }

    /** The graph's inputs that are not initializers, in the graph's order: what {@link OnnxLayer#run} takes. */
    public List<String> inputNames() {
        List<String> names = new ArrayList<>();
        graph.inputs.forEach(v -> names.add(v.name()));
        return Collections.unmodifiableList(names);
    }

    /** The graph's outputs, in the graph's order: what {@link OnnxLayer#run} returns. */
    public List<String> outputNames() {
        List<String> names = new ArrayList<>();
        plan.outputs().forEach(o -> names.add(o.name()));
        return Collections.unmodifiableList(names);
    }

    /**
     * The graph inputs that carry weights ({@code W}, {@code R}, {@code B}, {@code P}) rather than
     * initializers, as ONNX's own operator tests write them: {@link #bind(Map, Backend)} needs them.
     */
    public List<String> weightInputs() {
        List<String> names = new ArrayList<>();
        for (RecurrentNode n : plan.layers()) {
            for (String[] r : Weights.roles(n)) {
                if (!r[1].isEmpty() && !graph.initializers.containsKey(r[1]) && !names.contains(r[1])) {
                    names.add(r[1]);
                }
            }
        }
        return Collections.unmodifiableList(names);
    }

    /**
     * The model on {@code backend}, its weights from the file's initializers.
     *
     * @throws IllegalStateException if some weights are graph inputs ({@link #weightInputs()}): use
     *     {@link #bind(Map, Backend)}
     * @throws UnsupportedOperationException if the backend's kernels do not run the model's cell variant
     */
    public OnnxLayer bind(Backend backend) {
        requireInitializers();
        return bind(Map.of(), backend);
    }

    /**
     * The model on {@code backend}, with weights that are graph inputs taken from {@code graphInputs} (by
     * graph input name; other graph inputs in the map, such as {@code X}, are ignored here, so one map of
     * every input may be given).
     *
     * @throws IllegalArgumentException naming the input: a weight input missing, not FLOAT or mis-shaped,
     *     or a name in the map that is not a graph input
     * @throws UnsupportedOperationException if the backend's kernels do not run the model's cell variant
     */
    public OnnxLayer bind(Map<String, OnnxTensor> graphInputs, Backend backend) {
        Objects.requireNonNull(graphInputs, "graphInputs");
        Objects.requireNonNull(backend, "backend");
        Parts parts = parts(graphInputs);
        return new OnnxLayer(this, RecurrentLayer.of(parts.config(), parts.stateDict(), backend));
    }

    /** A layer's configuration and its state_dict in PyTorch's names and layouts. */
    private record Parts(RecurrentConfig config, Map<String, Tensor> stateDict) {}

    /**
     * The layer's configuration, for a model whose weights are in the file (initializers).
     *
     * @throws IllegalStateException if some weights are graph inputs ({@link #weightInputs()})
     */
    public RecurrentConfig config() {
        requireInitializers();
        return parts(Map.of()).config();
    }

    /**
     * The layer's parameters by PyTorch's state_dict names (converted from ONNX's gate order and bias
     * layout), for a model whose weights are in the file (initializers).
     *
     * @throws IllegalStateException if some weights are graph inputs ({@link #weightInputs()})
     */
    public Map<String, Tensor> stateDict() {
        requireInitializers();
        return parts(Map.of()).stateDict();
    }

    private void requireInitializers() {
        if (!weightInputs().isEmpty()) {
            throw new IllegalStateException(graph.source + ": weights " + weightInputs() + " are graph inputs, not "
                    + "initializers: give them to bind(Map, Backend)");
        }
    }

    private Parts parts(Map<String, OnnxTensor> graphInputs) {
        for (String name : graphInputs.keySet()) {
            if (graph.input(name) == null) {
                throw new IllegalArgumentException("graphInputs: " + Untrusted.quote(name) + " is not a graph input of "
                        + graph.source + " (inputs: " + inputNames() + ")");
            }
        }
        int inputSize = -1;
        boolean bias = false;
        List<float[][]> weights = new ArrayList<>();
        for (int k = 0; k < plan.layers().size(); k++) {
            RecurrentNode n = plan.layers().get(k);
            int expectedInput = k == 0 ? -1 : plan.directions() * plan.hiddenSize();
            float[][] w = new float[4][];
            String[][] roles = Weights.roles(n);
            for (int j = 0; j < 4; j++) {
                String name = roles[j][1];
                if (name.isEmpty()) {
                    continue;
                }
                OnnxTensor t = graph.input(name) != null ? graphInputs.get(name) : graph.initializers.get(name);
                if (t == null) {
                    throw new IllegalArgumentException("graphInputs: " + Untrusted.quote(name) + " (" + roles[j][0]
                            + " of layer " + k + "): required, not given");
                }
                if (t.dataType() != OnnxTensor.DataType.FLOAT) {
                    throw new IllegalArgumentException(Untrusted.quote(name) + " (" + roles[j][0] + " of layer " + k
                            + "): expected FLOAT, got " + t.dataType());
                }
                String problem = Weights.problem(n, roles[j][0], Weights.toLong(t.shape()), expectedInput);
                if (problem != null) {
                    throw new IllegalArgumentException(Untrusted.quote(name) + " (layer " + k + "): " + problem);
                }
                if (j == 0 && k == 0) {
                    inputSize = t.shape()[2];
                }
                w[j] = t.floatView();
            }
            bias |= w[2] != null;
            weights.add(w);
        }
        RecurrentConfig config = config(inputSize, bias);
        Map<String, Tensor> stateDict = new LinkedHashMap<>();
        for (int k = 0; k < weights.size(); k++) {
            float[][] w = weights.get(k);
            Weights.put(stateDict, plan.layers().get(k), k, w[0], config.layerInputSize(k), w[1], w[2], w[3], bias);
        }
        return new Parts(config, stateDict);
    }

    Plan plan() {
        return plan;
    }

    Graph graph() {
        return graph;
    }

    @Override
    public String toString() {
        return "OnnxModel " + Untrusted.quote(graph.source) + ": " + (plan.singleNode() ? "one " + plan.layers().get(0).node().op + " node"
                : "PyTorch's graph of " + plan.layers().size() + " " + plan.layers().get(0).node().op + " nodes") + ", hidden_size " + plan.hiddenSize() + (plan.directions() == 2 ? ", bidirectional"
                : plan.reverse() ? ", reverse" : "") + (plan.batchFirst() ? ", batch first" : "")
                + (plan.variant().isDefault() ? "" : ", " + plan.variant()) + ", opset " + graph.opset;
    }
}
