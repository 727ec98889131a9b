package org.rnnkit.onnx;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.io.Untrusted;

/**
 * Recognises the two forms of recurrent model rnnkit runs and describes them as a {@link Plan}:
 *
 * <ul>
 *   <li>a graph of one {@code LSTM}, {@code GRU} or {@code RNN} node, run in ONNX's terms;
 *   <li>the graph PyTorch's exporter ({@code torch.onnx.export(dynamo=False)}) writes for an
 *       {@code nn.LSTM}/{@code GRU}/{@code RNN}: one recurrent node per stacked layer, the layers' outputs
 *       joined by {@code Transpose}/{@code Reshape}/{@code Squeeze}, the initial states cut per layer by
 *       {@code Slice} and the final ones joined by {@code Concat}, shapes computed by {@code Shape},
 *       {@code Gather}, {@code Unsqueeze}, {@code Concat} and {@code Constant}.
 * </ul>
 *
 * <p>The second form is not evaluated: each value of the graph is given an abstract description (which
 * tensor it holds, and which axis is which: time, batch, a layer's directions and hidden units, the rows of
 * a state), each glue operator transforms that description by its ONNX definition, and an operation that
 * would do anything but rearrange, cut or join whole axes and rows is refused. The graph is accepted only
 * if every recurrent node reads exactly the previous layer's output (directions concatenated per step, as
 * PyTorch's layer does) and its own rows of the initial states, and the graph outputs are exactly the last
 * layer's output, in the input's layout, and the final states of every layer in order. So what is run,
 * one rnnkit layer, computes what the graph computes, for every batch and sequence length.
 *
 * <p>Thread safety: stateless (each call works on its own objects).
 */
final class Recognizer {
    private Recognizer() {}

    static Plan recognize(Graph g) throws OnnxFormatException {
        List<Graph.Node> recurrent = new ArrayList<>();
        for (Graph.Node n : g.nodes) {
            if (Graph.RECURRENT.contains(n.op)) {
                recurrent.add(n);
            }
        }
        if (recurrent.isEmpty()) {
            throw new OnnxFormatException(g.source + ": no LSTM, GRU or RNN node: not a recurrent model");
        }
        if (g.nodes.size() == 1) {
            return singleNode(g, RecurrentNode.of(g.nodes.get(0), g));
        }
        return new TorchGraph(g).recognize();
    }

    // ------------------------------------------------------------------------------------------ single node

    private static Plan singleNode(Graph g, RecurrentNode n) throws OnnxFormatException {
        requireData(g, n, n.x(), "X", false, true);
        for (String w : new String[] {n.w(), n.r(), n.b(), n.p()}) {
            if (!w.isEmpty()) {
                requireData(g, n, w, "weight", true, false);
            }
        }
        if (!n.lengths().isEmpty()) {
            requireData(g, n, n.lengths(), "sequence_lens", false, false);
            checkDataType(g, n, n.lengths(), "sequence_lens", true, 1);
        }
        for (String s : new String[] {n.h0(), n.c0()}) {
            if (!s.isEmpty()) {
                requireData(g, n, s, "initial state", false, false);
                checkDataType(g, n, s, "initial state", false, 3);
                checkState(g, n, s);
            }
        }
        checkDataType(g, n, n.x(), "X", false, 3);
        Weights.checkDeclared(g, n, -1);
        List<Plan.Output> outputs = new ArrayList<>();
        for (Graph.Value v : g.outputs) {
            Plan.Role role = v.name().equals(n.y()) ? Plan.Role.Y : v.name().equals(n.yh()) ? Plan.Role.Y_H
                    : v.name().equals(n.yc()) ? Plan.Role.Y_C : null;
            if (role == null) {
                throw new OnnxFormatException(g.source + ": graph output " + Untrusted.quote(v.name())
                        + " is not an output of the node");
            }
            outputs.add(new Plan.Output(v.name(), role));
        }
        return new Plan(true, n.type(), n.hiddenSize(), n.directions(), n.reverse(), n.batchFirst(), n.variant(),
                List.of(n), n.x(), blankToNull(n.lengths()), blankToNull(n.h0()), blankToNull(n.c0()), outputs);
    }

    /** The value must come from a graph input (or, unless {@code inputOnly}, an initializer). */
    private static void requireData(Graph g, RecurrentNode n, String name, String role, boolean weight,
            boolean inputOnly) throws OnnxFormatException {
        boolean input = g.input(name) != null, init = g.initializers.containsKey(name);
        if (!input && !(init && !inputOnly)) {
            throw new OnnxFormatException(n.node().where + ": " + role + " " + Untrusted.quote(name) + ": expected a graph "
                    + "input" + (inputOnly ? "" : " or an initializer") + ", got " + (init ? "an initializer" : "a computed value"));
        }
        Graph.Value v = g.input(name);
        if (v != null && weight && v.elemType() != 0 && v.elemType() != OnnxTensor.DataType.FLOAT.code()) {
            throw new OnnxFormatException(n.node().where + ": " + role + " " + Untrusted.quote(name)
                    + ": expected FLOAT, got " + Protos.typeName(v.elemType()));
        }
    }

    /**
     * A data input's type and rank, as declared by a graph input or held by an initializer (a constant):
     * integers for {@code sequence_lens}, FLOAT for X and the states.
     */
    private static void checkDataType(Graph g, RecurrentNode n, String name, String role, boolean integer, int rank)
            throws OnnxFormatException {
        OnnxTensor init = g.initializers.get(name);
        Graph.Value v = g.input(name);
        int type = init != null ? init.dataType().code() : v == null ? 0 : v.elemType();
        int actualRank = init != null ? init.rank() : v == null || v.dims() == null ? rank : v.dims().length;
        boolean typeOk = type == 0 || (integer ? type != OnnxTensor.DataType.FLOAT.code()
                : type == OnnxTensor.DataType.FLOAT.code());
        if (!typeOk || actualRank != rank) {
            throw new OnnxFormatException(n.node().where + ": " + role + " " + Untrusted.quote(name) + ": expected "
                    + (integer ? "INT32 or INT64" : "FLOAT") + " of rank " + rank + ", got " + Protos.typeName(type)
                    + " of rank " + actualRank);
        }
    }

