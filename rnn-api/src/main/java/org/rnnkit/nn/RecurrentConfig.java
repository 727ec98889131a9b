package org.rnnkit.nn;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.CellVariant;

/**
 * The hyper-parameters of a recurrent layer, with the names and meaning of PyTorch's {@code nn.RNN},
 * {@code nn.LSTM} and {@code nn.GRU} constructors.
 *
 * @param type recurrence ({@code mode} in the model file)
 * @param inputSize features per input step ({@code input_size})
 * @param hiddenSize H ({@code hidden_size})
 * @param numLayers stacked layers ({@code num_layers})
 * @param bias whether the layer has {@code bias_ih}/{@code bias_hh}
 * @param batchFirst input and output are {@code (B, T, F)} instead of {@code (T, B, F)}; states are
 *     always {@code (S, B, F)}
 * @param bidirectional run a reverse direction too and concatenate the outputs
 * @param projSize LSTM projection width P ({@code proj_size}), 0 for none; must be smaller than H
 * @param mergeMode how a bidirectional layer combines its directions ({@link MergeMode#CONCAT}, PyTorch's, by default)
 * @param reverse the layer's one direction runs from the last step to the first (ONNX's
 *     {@code direction=reverse}; Keras's {@code go_backwards}, whose outputs are then in input-step order,
 *     not in processing order); only without {@code bidirectional}
 * @param variant how the cell differs from PyTorch's form ({@link CellVariant#NONE} for not at all);
 *     stored normalised: activations equal to the type's own are dropped, and an RNN whose one activation
 *     is tanh or relu is {@link CellType#RNN_TANH} or {@link CellType#RNN_RELU} without activations (for an
 *     RNN with other activations, the type is {@code RNN_TANH} and the activation replaces tanh)
 *
 * <p>Thread safety: immutable.
 */
