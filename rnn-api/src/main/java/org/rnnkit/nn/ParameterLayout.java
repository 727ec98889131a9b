package org.rnnkit.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.rnnkit.tensor.MemoryBudget;
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

    /** At most this many problems are listed by {@link #check}; the rest are counted. */
    static final int LISTED_PROBLEMS = 8;

    /**
     * Checks {@code tensors} strictly against the layout of {@code cfg} ({@link #check}) and returns them in
     * layout order. The number of tensors is compared first, in constant time: a model file whose metadata
     * claims a billion layers has far fewer tensors than that, and is told so before any layout is built or
     * any memory sized for it.
     *
     * @throws IllegalArgumentException when tensors are missing, unexpected or mis-shaped
     * @throws org.rnnkit.tensor.MemoryBudgetException when the tensors are all there but the layer's
     *     parameters exceed the {@link MemoryBudget}
     */
    public static Map<String, Tensor> checked(RecurrentConfig cfg, Map<String, Tensor> tensors) {
        long perDirection = 2 + (cfg.bias() ? 2 : 0) + (cfg.projSize() > 0 ? 1 : 0) + (cfg.variant().peepholes() ? 1 : 0);
        long expected = perDirection * cfg.directions() * cfg.numLayers();
        if (expected > tensors.size() + LISTED_PROBLEMS) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "%s has %,d parameter tensors, "
                    + "%,d given: does the configuration (metadata) describe these tensors?", describe(cfg), expected,
                    tensors.size()));
        }
        return of(cfg).check(tensors);
    }

    /** The configuration in the words of its metadata, for messages. */
    static String describe(RecurrentConfig cfg) {
        return "a " + cfg.type() + " layer with input_size=" + cfg.inputSize() + ", hidden_size=" + cfg.hiddenSize()
                + ", num_layers=" + cfg.numLayers() + (cfg.bidirectional() ? ", bidirectional" : "")
                + (cfg.bias() ? "" : ", bias=false") + (cfg.projSize() > 0 ? ", proj_size=" + cfg.projSize() : "")
                + (cfg.variant().peepholes() ? ", peepholes" : "");
    }

    /**
     * Keys of a layer: per layer {@code k}, forward then {@code _reverse}: ih, hh, [bias ih, bias hh], [hr],
     * [{@code weight_peephole} of an LSTM with peepholes, {@code (3*H)}: {@code p_i, p_f, p_o}].
     *
     * @throws org.rnnkit.tensor.MemoryBudgetException if the parameters would exceed the {@link MemoryBudget}
     *     (checked first: a file's metadata may claim a billion layers)
     */
    public static ParameterLayout of(RecurrentConfig cfg) {
        double floats = 0;
        for (int k = 0; k < Math.min(cfg.numLayers(), 2); k++) { // layers above the second repeat the second
            double perDirection = (double) cfg.type().gates() * cfg.hiddenSize() * (cfg.layerInputSize(k) + cfg.hOut())
                    + (cfg.bias() ? 2.0 * cfg.type().gates() * cfg.hiddenSize() : 0)
                    + (double) cfg.projSize() * cfg.hiddenSize() + (cfg.variant().peepholes() ? 3.0 * cfg.hiddenSize() : 0);
            floats += perDirection * cfg.directions() * (k == 0 ? 1 : cfg.numLayers() - 1);
        }
        requireParameters(floats, describe(cfg));
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
                if (cfg.variant().peepholes()) {
                    list.add(new Entry("weight_peephole" + s, new int[] {3 * cfg.hiddenSize()}));
                }
            }
        }
        return new ParameterLayout(list);
    }

    /** Keys of a cell: {@code weight_ih}, {@code weight_hh}, [{@code bias_ih}, {@code bias_hh}]. */
    public static ParameterLayout ofCell(CellConfig cfg) {
        int rows = cfg.type().gates() * cfg.hiddenSize();
        requireParameters((double) rows * (cfg.inputSize() + cfg.hiddenSize() + (cfg.bias() ? 2 : 0)), "a " + cfg.type()
                + " cell with input_size=" + cfg.inputSize() + ", hidden_size=" + cfg.hiddenSize());
        List<Entry> list = new ArrayList<>();
        list.add(new Entry("weight_ih", new int[] {rows, cfg.inputSize()}));
        list.add(new Entry("weight_hh", new int[] {rows, cfg.hiddenSize()}));
        if (cfg.bias()) {
            list.add(new Entry("bias_ih", new int[] {rows}));
            list.add(new Entry("bias_hh", new int[] {rows}));
        }
        return new ParameterLayout(list);
    }

    private static void requireParameters(double floats, String what) {
        double bytes = floats * Float.BYTES;
        if (MemoryBudget.exceeds(bytes)) {
            throw MemoryBudget.exceeded(bytes, "the parameters of " + what);
        }
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
     * @throws IllegalArgumentException naming the missing, unexpected and mis-shaped tensors, with the
     *     expected and actual shapes: the first {@value #LISTED_PROBLEMS}, then how many more of each kind
     */
    public Map<String, Tensor> check(Map<String, Tensor> tensors) {
        List<String> problems = new ArrayList<>();
        int missing = 0, misshaped = 0, unexpected = 0;
        Map<String, Tensor> ordered = new LinkedHashMap<>();
        Set<String> expected = new HashSet<>();
        for (Entry e : entries) {
            expected.add(e.name);
            Tensor t = tensors.get(e.name);
            if (t == null) {
                missing++;
                listed(problems, "missing tensor '" + e.name + "' of shape " + Tensor.shapeString(e.shape));
            } else if (!t.sameShape(e.shape)) {
                misshaped++;
                listed(problems, "tensor '" + e.name + "': expected shape " + Tensor.shapeString(e.shape)
                        + ", got " + t.shapeString());
            } else {
                ordered.put(e.name, t);
            }
        }
        for (String name : tensors.keySet()) {
            if (!expected.contains(name)) {
                unexpected++;
                listed(problems, "unexpected tensor " + org.rnnkit.io.Untrusted.quote(name));
            }
        }
        int total = missing + misshaped + unexpected;
        if (total > problems.size()) {
            problems.add(String.format(java.util.Locale.ROOT, "and %,d more (%,d missing, %,d mis-shaped, %,d "
                    + "unexpected in all; %,d tensors expected, %,d given)", total - problems.size(), missing,
                    misshaped, unexpected, entries.size(), tensors.size()));
        }
        if (total > 0) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
        return ordered;
    }

    private static void listed(List<String> problems, String problem) {
        if (problems.size() < LISTED_PROBLEMS) {
            problems.add(problem);
        }
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