    /** A state's directions and width: (D, batch, H), with layout=1 (batch, D, H). */
    private static void checkState(Graph g, RecurrentNode n, String name) throws OnnxFormatException {
        OnnxTensor init = g.initializers.get(name);
        Graph.Value v = g.input(name);
        long[] dims = new long[3];
        for (int i = 0; i < 3; i++) {
            dims[i] = init != null ? init.shape()[i] : v != null && v.dims() != null ? v.dims()[i].value() : -1;
        }
        long d = dims[n.batchFirst() ? 1 : 0], h = dims[2];
        if (d >= 0 && d != n.directions() || h >= 0 && h != n.hiddenSize()) {
            throw new OnnxFormatException(n.node().where + ": initial state " + Untrusted.quote(name) + ": expected "
                    + (n.batchFirst() ? "(batch, " + n.directions() : "(" + n.directions() + ", batch") + ", "
                    + n.hiddenSize() + "), got " + java.util.Arrays.toString(dims).replace("-1", "?"));
        }
    }

    static String blankToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    // ------------------------------------------------------------------------------------- PyTorch's graph

    /** Axis kinds of the abstract values. */
    enum Kind {
        /** the sequence input's axes 0, 1 and 2 (which of 0 and 1 is time is found at the first layer) */
        X0, X1, XF,
        /** a layer's directions axis and hidden axis in its Y; its output with directions concatenated */
        DIR, HID, FEAT,
        /** rows of a state (each row one layer-direction), a state's batch and width */
        ROWS, SB, SH,
        /** a size-1 axis added by Unsqueeze or Reshape */
        ONE
    }

    /** One axis: kind, layer (for DIR/HID/FEAT), size (-1: dynamic). */
    record Axis(Kind kind, int layer, long size) {
        boolean same(Axis o) {
            return kind == o.kind && layer == o.layer && size == o.size;
        }

        @Override
        public String toString() {
            String s = switch (kind) {
                case X0 -> "input axis 0";
                case X1 -> "input axis 1";
                case XF -> "input features";
                case DIR -> "directions of layer " + layer;
                case HID -> "hidden of layer " + layer;
                case FEAT -> "output of layer " + layer;
                case ROWS -> "state rows";
                case SB -> "state batch";
                case SH -> "state width";
                case ONE -> "1";
            };
            return size >= 0 && kind != Kind.ONE ? s + " (" + size + ")" : s;
        }
    }

    /** One row of a state: an initial state input's row, a layer-direction's final state, or zeros. */
    record Row(String origin, int layer, int index) {}

    /** An abstract value: what the graph holds under one name. */
    sealed interface Val permits Tensorish, Ints, Opaque {}

    /**
     * A float tensor: the sequence input ({@code layer == -1}, no rows), a layer's {@code Y}
     * ({@code layer >= 0}, no rows), or a state (rows of the ROWS axis).
     */
    record Tensorish(int layer, List<Axis> axes, List<Row> rows) implements Val {
        Tensorish {
            axes = List.copyOf(axes);
            rows = rows == null ? null : List.copyOf(rows);
        }

        boolean isState() {
            return rows != null;
        }

        String describe() {
            return (isState() ? "state rows " + rows.size() : layer < 0 ? "the input" : "Y of layer " + layer)
                    + " with axes " + axes;
        }
    }

    /** One element of an integer vector: a known value, or the dynamic size of an axis. */
    record Elem(long value, Axis axis) {
        static Elem of(long v) {
            return new Elem(v, null);
        }

        boolean known() {
            return axis == null;
        }
    }

    /** A small int64 tensor of rank 0 or 1 (shapes, axes, indices), element by element. */
    record Ints(List<Elem> elems, boolean scalar) implements Val {
        Ints {
            elems = List.copyOf(elems);
        }

        long[] known(String what, Graph.Node n) throws OnnxFormatException {
            long[] v = new long[elems.size()];
            for (int i = 0; i < v.length; i++) {
                if (!elems.get(i).known()) {
                    throw new OnnxFormatException(n.where + ": " + what + ": expected constants, got the size of "
                            + elems.get(i).axis);
                }
                v[i] = elems.get(i).value;
            }
            return v;
        }
    }

    /** A value rnnkit does not follow (a float constant, an integer graph input); an error when used by glue. */
    record Opaque(String what) implements Val {}

    private static final class TorchGraph {
        private final Graph g;
        private final Map<String, Val> values = new HashMap<>();
        private final List<RecurrentNode> layers = new ArrayList<>();
        private final Map<String, RecurrentNode> producer = new HashMap<>();
        private String x, lengths, h0, c0;
        private Boolean batchFirst; // decided at the first layer
        private final List<String> hIns = new ArrayList<>(), cIns = new ArrayList<>(); // per layer, null: zeros

        TorchGraph(Graph g) {
            this.g = g;
        }

