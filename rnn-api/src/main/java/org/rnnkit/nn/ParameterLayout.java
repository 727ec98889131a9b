package org.rnnkit.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.rnnkit.tensor.Tensor;

/**
 * PyTorch's {@code state_dict} keys and shapes for a layer or cell, in {@code state_dict} order, and the
 * strict check of a given set of tensors against them.
 *
 * <p>Thread safety: immutable.
 */
public final class ParameterLayout {

    /** One expected tensor. */
    public record Entry(String name, int[] shape) {
        public Entry {
            shape = shape.clone();
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }
    }

    private final List<Entry> entries;

    private ParameterLayout(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    /** Keys of a layer: per layer {@code k}, forward then {@code _reverse}: ih, hh, [bias ih, bias hh], [hr]. */
    public static ParameterLayout of(RecurrentConfig cfg) {
        List<Entry> list = new ArrayList<>();
        int rows = cfg.type().gates() * cfg.hiddenSize();
        for (int k = 0; k < cfg.numLayers(); k++) {
            for (int d = 0; d < cfg.directions(); d++) {
                String s = suffix(k, d);
                list.add(new Entry("weight_ih" + s, new int[] {rows, cfg.layerInputSize(k)}));
                list.add(new Entry("weight_hh" + s, new int[] {rows, cfg.hOut()}));
                if (cfg.bias()) {
                    list.add(new Entry("bias_ih" + s, new int[] {rows}));
                    list.add(new Entry("bias_hh" + s, new int[] {rows}));
                }
                if (cfg.projSize() > 0) {
                    list.add(new Entry("weight_hr" + s, new int[] {cfg.projSize(), cfg.hiddenSize()}));
                }
            }
        }
        return new ParameterLayout(list);
    }

    /** Keys of a cell: {@code weight_ih}, {@code weight_hh}, [{@code bias_ih}, {@code bias_hh}]. */
    public static ParameterLayout ofCell(CellConfig cfg) {
        int rows = cfg.type().gates() * cfg.hiddenSize();
        List<Entry> list = new ArrayList<>();
        list.add(new Entry("weight_ih", new int[] {rows, cfg.inputSize()}));
        list.add(new Entry("weight_hh", new int[] {rows, cfg.hiddenSize()}));
        if (cfg.bias()) {
            list.add(new Entry("bias_ih", new int[] {rows}));
            list.add(new Entry("bias_hh", new int[] {rows}));
        }
        return new ParameterLayout(list);
    }

    /** The key suffix of layer {@code k}, direction {@code d}: {@code _l1}, {@code _l1_reverse}. */
    public static String suffix(int layer, int direction) {
        return "_l" + layer + (direction == 1 ? "_reverse" : "");
    }

    public List<Entry> entries() {
        return entries;
    }

    /**
     * Checks {@code tensors} strictly against this layout and returns them in layout order.
     *
     * @throws IllegalArgumentException listing every missing, unexpected and mis-shaped tensor, with the
     *     expected and actual shapes
     */
    public Map<String, Tensor> check(Map<String, Tensor> tensors) {
        List<String> problems = new ArrayList<>();
        Map<String, Tensor> ordered = new LinkedHashMap<>();
        for (Entry e : entries) {
            Tensor t = tensors.get(e.name);
            if (t == null) {
                problems.add("missing tensor '" + e.name + "' of shape " + Tensor.shapeString(e.shape));
            } else if (!t.sameShape(e.shape)) {
                problems.add("tensor '" + e.name + "': expected shape " + Tensor.shapeString(e.shape)
                        + ", got " + t.shapeString());
            } else {
                ordered.put(e.name, t);
            }
        }
        for (String name : tensors.keySet()) {
            if (entries.stream().noneMatch(e -> e.name.equals(name))) {
                problems.add("unexpected tensor '" + name + "'");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
        return ordered;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Entry e : entries) {
            sb.append(e.name).append(Arrays.toString(e.shape)).append(' ');
        }
        return sb.toString().trim();
    }
}
