package org.rnnkit.onnx;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.rnnkit.io.Untrusted;
import org.rnnkit.onnx.proto.Onnx;

/**
 * A model's graph after the checks that do not depend on what it computes: the default opset, operators
 * rnnkit knows (all of them listed when some are not), attributes of the right types and no unknown ones,
 * unique value names, initializers decoded, graph inputs and outputs with their declared types.
 *
 * <p>Thread safety: immutable after construction.
 */
final class Graph {
    /** The recurrent operators, and the operators of the glue PyTorch's exporter writes around them. */
    static final Set<String> RECURRENT = Set.of("LSTM", "GRU", "RNN");
    static final Set<String> GLUE = Set.of("Transpose", "Reshape", "Squeeze", "Unsqueeze", "Slice", "Concat",
            "Constant", "Shape", "Gather", "ConstantOfShape", "Identity");

    /** Attributes each operator may have (ONNX's, for the opsets rnnkit reads); any other is refused. */
    private static final Map<String, Set<String>> ATTRIBUTES = Map.ofEntries(
            Map.entry("LSTM", Set.of("activation_alpha", "activation_beta", "activations", "clip", "direction",
                    "hidden_size", "input_forget", "layout")),
            Map.entry("GRU", Set.of("activation_alpha", "activation_beta", "activations", "clip", "direction",
                    "hidden_size", "linear_before_reset", "layout")),
            Map.entry("RNN", Set.of("activation_alpha", "activation_beta", "activations", "clip", "direction",
                    "hidden_size", "layout")),
            Map.entry("Transpose", Set.of("perm")),
            Map.entry("Reshape", Set.of("allowzero")),
            Map.entry("Squeeze", Set.of("axes")),
            Map.entry("Unsqueeze", Set.of("axes")),
            Map.entry("Slice", Set.of("starts", "ends", "axes")),
            Map.entry("Concat", Set.of("axis")),
            Map.entry("Constant", Set.of("value", "value_int", "value_ints", "value_float", "value_floats")),
            Map.entry("Shape", Set.of("start", "end")),
            Map.entry("Gather", Set.of("axis")),
            Map.entry("ConstantOfShape", Set.of("value")),
            Map.entry("Identity", Set.of()));

    /** The oldest opset whose LSTM/GRU/RNN rnnkit reads: version 1 had other attributes (output_sequence). */
    static final long MIN_OPSET = 7;

    /** A graph input or output: name, element type code (0 when not declared) and dims (null: unknown rank). */
    record Value(String name, int elemType, Dim[] dims) {}

    /** A declared dimension: a number, or symbolic (a name or nothing). */
    record Dim(long value, String param) {
        boolean known() {
            return value >= 0;
        }

        @Override
        public String toString() {
            return value >= 0 ? Long.toString(value) : param == null || param.isEmpty() ? "?" : param;
        }
    }

    final String source;
    final long opset;
    final List<Node> nodes;
    final Map<String, OnnxTensor> initializers; // in file order
    final List<Value> inputs; // graph inputs that are not initializers, in order
    final List<Value> outputs;

    private Graph(String source, long opset, List<Node> nodes, Map<String, OnnxTensor> initializers,
            List<Value> inputs, List<Value> outputs) {
        this.source = source;
        this.opset = opset;
        this.nodes = nodes;
        this.initializers = initializers;
        this.inputs = inputs;
        this.outputs = outputs;
    }