        Plan recognize() throws OnnxFormatException {
            x = sequenceInput();
            for (Graph.Value in : g.inputs) {
                values.put(in.name(), inputValue(in));
            }
            for (Map.Entry<String, OnnxTensor> e : g.initializers.entrySet()) {
                values.put(e.getKey(), constant(e.getValue(), "initializer " + Untrusted.quote(e.getKey())));
            }
            for (Graph.Node n : g.nodes) {
                List<Val> out = Graph.RECURRENT.contains(n.op) ? layer(n) : List.of(glue(n));
                for (int k = 0; k < n.outputs.size() && k < out.size(); k++) {
                    if (!n.outputs.get(k).isEmpty()) {
                        values.put(n.outputs.get(k), out.get(k));
                    }
                }
                if (n.outputs.size() > out.size()) {
                    throw new OnnxFormatException(n.where + ": expected " + out.size() + " output(s), got "
                            + n.outputs.size());
                }
            }
            RecurrentNode first = layers.get(0);
            for (RecurrentNode l : layers) {
                String diff = l.type() != first.type() ? "type " + l.type()
                        : l.hiddenSize() != first.hiddenSize() ? "hidden_size " + l.hiddenSize()
                        : l.directions() != first.directions() ? "directions " + l.directions()
                        : l.reverse() != first.reverse() ? "direction reverse=" + l.reverse()
                        : !l.variant().equals(first.variant()) ? "cell variant " + l.variant() : null;
                if (diff != null) {
                    throw new OnnxFormatException(l.node().where + ": differs from the first layer in its " + diff
                            + "; rnnkit's stacked layer has one configuration for all layers");
                }
            }
            h0 = oneSource(hIns, "initial_h");
            c0 = oneSource(cIns, "initial_c");
            return new Plan(false, first.type(), first.hiddenSize(), first.directions(), first.reverse(),
                    batchFirst, first.variant(), layers, x, lengths, h0, c0, outputs());
        }

        /** The one graph input every layer's initial state comes from, or null when every layer starts at zero. */
        private String oneSource(List<String> perLayer, String role) throws OnnxFormatException {
            String first = perLayer.get(0);
            for (int k = 1; k < perLayer.size(); k++) {
                if (!Objects.equals(perLayer.get(k), first)) {
                    throw new OnnxFormatException(layers.get(k).node().where + ": " + role + ": from "
                            + (perLayer.get(k) == null ? "zeros" : Untrusted.quote(perLayer.get(k))) + ", layer 0's from "
                            + (first == null ? "zeros" : Untrusted.quote(first)) + "; rnnkit's layer has one initial "
                            + "state for all layers");
                }
            }
            return first;
        }

        /** The graph input that reaches the first recurrent node's X through shape-only operators. */
        private String sequenceInput() throws OnnxFormatException {
            Graph.Node first = null;
            for (Graph.Node n : g.nodes) {
                if (Graph.RECURRENT.contains(n.op)) {
                    first = n;
                    break;
                }
            }
            Map<String, Graph.Node> producers = new HashMap<>();
            for (Graph.Node n : g.nodes) {
                for (String o : n.outputs) {
                    producers.put(o, n);
                }
            }
            String name = Objects.requireNonNull(first).input(0);
            for (int hops = 0; hops < g.nodes.size() + 1; hops++) {
                if (g.input(name) != null) {
                    Graph.Value v = g.input(name);
                    if (v.elemType() != 0 && v.elemType() != OnnxTensor.DataType.FLOAT.code()) {
                        throw new OnnxFormatException(g.source + ": graph input " + Untrusted.quote(name)
                                + ": expected FLOAT, got " + Protos.typeName(v.elemType()));
                    }
                    return name;
                }
                Graph.Node p = producers.get(name);
                if (p == null || !List.of("Transpose", "Reshape", "Squeeze", "Unsqueeze", "Identity").contains(p.op)) {
                    break;
                }
                name = p.input(0);
            }
            throw new OnnxFormatException(first.where + ": X does not come from a graph input through Transpose, "
                    + "Reshape, Squeeze or Unsqueeze");
        }

        private Val inputValue(Graph.Value in) throws OnnxFormatException {
            String at = g.source + ": graph input " + Untrusted.quote(in.name());
            Graph.Dim[] d = in.dims();
            if (in.name().equals(x)) {
                if (d != null && d.length != 3) {
                    throw new OnnxFormatException(at + ": expected rank 3 (sequence, batch, features), got rank "
                            + d.length);
                }
                long features = d == null ? -1 : d[2].value();
                return new Tensorish(-1, List.of(new Axis(Kind.X0, -1, -1), new Axis(Kind.X1, -1, -1),
                        new Axis(Kind.XF, -1, features)), null);
            }
            if (in.elemType() == OnnxTensor.DataType.INT32.code() || in.elemType() == OnnxTensor.DataType.INT64.code()) {
                return new Opaque("the integer graph input " + Untrusted.quote(in.name()));
            }
            // any other float input can only be an initial state (S, B, H) or a weight given at run time
            if (d == null || d.length != 3 || !d[0].known() || !d[2].known()) {
                return new Opaque("graph input " + Untrusted.quote(in.name()) + " (a state needs a declared shape "
                        + "(S, batch, H) with S and H fixed)");
            }
            if (d[0].value() > 4096) {
                return new Opaque("graph input " + Untrusted.quote(in.name()) + " with " + d[0].value() + " state rows");
            }
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < d[0].value(); i++) {
                rows.add(new Row(in.name(), -1, i));
            }
            return new Tensorish(-1, List.of(new Axis(Kind.ROWS, -1, rows.size()), new Axis(Kind.SB, -1, -1),
                    new Axis(Kind.SH, -1, d[2].value())), rows);
        }

        private static Val constant(OnnxTensor t, String what) {
            if (t.dataType() == OnnxTensor.DataType.FLOAT || t.rank() > 1) {
                return new Opaque(what + " (" + t.dataType() + " of rank " + t.rank() + ")");
            }
            List<Elem> e = new ArrayList<>();
            for (long v : t.longView()) {
                e.add(Elem.of(v));
            }
            return new Ints(e, t.rank() == 0);
        }

        private Val value(Graph.Node n, int k) throws OnnxFormatException {
            String name = n.input(k);
            if (name.isEmpty()) {
                return null;
            }
            return values.get(name);
        }

        private Tensorish tensor(Graph.Node n, int k) throws OnnxFormatException {
            Val v = value(n, k);
            if (v instanceof Tensorish t) {
                return t;
            }
            throw new OnnxFormatException(n.where + ": input " + k + ": expected a tensor rnnkit follows, got "
                    + describe(v));
        }