public record RecurrentConfig(CellType type, int inputSize, int hiddenSize, int numLayers, boolean bias,
        boolean batchFirst, boolean bidirectional, int projSize, MergeMode mergeMode, boolean reverse,
        CellVariant variant) {

    /** Metadata keys of the model file, as in the golden-case format. */
    public static final String KEY_MODE = "mode", KEY_INPUT = "input_size", KEY_HIDDEN = "hidden_size",
            KEY_LAYERS = "num_layers", KEY_BIDIRECTIONAL = "bidirectional", KEY_BATCH_FIRST = "batch_first",
            KEY_BIAS = "bias", KEY_PROJ = "proj_size", KEY_CELL = "cell", KEY_MERGE = "merge_mode",
            KEY_REVERSE = "reverse";

    /** A configuration of PyTorch's form, its directions combined by {@code mergeMode}. */
    public RecurrentConfig(CellType type, int inputSize, int hiddenSize, int numLayers, boolean bias,
            boolean batchFirst, boolean bidirectional, int projSize, MergeMode mergeMode) {
        this(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, projSize, mergeMode, false,
                CellVariant.NONE);
    }

    private static void checkVariant(CellType type, boolean bidirectional, CellVariant v) {
        if (v.peepholes() && type != CellType.LSTM) {
            throw new IllegalArgumentException("peepholes: only LSTM layers have peepholes; got them for " + type);
        }
        if (v.inputForget() && type != CellType.LSTM) {
            throw new IllegalArgumentException("input_forget: only LSTM layers couple the input and forget gates;"
                    + " got it for " + type);
        }
        if (v.resetBeforeProduct() && type != CellType.GRU) {
            throw new IllegalArgumentException("reset_before_product: only GRU layers have a reset gate; got it for "
                    + type);
        }
        int n = v.activations().size(), slots = type.activationSlots();
        if (n != 0 && n != slots && !(n == 2 * slots && bidirectional)) {
            throw new IllegalArgumentException("activations: a " + type + " layer takes " + slots + " activation"
                    + (slots == 1 ? "" : "s") + (bidirectional ? " (or " + 2 * slots + ", per direction)" : "")
                    + ", got " + n + ": " + v.activations());
        }
    }

    /** A configuration with PyTorch's concatenation of directions. */
    public RecurrentConfig(CellType type, int inputSize, int hiddenSize, int numLayers, boolean bias,
            boolean batchFirst, boolean bidirectional, int projSize) {
        this(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, projSize, MergeMode.CONCAT);
    }

    public RecurrentConfig {
        if (mergeMode == null) {
            throw new IllegalArgumentException("merge_mode: expected concat, sum, mul or average, got null");
        }
        if (mergeMode != MergeMode.CONCAT && !bidirectional) {
            throw new IllegalArgumentException("merge_mode: " + mergeMode.key()
                    + " combines two directions; it needs bidirectional=true");
        }
        if (type == null) {
            throw new IllegalArgumentException("mode: expected RNN_TANH, RNN_RELU, LSTM or GRU, got null");
        }
        if (reverse && bidirectional) {
            throw new IllegalArgumentException("reverse: a bidirectional layer already runs both directions;"
                    + " reverse=true needs bidirectional=false");
        }
        if (variant == null) {
            variant = CellVariant.NONE;
        }
        checkVariant(type, bidirectional, variant);
        // Normal form: an RNN's tanh or relu is its type; activations equal to the type's own are dropped.
        List<Activation> acts = variant.activations();
        int slots = type.activationSlots();
        if (!acts.isEmpty() && (acts.size() == slots || acts.subList(0, slots).equals(acts.subList(slots, 2 * slots)))) {
            acts = acts.subList(0, slots);
            if (slots == 1 && acts.get(0).equals(Activation.TANH)) {
                type = CellType.RNN_TANH;
                acts = List.of();
            } else if (slots == 1 && acts.get(0).equals(Activation.RELU)) {
                type = CellType.RNN_RELU;
                acts = List.of();
            } else if (acts.equals(type.defaultActivations())) {
                acts = List.of();
            }
            variant = variant.withActivations(acts);
        }
        if (type.activationSlots() == 1 && !variant.activations().isEmpty()) {
            type = CellType.RNN_TANH; // its activations replace the nonlinearity
        }
        requirePositive("input_size", inputSize);
        requirePositive("hidden_size", hiddenSize);
        requirePositive("num_layers", numLayers);
        if (projSize < 0) {
            throw new IllegalArgumentException("proj_size: expected >= 0, got " + projSize);
        }
        if (projSize > 0 && type != CellType.LSTM) {
            throw new IllegalArgumentException("proj_size: only LSTM layers project; got proj_size=" + projSize
                    + " for " + type);
        }
        if (projSize >= hiddenSize) {
            throw new IllegalArgumentException("proj_size: expected smaller than hidden_size=" + hiddenSize
                    + ", got " + projSize);
        }
        // Largest weight is (G*H) x max(I, D*H_out): keep every array index within int range.
        long cols = Math.max(inputSize, (bidirectional ? 2L : 1L) * hiddenSize);
        if ((long) type.gates() * hiddenSize * cols > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("hidden_size: " + hiddenSize + " with input_size " + inputSize
                    + " makes a weight matrix of more than 2^31 elements");
        }
    }

    /** {@code nn.LSTM(inputSize, hiddenSize)}: one layer, bias, time-major, one direction. */
    public static RecurrentConfig lstm(int inputSize, int hiddenSize) {
        return new RecurrentConfig(CellType.LSTM, inputSize, hiddenSize, 1, true, false, false, 0);
    }

    /** {@code nn.GRU(inputSize, hiddenSize)}: one layer, bias, time-major, one direction. */
    public static RecurrentConfig gru(int inputSize, int hiddenSize) {
        return new RecurrentConfig(CellType.GRU, inputSize, hiddenSize, 1, true, false, false, 0);
    }

    /** {@code nn.RNN(inputSize, hiddenSize, nonlinearity)} with {@link CellType#RNN_TANH} or {@link CellType#RNN_RELU}. */
    public static RecurrentConfig rnn(int inputSize, int hiddenSize, CellType nonlinearity) {
        if (nonlinearity != CellType.RNN_TANH && nonlinearity != CellType.RNN_RELU) {
            throw new IllegalArgumentException("nonlinearity: expected RNN_TANH or RNN_RELU, got " + nonlinearity);
        }
        return new RecurrentConfig(nonlinearity, inputSize, hiddenSize, 1, true, false, false, 0);
    }

    /** This configuration with {@code num_layers} stacked layers. */
    public RecurrentConfig withNumLayers(int numLayers) {
        return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, projSize,
                mergeMode, reverse, variant);
    }

    /** This configuration with or without {@code bias_ih}/{@code bias_hh}. */
    public RecurrentConfig withBias(boolean bias) {
        return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, projSize,
                mergeMode, reverse, variant);
    }

    /** This configuration with {@code (B, T, F)} input and output. */
    public RecurrentConfig withBatchFirst(boolean batchFirst) {
        return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, projSize,
                mergeMode, reverse, variant);
    }

    /** This configuration with a reverse direction too, its outputs concatenated (PyTorch's). */
    public RecurrentConfig withBidirectional(boolean bidirectional) {
        return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, projSize,
                bidirectional ? mergeMode : MergeMode.CONCAT, reverse && !bidirectional, variant);
    }

    /** This configuration with an LSTM projection of width {@code projSize} (0: none). */
    public RecurrentConfig withProjSize(int projSize) {
        return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, projSize,
                mergeMode, reverse, variant);
    }

    /** This configuration combining its two directions by {@code mode} (needs bidirectional). */
    public RecurrentConfig withMergeMode(MergeMode mode) {
        return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, projSize,
                mode, reverse, variant);
    }

    /** This configuration running its one direction from the last step to the first (needs bidirectional=false). */
    public RecurrentConfig withReverse(boolean reverse) {
        return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, projSize,
                mergeMode, reverse, variant);
    }

    /** This configuration with the cell variant {@code variant} ({@link CellVariant#NONE}: PyTorch's form). */
    public RecurrentConfig withVariant(CellVariant variant) {
        return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, projSize,
                mergeMode, reverse, variant);
    }

    /** Whether direction {@code dir} of each layer runs from the last step to the first. */
    public boolean reversed(int dir) {
        return dir == 1 || reverse;
    }

    static void requirePositive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + v);
        }
    }

    /** Directions: 2 when bidirectional, else 1. */
    public int directions() {
        return bidirectional ? 2 : 1;
    }

    /** Width of {@code h} and of each direction's output: P when projecting, else H. */
    public int hOut() {
        return projSize > 0 ? projSize : hiddenSize;
    }

    /** Width of one output row: {@code D * hOut} (concatenated), or {@code hOut} when the directions are merged. */
    public int outputSize() {
        return mergeMode == MergeMode.CONCAT ? directions() * hOut() : hOut();
    }

    /** Number of state slices {@code S = num_layers * D} of {@code h0}/{@code h_n}. */
    public int stateCount() {
        return numLayers * directions();
    }

    /** Input width of layer {@code k}: {@code input_size} for the first, {@link #outputSize()} above. */
    public int layerInputSize(int k) {
        return k == 0 ? inputSize : outputSize();
    }

    /** The model-file metadata for this configuration (all values are strings). */
    public Map<String, String> toMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(KEY_MODE, type.name());
        m.put(KEY_INPUT, Integer.toString(inputSize));
        m.put(KEY_HIDDEN, Integer.toString(hiddenSize));
        m.put(KEY_LAYERS, Integer.toString(numLayers));
        m.put(KEY_BIDIRECTIONAL, Boolean.toString(bidirectional));
        m.put(KEY_BATCH_FIRST, Boolean.toString(batchFirst));
        m.put(KEY_BIAS, Boolean.toString(bias));
        m.put(KEY_PROJ, Integer.toString(projSize));
        m.put(KEY_CELL, "false");
        if (mergeMode != MergeMode.CONCAT) {
            m.put(KEY_MERGE, mergeMode.key()); // absent for PyTorch's layout, so PyTorch files stay unchanged
        }
        if (reverse) {
            m.put(KEY_REVERSE, "true");
        }
        variant.putMetadata(m); // only what differs from PyTorch's form
        return m;
    }

    /**
     * Reads a configuration from model-file metadata. Required: {@code mode}, {@code input_size},
     * {@code hidden_size}; the rest default as in PyTorch ({@code num_layers=1}, {@code bias=true},
     * {@code batch_first=false}, {@code bidirectional=false}, {@code proj_size=0}, and rnnkit's
     * {@code merge_mode=concat}, {@code reverse=false} and PyTorch's cell: see {@link CellVariant#fromMetadata}).
     *
     * @throws IllegalArgumentException naming the key when one is missing or malformed, or when the
     *     metadata describes a cell ({@code cell=true})
     */
    public static RecurrentConfig fromMetadata(Map<String, String> meta) {
        if (parseBool(meta, KEY_CELL, false)) {
            throw new IllegalArgumentException("metadata: cell=true describes a cell, not a layer");
        }
        return new RecurrentConfig(CellType.parse(required(meta, KEY_MODE)), parseInt(meta, KEY_INPUT, null),
                parseInt(meta, KEY_HIDDEN, null), parseInt(meta, KEY_LAYERS, 1), parseBool(meta, KEY_BIAS, true),
                parseBool(meta, KEY_BATCH_FIRST, false), parseBool(meta, KEY_BIDIRECTIONAL, false),
                parseInt(meta, KEY_PROJ, 0),
                meta.containsKey(KEY_MERGE) ? MergeMode.parse(meta.get(KEY_MERGE)) : MergeMode.CONCAT,
                parseBool(meta, KEY_REVERSE, false), CellVariant.fromMetadata(meta));
    }

    static String required(Map<String, String> meta, String key) {
        String v = meta.get(key);
        if (v == null) {
            throw new IllegalArgumentException("metadata: missing key '" + key + "'");
        }
        return v;
    }

    static int parseInt(Map<String, String> meta, String key, Integer dflt) {
        String v = meta.get(key);
        if (v == null) {
            if (dflt == null) {
                throw new IllegalArgumentException("metadata: missing key '" + key + "'");
            }
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("metadata: " + key + ": expected a decimal integer, got '" + v + "'");
        }
    }

    static boolean parseBool(Map<String, String> meta, String key, boolean dflt) {
        String v = meta.get(key);
        if (v == null) {
            return dflt;
        }
        switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true", "1":
                return true;
            case "false", "0":
                return false;
            default:
                throw new IllegalArgumentException("metadata: " + key + ": expected true or false, got '" + v + "'");
        }
    }
}