    static Graph of(Onnx.ModelProto model, String source) throws OnnxFormatException {
        if (!model.hasGraph()) {
            throw new OnnxFormatException(source + ": no graph (is this an ONNX model?)");
        }
        long opset = -1;
        for (Onnx.OperatorSetIdProto id : model.getOpsetImportList()) {
            if (id.getDomain().isEmpty() || id.getDomain().equals("ai.onnx")) {
                opset = id.getVersion();
            }
        }
        if (opset < 0) {
            throw new OnnxFormatException(source + ": opset_import: no version of the default domain (ai.onnx)");
        }
        if (opset < MIN_OPSET) {
            throw new OnnxFormatException(source + ": opset_import: default domain version " + opset
                    + ", rnnkit reads " + MIN_OPSET + " and later (re-export or convert the model with a newer opset)");
        }
        Onnx.GraphProto g = model.getGraph();
        if (g.getSparseInitializerCount() > 0) {
            throw new OnnxFormatException(source + ": sparse_initializer: rnnkit reads dense initializers only");
        }
        // operators first: an unsupported model is told everything it uses that rnnkit does not run, at once
        Set<String> unsupported = new TreeSet<>();
        for (Onnx.NodeProto n : g.getNodeList()) {
            String domain = n.getDomain();
            boolean known = (domain.isEmpty() || domain.equals("ai.onnx"))
                    && (RECURRENT.contains(n.getOpType()) || GLUE.contains(n.getOpType()));
            if (!known) {
                unsupported.add((domain.isEmpty() ? "" : domain + ".") + n.getOpType());
            }
        }
        if (!unsupported.isEmpty()) {
            List<String> quoted = new ArrayList<>();
            for (String u : unsupported) {
                quoted.add(Untrusted.quote(u));
            }
            throw new OnnxFormatException(source + ": unsupported operator" + (quoted.size() == 1 ? "" : "s") + " "
                    + String.join(", ", quoted.subList(0, Math.min(20, quoted.size())))
                    + (quoted.size() > 20 ? " and " + (quoted.size() - 20) + " more" : "")
                    + ": rnnkit reads LSTM, GRU and RNN nodes, alone or joined by the operators PyTorch's exporter "
                    + "writes around them (" + String.join(", ", new TreeSet<>(GLUE)) + ")");
        }
        Map<String, OnnxTensor> inits = new LinkedHashMap<>();
        for (Onnx.TensorProto t : g.getInitializerList()) {
            String where = source + ": initializer " + Untrusted.quote(t.getName());
            if (t.getName().isEmpty()) {
                throw new OnnxFormatException(source + ": an initializer without a name");
            }
            if (inits.put(t.getName(), Protos.tensor(t, where)) != null) {
                throw new OnnxFormatException(where + ": defined twice");
            }
        }
        List<Value> inputs = new ArrayList<>();
        Set<String> defined = new HashSet<>(inits.keySet());
        for (Onnx.ValueInfoProto v : g.getInputList()) {
            if (inits.containsKey(v.getName())) {
                continue; // an initializer also listed as an input (IR < 4 style): its value is the initializer's
            }
            Value value = value(v, source + ": graph input");
            if (!defined.add(value.name)) {
                throw new OnnxFormatException(source + ": graph input " + Untrusted.quote(value.name) + " defined twice");
            }
            inputs.add(value);
        }
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            Node n = new Node(g.getNode(i), i, source);
            for (String out : n.outputs) {
                if (!out.isEmpty() && !defined.add(out)) {
                    throw new OnnxFormatException(n.where + ": output " + Untrusted.quote(out)
                            + " is already defined (ONNX values are assigned once)");
                }
            }
            nodes.add(n);
        }
        // every node input must be defined before the node (ONNX graphs are topologically sorted)
        Set<String> available = new HashSet<>(inits.keySet());
        inputs.forEach(v -> available.add(v.name));
        for (Node n : nodes) {
            for (String in : n.inputs) {
                if (!in.isEmpty() && !available.contains(in)) {
                    throw new OnnxFormatException(n.where + ": input " + Untrusted.quote(in) + " is not a graph input, an "
                            + "initializer or the output of an earlier node");
                }
            }
            for (String out : n.outputs) {
                if (!out.isEmpty()) {
                    available.add(out);
                }
            }
        }
        List<Value> outputs = new ArrayList<>();
        Set<String> outNames = new HashSet<>();
        for (Onnx.ValueInfoProto v : g.getOutputList()) {
            Value value = value(v, source + ": graph output");
            if (!available.contains(value.name)) {
                throw new OnnxFormatException(source + ": graph output " + Untrusted.quote(value.name)
                        + " is not computed by any node");
            }
            if (!outNames.add(value.name)) {
                throw new OnnxFormatException(source + ": graph output " + Untrusted.quote(value.name) + " listed twice");
            }
            outputs.add(value);
        }
        if (outputs.isEmpty()) {
            throw new OnnxFormatException(source + ": the graph has no outputs");
        }
        return new Graph(source, opset, Collections.unmodifiableList(nodes), Collections.unmodifiableMap(inits),
                List.copyOf(inputs), List.copyOf(outputs));
    }

    private static Value value(Onnx.ValueInfoProto v, String what) throws OnnxFormatException {
        if (v.getName().isEmpty()) {
            throw new OnnxFormatException(what + " without a name");
        }
        String at = what + " " + Untrusted.quote(v.getName());
        if (!v.hasType()) {
            return new Value(v.getName(), 0, null);
        }
        Onnx.TypeProto t = v.getType();
        if (!t.hasTensorType()) {
            throw new OnnxFormatException(at + ": expected a tensor, got " + t.getValueCase());
        }
        Onnx.TypeProto.Tensor tt = t.getTensorType();
        int elem = tt.getElemType();
        if (elem != 0 && OnnxTensor.DataType.ofCode(elem) == null) {
            throw new OnnxFormatException(at + ": element type: expected FLOAT, INT32 or INT64, got "
                    + Protos.typeName(elem));
        }
        if (!tt.hasShape()) {
            return new Value(v.getName(), elem, null);
        }
        Dim[] dims = new Dim[tt.getShape().getDimCount()];
        for (int i = 0; i < dims.length; i++) {
            Onnx.TensorShapeProto.Dimension d = tt.getShape().getDim(i);
            if (d.hasDimValue() && d.getDimValue() < 0) {
                throw new OnnxFormatException(at + ": dim " + i + ": expected >= 0, got " + d.getDimValue());
            }
            dims[i] = d.hasDimValue() ? new Dim(d.getDimValue(), null) : new Dim(-1, d.getDimParam());
        }
        return new Value(v.getName(), elem, dims);
    }

    Value input(String name) {
        for (Value v : inputs) {
            if (v.name.equals(name)) {
                return v;
            }
        }
        return null;
    }

    /**
     * One node with its attributes indexed by name and checked against its operator's list.
     */
    static final class Node {
        final Onnx.NodeProto proto;
        final String op, where;
        final List<String> inputs, outputs;
        final int index;
        private final Map<String, Onnx.AttributeProto> attributes = new HashMap<>();

        Node(Onnx.NodeProto proto, int index, String source) throws OnnxFormatException {
            this.proto = proto;
            this.index = index;
            this.op = proto.getOpType();
            this.where = source + ": node " + (proto.getName().isEmpty() ? "#" + index : Untrusted.quote(proto.getName()))
                    + " (" + op + ")";
            this.inputs = proto.getInputList();
            this.outputs = proto.getOutputList();
            Set<String> allowed = ATTRIBUTES.get(op);
            for (Onnx.AttributeProto a : proto.getAttributeList()) {
                if (!allowed.contains(a.getName())) {
                    throw new OnnxFormatException(where + ": unsupported attribute " + Untrusted.quote(a.getName())
                            + " (" + op + " attributes rnnkit reads: " + String.join(", ", new TreeSet<>(allowed)) + ")");
                }
                if (!a.getRefAttrName().isEmpty()) {
                    throw new OnnxFormatException(where + ": attribute " + Untrusted.quote(a.getName())
                            + " refers to a function's attribute, which rnnkit does not read");
                }
                if (attributes.put(a.getName(), a) != null) {
                    throw new OnnxFormatException(where + ": attribute " + Untrusted.quote(a.getName()) + " given twice");
                }
            }
        }

        boolean has(String name) {
            return attributes.containsKey(name);
        }

        private Onnx.AttributeProto typed(String name, Onnx.AttributeProto.AttributeType type)
                throws OnnxFormatException {
            Onnx.AttributeProto a = attributes.get(name);
            if (a != null && a.getType() != type) {
                throw new OnnxFormatException(where + ": attribute '" + name + "': expected " + type + ", got "
                        + Protos.attributeType(a));
            }
            return a;
        }

        long i(String name, long dflt) throws OnnxFormatException {
            Onnx.AttributeProto a = typed(name, Onnx.AttributeProto.AttributeType.INT);
            return a == null ? dflt : a.getI();
        }

        Float f(String name) throws OnnxFormatException {
            Onnx.AttributeProto a = typed(name, Onnx.AttributeProto.AttributeType.FLOAT);
            return a == null ? null : a.getF();
        }

        String s(String name, String dflt) throws OnnxFormatException {
            Onnx.AttributeProto a = typed(name, Onnx.AttributeProto.AttributeType.STRING);
            return a == null ? dflt : a.getS().toStringUtf8();
        }

        List<Long> ints(String name) throws OnnxFormatException {
            Onnx.AttributeProto a = typed(name, Onnx.AttributeProto.AttributeType.INTS);
            return a == null ? null : a.getIntsList();
        }

        List<Float> floats(String name) throws OnnxFormatException {
            Onnx.AttributeProto a = typed(name, Onnx.AttributeProto.AttributeType.FLOATS);
            return a == null ? null : a.getFloatsList();
        }

        List<String> strings(String name) throws OnnxFormatException {
            Onnx.AttributeProto a = typed(name, Onnx.AttributeProto.AttributeType.STRINGS);
            if (a == null) {
                return null;
            }
            List<String> out = new ArrayList<>();
            a.getStringsList().forEach(b -> out.add(b.toStringUtf8()));
            return out;
        }

        OnnxTensor tensor(String name) throws OnnxFormatException {
            Onnx.AttributeProto a = typed(name, Onnx.AttributeProto.AttributeType.TENSOR);
            return a == null ? null : Protos.tensor(a.getT(), where + ": attribute '" + name + "'");
        }

        /** Input {@code k}, or "" when the node has fewer inputs (ONNX: absent). */
        String input(int k) {
            return k < inputs.size() ? inputs.get(k) : "";
        }

        String output(int k) {
            return k < outputs.size() ? outputs.get(k) : "";
        }
    }
}