        private Ints ints(Graph.Node n, int k) throws OnnxFormatException {
            Val v = value(n, k);
            if (v instanceof Ints i) {
                return i;
            }
            throw new OnnxFormatException(n.where + ": input " + k + ": expected an integer constant or shape, got "
                    + describe(v));
        }

        private static String describe(Val v) {
            return v == null ? "nothing" : v instanceof Opaque o ? o.what : v instanceof Tensorish t ? t.describe()
                    : "integers " + ((Ints) v).elems;
        }

        // ---------------------------------------------------------------------------------- recurrent layers

        private List<Val> layer(Graph.Node node) throws OnnxFormatException {
            RecurrentNode n = RecurrentNode.of(node, g);
            int k = layers.size();
            if (n.batchFirst()) {
                throw new OnnxFormatException(node.where + ": layout=1 inside a graph; PyTorch's exporter writes "
                        + "layout=0 and rnnkit reads layout=1 only in a single-node model");
            }
            Tensorish xv = tensor(node, 0);
            List<Axis> a = xv.axes();
            if (k == 0) {
                if (xv.layer() != -1 || xv.isState() || a.size() != 3 || a.get(2).kind() != Kind.XF
                        || !(a.get(0).kind() == Kind.X0 && a.get(1).kind() == Kind.X1
                        || a.get(0).kind() == Kind.X1 && a.get(1).kind() == Kind.X0)) {
                    throw new OnnxFormatException(node.where + ": X: expected the graph input as (sequence, batch, "
                            + "features), got " + xv.describe());
                }
                batchFirst = a.get(0).kind() == Kind.X1;
            } else if (!isLayerOutput(xv, k - 1, false)) {
                throw new OnnxFormatException(node.where + ": X: expected layer " + (k - 1) + "'s output as (sequence, "
                        + "batch, directions * hidden), got " + xv.describe());
            }
            for (String w : new String[] {n.w(), n.r(), n.b(), n.p()}) {
                if (!w.isEmpty() && !g.initializers.containsKey(w) && g.input(w) == null) {
                    throw new OnnxFormatException(node.where + ": weight " + Untrusted.quote(w) + ": expected an "
                            + "initializer or a graph input, got a computed value");
                }
            }
            Weights.checkDeclared(g, n, k == 0 ? -1 : n.directions() * n.hiddenSize());
            if (!n.lengths().isEmpty()) {
                if (g.input(n.lengths()) == null) {
                    throw new OnnxFormatException(node.where + ": sequence_lens: expected a graph input, got "
                            + Untrusted.quote(n.lengths()));
                }
                if (k > 0 && !n.lengths().equals(lengths)) {
                    throw new OnnxFormatException(node.where + ": sequence_lens: every layer must read the same graph "
                            + "input; layer 0 reads " + (lengths == null ? "none" : Untrusted.quote(lengths)));
                }
                lengths = n.lengths();
            } else if (lengths != null) {
                throw new OnnxFormatException(node.where + ": sequence_lens: every layer must read the same graph "
                        + "input; layer 0 reads " + Untrusted.quote(lengths));
            }
            hIns.add(initialState(n, k, n.h0(), "initial_h"));
            cIns.add(n.type().hasCellState() ? initialState(n, k, n.c0(), "initial_c") : null);
            layers.add(n);
            int dirs = n.directions();
            Axis time = a.get(0), batch = a.get(1);
            Tensorish y = new Tensorish(k, List.of(time, new Axis(Kind.DIR, k, dirs), batch,
                    new Axis(Kind.HID, k, n.hiddenSize())), null);
            List<Row> hRows = new ArrayList<>(), cRows = new ArrayList<>();
            for (int d = 0; d < dirs; d++) {
                hRows.add(new Row("Y_h", k, d));
                cRows.add(new Row("Y_c", k, d));
            }
            List<Axis> stateAxes = List.of(new Axis(Kind.ROWS, -1, dirs), new Axis(Kind.SB, -1, -1),
                    new Axis(Kind.SH, -1, n.hiddenSize()));
            return List.of(y, new Tensorish(-1, stateAxes, hRows), new Tensorish(-1, stateAxes, cRows));
        }

        /**
         * The graph input whose rows {@code k*D .. k*D+D-1} the node reads as its initial state, or null when
         * it starts from zeros (absent, or made by ConstantOfShape).
         */
        private String initialState(RecurrentNode n, int k, String name, String role) throws OnnxFormatException {
            if (name.isEmpty()) {
                return null;
            }
            Val v = values.get(name);
            if (!(v instanceof Tensorish t) || !t.isState() || t.axes().size() != 3
                    || t.axes().get(0).kind() != Kind.ROWS || t.axes().get(1).kind() != Kind.SB
                    && !(t.axes().get(1).same(batchAxis()))
                    || t.axes().get(2).kind() != Kind.SH || t.axes().get(2).size() != n.hiddenSize()
                    || t.rows().size() != n.directions()) {
                throw new OnnxFormatException(n.node().where + ": " + role + ": expected " + n.directions()
                        + " rows of a state (rows, batch, " + n.hiddenSize() + "), got " + describe(v));
            }
            String origin = t.rows().get(0).origin();
            if (origin.equals("zero")) {
                for (Row r : t.rows()) {
                    if (!r.origin().equals("zero")) {
                        throw new OnnxFormatException(n.node().where + ": " + role + ": mixes zeros and other rows");
                    }
                }
                return null;
            }
            for (int d = 0; d < n.directions(); d++) {
                Row r = t.rows().get(d);
                if (!r.origin().equals(origin) || r.layer() != -1 || r.index() != k * n.directions() + d) {
                    throw new OnnxFormatException(n.node().where + ": " + role + ": expected rows " + k * n.directions()
                            + ".." + ((k + 1) * n.directions() - 1) + " of a graph input (PyTorch's h0/c0 of layer " + k
                            + "), got " + t.rows());
                }
            }
            return origin;
        }

        private Axis batchAxis() {
            return new Axis(Boolean.TRUE.equals(batchFirst) ? Kind.X0 : Kind.X1, -1, -1);
        }

        private Axis timeAxis() {
            return new Axis(Boolean.TRUE.equals(batchFirst) ? Kind.X1 : Kind.X0, -1, -1);
        }

        /** Layer k's output with directions concatenated, as (time, batch, D*H), or batch first when asked. */
        private boolean isLayerOutput(Tensorish t, int k, boolean pytorchLayout) {
            if (t.isState() || t.layer() != k || t.axes().size() != 3) {
                return false;
            }
            RecurrentNode n = layers.get(k);
            Axis f = t.axes().get(2);
            boolean features = f.kind() == Kind.FEAT && f.layer() == k
                    || f.kind() == Kind.HID && f.layer() == k && n.directions() == 1;
            boolean first = pytorchLayout && Boolean.TRUE.equals(batchFirst);
            Axis a0 = first ? batchAxis() : timeAxis(), a1 = first ? timeAxis() : batchAxis();
            return features && t.axes().get(0).same(a0) && t.axes().get(1).same(a1);
        }

        private List<Plan.Output> outputs() throws OnnxFormatException {
            int last = layers.size() - 1, dirs = layers.get(0).directions();
            List<Plan.Output> out = new ArrayList<>();
            for (Graph.Value o : g.outputs) {
                Val v = values.get(o.name());
                Plan.Role role = null;
                if (v instanceof Tensorish t && !t.isState() && isLayerOutput(t, last, true)) {
                    role = Plan.Role.OUTPUT;
                } else if (v instanceof Tensorish t && t.isState() && t.axes().size() == 3
                        && t.axes().get(0).kind() == Kind.ROWS && t.axes().get(1).kind() == Kind.SB
                        && t.axes().get(2).kind() == Kind.SH) {
                    for (String kind : new String[] {"Y_h", "Y_c"}) {
                        List<Row> all = new ArrayList<>();
                        for (int k = 0; k <= last; k++) {
                            for (int d = 0; d < dirs; d++) {
                                all.add(new Row(kind, k, d));
                            }
                        }
                        if (t.rows().equals(all)) {
                            role = kind.equals("Y_h") ? Plan.Role.H_N : Plan.Role.C_N;
                        }
                    }
                }
                if (role == null) {
                    throw new OnnxFormatException(g.source + ": graph output " + Untrusted.quote(o.name()) + ": expected "
                            + "the last layer's output (" + (Boolean.TRUE.equals(batchFirst) ? "batch, sequence"
                            : "sequence, batch") + ", directions * hidden) or every layer's final state in order "
                            + "(h_n, c_n), got " + describe(v));
                }
                out.add(new Plan.Output(o.name(), role));
            }
            return out;
        }

        // ---------------------------------------------------------------------------------------- glue

        private Val glue(Graph.Node n) throws OnnxFormatException {
            if (n.outputs.size() != 1) {
                throw new OnnxFormatException(n.where + ": expected 1 output, got " + n.outputs.size());
            }
            return switch (n.op) {
                case "Identity" -> {
                    requireInputs(n, 1, 1);
                    Val v = value(n, 0);
                    if (v == null) {
                        throw new OnnxFormatException(n.where + ": input 0 is required");
                    }
                    yield v;
                }
                case "Constant" -> constantNode(n);
                case "Transpose" -> transpose(n);
                case "Squeeze" -> squeeze(n);
                case "Unsqueeze" -> unsqueeze(n);
                case "Reshape" -> reshape(n);
                case "Slice" -> slice(n);
                case "Concat" -> concat(n);
                case "Shape" -> shape(n);
                case "Gather" -> gather(n);
                case "ConstantOfShape" -> constantOfShape(n);
                default -> throw new IllegalStateException("unreachable: " + n.op);
            };
        }

        private static void requireInputs(Graph.Node n, int min, int max) throws OnnxFormatException {
            if (n.inputs.size() < min || n.inputs.size() > max) {
                throw new OnnxFormatException(n.where + ": expected " + (min == max ? min : min + " to " + max)
                        + " inputs, got " + n.inputs.size());
            }
        }

        private Val constantNode(Graph.Node n) throws OnnxFormatException {
            requireInputs(n, 0, 0);
            if (n.has("value")) {
                return constant(n.tensor("value"), "the constant of " + n.where);
            }
            if (n.has("value_int")) {
                return new Ints(List.of(Elem.of(n.i("value_int", 0))), true);
            }
            if (n.has("value_ints")) {
                List<Elem> e = new ArrayList<>();
                for (long v : n.ints("value_ints")) {
                    e.add(Elem.of(v));
                }
                return new Ints(e, false);
            }
            if (n.has("value_float") || n.has("value_floats")) {
                n.f("value_float");
                n.floats("value_floats");
                return new Opaque("the float constant of " + n.where);
            }
            throw new OnnxFormatException(n.where + ": no value attribute");
        }

        private static int axis(Graph.Node n, long a, int rank, String what) throws OnnxFormatException {
            if (a < -rank || a >= rank) {
                throw new OnnxFormatException(n.where + ": " + what + ": axis " + a + " out of range for rank " + rank);
            }
            return (int) (a < 0 ? a + rank : a);
        }

        /** The axes of Squeeze/Unsqueeze/Slice: an input from opset 13 (10 for Slice), an attribute before. */
        private long[] axesArgument(Graph.Node n, int inputIndex, String attribute) throws OnnxFormatException {
            if (n.has(attribute)) {
                if (!n.input(inputIndex).isEmpty()) {
                    throw new OnnxFormatException(n.where + ": axes given both as input and attribute");
                }
                List<Long> l = n.ints(attribute);
                long[] v = new long[l.size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = l.get(i);
                }
                return v;
            }
            return n.input(inputIndex).isEmpty() ? null : ints(n, inputIndex).known("axes", n);
        }

        private Val transpose(Graph.Node n) throws OnnxFormatException {
            requireInputs(n, 1, 1);
            Tensorish t = tensor(n, 0);
            int rank = t.axes().size();
            List<Long> perm = n.ints("perm");
            List<Axis> out = new ArrayList<>();
            boolean[] seen = new boolean[rank];
            for (int i = 0; i < rank; i++) {
                long p = perm == null ? rank - 1 - i : i < perm.size() ? perm.get(i) : -1;
                if (perm != null && perm.size() != rank || p < 0 || p >= rank || seen[(int) p]) {
                    throw new OnnxFormatException(n.where + ": attribute 'perm': expected a permutation of 0.." + (rank - 1)
                            + ", got " + perm);
                }
                seen[(int) p] = true;
                out.add(t.axes().get((int) p));
            }
            return new Tensorish(t.layer(), out, t.rows());
        }

        private Val squeeze(Graph.Node n) throws OnnxFormatException {
            requireInputs(n, 1, 2);
            Val v = value(n, 0);
            long[] axes = axesArgument(n, 1, "axes");
            if (v instanceof Ints i) {
                if (i.scalar() || i.elems().size() != 1 || axes != null && (axes.length != 1 || axes[0] != 0 && axes[0] != -1)) {
                    throw new OnnxFormatException(n.where + ": expected a 1-element vector squeezed at axis 0");
                }
                return new Ints(i.elems(), true);
            }
            Tensorish t = tensor(n, 0);
            int rank = t.axes().size();
            boolean[] drop = new boolean[rank];
            if (axes == null) {
                throw new OnnxFormatException(n.where + ": Squeeze without axes depends on sizes known only at run time;"
                        + " rnnkit needs the axes");
            }
            for (long a : axes) {
                int ax = axis(n, a, rank, "axes");
                if (t.axes().get(ax).size() != 1) {
                    throw new OnnxFormatException(n.where + ": axes: axis " + a + " (" + t.axes().get(ax)
                            + ") is not of size 1");
                }
                drop[ax] = true;
            }
            List<Axis> out = new ArrayList<>();
            List<Row> rows = t.rows();
            for (int i = 0; i < rank; i++) {
                if (!drop[i]) {
                    out.add(t.axes().get(i));
                } else if (t.axes().get(i).kind() == Kind.ROWS) {
                    throw new OnnxFormatException(n.where + ": squeezes the rows of a state");
                }
            }
            return new Tensorish(t.layer(), out, rows);
        }

        private Val unsqueeze(Graph.Node n) throws OnnxFormatException {
            requireInputs(n, 1, 2);
            Val v = value(n, 0);
            long[] axes = axesArgument(n, 1, "axes");
            if (axes == null) {
                throw new OnnxFormatException(n.where + ": axes are required");
            }
            if (v instanceof Ints i) {
                if (!i.scalar() || axes.length != 1 || axes[0] != 0 && axes[0] != -1) {
                    throw new OnnxFormatException(n.where + ": expected a scalar unsqueezed at axis 0");
                }
                return new Ints(i.elems(), false);
            }
            Tensorish t = tensor(n, 0);
            int rank = t.axes().size() + axes.length;
            boolean[] add = new boolean[rank];
            for (long a : axes) {
                int ax = axis(n, a, rank, "axes");
                if (add[ax]) {
                    throw new OnnxFormatException(n.where + ": axes: " + a + " repeated");
                }
                add[ax] = true;
            }
            List<Axis> out = new ArrayList<>();
            int src = 0;
            for (int i = 0; i < rank; i++) {
                out.add(add[i] ? new Axis(Kind.ONE, -1, 1) : t.axes().get(src++));
            }
            return new Tensorish(t.layer(), out, t.rows());
        }

        private Val shape(Graph.Node n) throws OnnxFormatException {
            requireInputs(n, 1, 1);
            Tensorish t = tensor(n, 0);
            int rank = t.axes().size();
            long start = n.i("start", 0), end = n.i("end", rank);
            start = Math.max(0, Math.min(rank, start < 0 ? start + rank : start));
            end = Math.max(0, Math.min(rank, end < 0 ? end + rank : end));
            List<Elem> e = new ArrayList<>();
            for (int i = (int) start; i < end; i++) {
                Axis a = t.axes().get(i);
                e.add(a.size() >= 0 ? Elem.of(a.size()) : new Elem(-1, a));
            }
            return new Ints(e, false);
        }

        private Val gather(Graph.Node n) throws OnnxFormatException {
            requireInputs(n, 2, 2);
            if (n.i("axis", 0) != 0) {
                throw new OnnxFormatException(n.where + ": attribute 'axis': rnnkit gathers elements of a shape (axis 0)");
            }
            Ints data = ints(n, 0), idx = ints(n, 1);
            if (data.scalar()) {
                throw new OnnxFormatException(n.where + ": gathers from a scalar");
            }
            List<Elem> out = new ArrayList<>();
            for (long i : idx.known("indices", n)) {
                out.add(data.elems().get(axis(n, i, data.elems().size(), "indices")));
            }
            return new Ints(out, idx.scalar());
        }

        private Val constantOfShape(Graph.Node n) throws OnnxFormatException {
            requireInputs(n, 1, 1);
            OnnxTensor value = n.tensor("value");
            if (value != null && (value.dataType() != OnnxTensor.DataType.FLOAT || value.size() != 1
                    || value.floatView()[0] != 0f)) {
                throw new OnnxFormatException(n.where + ": attribute 'value': rnnkit follows a float zero state only, got "
                        + value);
            }
            Ints shape = ints(n, 0);
            List<Elem> e = shape.elems();
            // PyTorch's zeros(num_layers * D, batch, H) for a missing h0: rows of zeros
            if (shape.scalar() || e.size() != 3 || !e.get(0).known() || e.get(1).known() || !e.get(2).known()
                    || e.get(0).value() < 1 || e.get(0).value() > 4096 || e.get(2).value() < 1) {
                throw new OnnxFormatException(n.where + ": expected the shape of a zero state (rows, batch, width), got "
                        + e);
            }
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < e.get(0).value(); i++) {
                rows.add(new Row("zero", -1, i));
            }
            Axis batch = e.get(1).axis();
            return new Tensorish(-1, List.of(new Axis(Kind.ROWS, -1, rows.size()), batch,
                    new Axis(Kind.SH, -1, e.get(2).value())), rows);
        }

        private Val slice(Graph.Node n) throws OnnxFormatException {
            long[] starts, ends, axes, steps = null;
            if (n.has("starts") || n.has("ends")) { // opset < 10
                requireInputs(n, 1, 1);
                starts = toArray(n.ints("starts"));
                ends = toArray(n.ints("ends"));
                axes = n.has("axes") ? toArray(n.ints("axes")) : null;
            } else {
                requireInputs(n, 3, 5);
                starts = ints(n, 1).known("starts", n);
                ends = ints(n, 2).known("ends", n);
                axes = n.input(3).isEmpty() ? null : ints(n, 3).known("axes", n);
                steps = n.input(4).isEmpty() ? null : ints(n, 4).known("steps", n);
            }
            if (starts == null || ends == null || starts.length != ends.length || axes != null && axes.length != starts.length
                    || steps != null && steps.length != starts.length) {
                throw new OnnxFormatException(n.where + ": starts, ends, axes and steps must have the same length");
            }
            Val v = value(n, 0);
            if (v instanceof Ints i && !i.scalar() && starts.length == 1 && (axes == null || axes[0] == 0)) {
                int size = i.elems().size();
                int[] r = range(starts[0], ends[0], size, steps == null ? 1 : steps[0], n);
                return new Ints(i.elems().subList(r[0], r[1]), false);
            }
            Tensorish t = tensor(n, 0);
            int rank = t.axes().size();
            List<Row> rows = t.rows();
            for (int j = 0; j < starts.length; j++) {
                int ax = axis(n, axes == null ? j : axes[j], rank, "axes");
                Axis a = t.axes().get(ax);
                long step = steps == null ? 1 : steps[j];
                if (a.kind() == Kind.ROWS) {
                    int[] r = range(starts[j], ends[j], rows.size(), step, n);
                    rows = rows.subList(r[0], r[1]);
                } else if (!(step == 1 && (starts[j] == 0 || a.size() >= 0 && starts[j] <= -a.size())
                        && (ends[j] >= Integer.MAX_VALUE || a.size() >= 0 && ends[j] >= a.size()))) {
                    throw new OnnxFormatException(n.where + ": cuts " + a + " to [" + starts[j] + ", " + ends[j]
                            + "); rnnkit follows cuts of a state's rows only");
                }
            }
            if (rows != t.rows() && rows.isEmpty()) {
                throw new OnnxFormatException(n.where + ": leaves no rows of the state");
            }
            List<Axis> out = new ArrayList<>(t.axes());
            for (int i = 0; i < out.size(); i++) {
                if (out.get(i).kind() == Kind.ROWS) {
                    out.set(i, new Axis(Kind.ROWS, -1, rows.size()));
                }
            }
            return new Tensorish(t.layer(), out, rows);
        }

        private static long[] toArray(List<Long> l) {
            if (l == null) {
                return null;
            }
            long[] v = new long[l.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = l.get(i);
            }
            return v;
        }

        /** ONNX Slice's clamping of start and end for step 1 on an axis of known size. */
        private static int[] range(long start, long end, int size, long step, Graph.Node n) throws OnnxFormatException {
            if (step != 1) {
                throw new OnnxFormatException(n.where + ": steps: rnnkit follows step 1 only, got " + step);
            }
            long s = start < 0 ? start + size : start, e = end < 0 ? end + size : end;
            s = Math.max(0, Math.min(size, s));
            e = Math.max(s, Math.min(size, e));
            return new int[] {(int) s, (int) e};
        }

        private Val concat(Graph.Node n) throws OnnxFormatException {
            if (n.inputs.isEmpty()) {
                throw new OnnxFormatException(n.where + ": expected at least 1 input");
            }
            if (!n.has("axis")) {
                throw new OnnxFormatException(n.where + ": attribute 'axis' is required");
            }
            long axisAttr = n.i("axis", 0);
            Val first = value(n, 0);
            if (first instanceof Ints) {
                List<Elem> e = new ArrayList<>();
                for (int k = 0; k < n.inputs.size(); k++) {
                    Ints i = ints(n, k);
                    if (i.scalar() || axisAttr != 0 && axisAttr != -1) {
                        throw new OnnxFormatException(n.where + ": expected vectors joined on axis 0");
                    }
                    e.addAll(i.elems());
                }
                return new Ints(e, false);
            }
            Tensorish t0 = tensor(n, 0);
            int ax = axis(n, axisAttr, t0.axes().size(), "axis");
            if (!t0.isState() || t0.axes().get(ax).kind() != Kind.ROWS) {
                throw new OnnxFormatException(n.where + ": joins " + t0.describe() + " on axis " + axisAttr
                        + "; rnnkit follows the joining of states' rows only");
            }
            List<Row> rows = new ArrayList<>();
            for (int k = 0; k < n.inputs.size(); k++) {
                Tensorish t = tensor(n, k);
                if (!t.isState() || t.axes().size() != t0.axes().size()) {
                    throw new OnnxFormatException(n.where + ": input " + k + ": expected a state like input 0, got "
                            + t.describe());
                }
                for (int i = 0; i < t.axes().size(); i++) {
                    if (i != ax && !t.axes().get(i).same(t0.axes().get(i))) {
                        throw new OnnxFormatException(n.where + ": input " + k + ": axis " + i + " is "
                                + t.axes().get(i) + ", input 0's is " + t0.axes().get(i));
                    }
                }
                rows.addAll(t.rows());
            }
            List<Axis> out = new ArrayList<>(t0.axes());
            out.set(ax, new Axis(Kind.ROWS, -1, rows.size()));
            return new Tensorish(-1, out, rows);
        }

        /**
         * ONNX Reshape as a regrouping of whole axes: each element of the target shape takes a run of input
         * axes (0: the axis at the same index; the size of an axis: that axis; a number: axes whose sizes
         * multiply to it; -1: the rest). A run becomes one axis only when it is one axis plus size-1 axes, or
         * a layer's directions followed by its hidden axis (PyTorch's concatenation of directions).
         */
        private Val reshape(Graph.Node n) throws OnnxFormatException {
            requireInputs(n, 2, 2);
            if (n.i("allowzero", 0) != 0) {
                throw new OnnxFormatException(n.where + ": attribute 'allowzero': rnnkit follows allowzero=0 only");
            }
            Tensorish t = tensor(n, 0);
            Ints spec = ints(n, 1);
            if (spec.scalar()) {
                throw new OnnxFormatException(n.where + ": shape: expected a vector");
            }
            List<Axis> in = t.axes();
            List<Elem> s = spec.elems();
            int m = s.size(), infer = -1;
            for (int j = 0; j < m; j++) {
                if (s.get(j).known() && s.get(j).value() == -1) {
                    if (infer >= 0) {
                        throw new OnnxFormatException(n.where + ": shape: more than one -1");
                    }
                    infer = j;
                } else if (s.get(j).known() && s.get(j).value() < -1) {
                    throw new OnnxFormatException(n.where + ": shape: " + s.get(j).value() + " is not a size");
                }
            }
            int[] from = new int[m], to = new int[m];
            int p = 0;
            for (int j = 0; j < (infer < 0 ? m : infer); j++) {
                from[j] = p;
                p = take(n, in, s.get(j), j, p, true);
                to[j] = p;
            }
            if (infer >= 0) {
                int q = in.size();
                for (int j = m - 1; j > infer; j--) {
                    to[j] = q;
                    q = take(n, in, s.get(j), j, q, false);
                    from[j] = q;
                }
                if (q < p) {
                    throw new OnnxFormatException(n.where + ": shape " + s + " does not fit " + in);
                }
                from[infer] = p;
                to[infer] = q;
            } else if (p != in.size()) {
                throw new OnnxFormatException(n.where + ": shape " + s + " leaves axes of " + in + " unaccounted");
            }
            List<Axis> out = new ArrayList<>();
            for (int j = 0; j < m; j++) {
                out.add(group(n, in.subList(from[j], to[j]), t));
            }
            return new Tensorish(t.layer(), out, t.rows());
        }

        /** Consumes the input axes of one target element, forward from p or (from the right) backward. */
        private static int take(Graph.Node n, List<Axis> in, Elem e, int index, int p, boolean forward)
                throws OnnxFormatException {
            int step = forward ? 1 : -1;
            if (!e.known()) {
                Axis a = forward ? (p < in.size() ? in.get(p) : null) : (p > 0 ? in.get(p - 1) : null);
                if (a == null || !a.same(e.axis())) {
                    throw new OnnxFormatException(n.where + ": shape: the size of " + e.axis() + " where the input has "
                            + a);
                }
                return p + step;
            }
            long v = e.value();
            if (v == 0) { // copy the input's dimension at the same index
                int at = forward ? p : p - 1;
                if (at != index || at < 0 || at >= in.size()) {
                    throw new OnnxFormatException(n.where + ": shape: 0 at index " + index + " does not line up with "
                            + "the input's axes " + in);
                }
                return p + step;
            }
            long product = 1;
            while (product < v || product == v && v == 1 && nextIsOne(in, p, forward)) {
                Axis a = forward ? (p < in.size() ? in.get(p) : null) : (p > 0 ? in.get(p - 1) : null);
                if (a == null || a.size() < 0) {
                    throw new OnnxFormatException(n.where + ": shape: a fixed size " + v + " where the input has "
                            + (a == null ? "no axis" : a + ", whose size is known only at run time") + " (export with "
                            + "dynamic axes)");
                }
                product *= a.size();
                p += step;
                if (v == 1) {
                    break;
                }
            }
            if (product != v) {
                throw new OnnxFormatException(n.where + ": shape: " + v + " does not match the sizes of " + in);
            }
            return p;
        }

        private static boolean nextIsOne(List<Axis> in, int p, boolean forward) {
            Axis a = forward ? (p < in.size() ? in.get(p) : null) : (p > 0 ? in.get(p - 1) : null);
            return a != null && a.size() == 1;
        }

        private static Axis group(Graph.Node n, List<Axis> run, Tensorish t) throws OnnxFormatException {
            List<Axis> big = new ArrayList<>();
            for (Axis a : run) {
                if (a.kind() == Kind.ROWS && run.size() > 1) {
                    throw new OnnxFormatException(n.where + ": merges the rows of a state with other axes");
                }
                if (a.size() != 1 || run.size() == 1) {
                    big.add(a);
                }
            }
            if (big.isEmpty()) {
                return new Axis(Kind.ONE, -1, 1);
            }
            if (big.size() == 1) {
                return big.get(0);
            }
            if (big.size() == 2 && big.get(0).kind() == Kind.DIR && big.get(1).kind() == Kind.HID
                    && big.get(0).layer() == big.get(1).layer()) {
                return new Axis(Kind.FEAT, big.get(0).layer(), big.get(0).size() * big.get(1).size());
            }
            throw new OnnxFormatException(n.where + ": merges " + big + " of " + t.describe() + "; rnnkit follows the "
                    + "merging of a layer's directions and hidden axes (in that order) only");
        }
    }
}
