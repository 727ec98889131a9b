package org.rnnkit.variant;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How a recurrent cell differs from PyTorch's form ({@link #NONE}: not at all). The options are those of
 * the ONNX {@code LSTM}, {@code GRU} and {@code RNN} operators (and of Keras), in PyTorch's terms:
 *
 * <ul>
 *   <li>{@code activations}: the functions of the cell's slots, empty for the type's own. An RNN has one
 *       slot (its nonlinearity); a GRU two, {@code f} for the gates {@code r, z} and {@code g} for the
 *       candidate {@code n}; an LSTM three, {@code f} for the gates {@code i, f, o}, {@code g} for the
 *       candidate {@code g} and {@code h} for the cell output ({@code h' = o * h(c')}). A bidirectional
 *       layer may give one list for both directions or two, forward's then reverse's (ONNX's
 *       {@code activations} of 2 x slots).
 *   <li>{@code clip}: every pre-activation is clamped to {@code [-clip, clip]} before its function, except
 *       the cell output's {@code h(c')}; {@code +Infinity} for none.
 *   <li>{@code peepholes} (LSTM): {@code i} and {@code f} also see {@code p_i * c} and {@code p_f * c} of
 *       the incoming cell state, {@code o} sees {@code p_o * c'} of the new one; {@code p} is the layer's
 *       {@code weight_peephole} parameter ({@code 3*H}: {@code p_i, p_f, p_o}).
 *   <li>{@code inputForget} (LSTM): the forget gate is coupled, {@code f = 1 - i} (its weights are
 *       present and ignored, as in ONNX).
 *   <li>{@code resetBeforeProduct} (GRU): {@code n = g(W_in x + b_in + W_hn (r * h) + b_hn)}, the reset gate
 *       applied to {@code h} before the recurrent product (ONNX's {@code linear_before_reset=0}, Keras's
 *       {@code reset_after=False}), instead of PyTorch's {@code r * (W_hn h + b_hn)}.
 * </ul>
 *
 * @param activations functions per slot (see above), or empty for the type's own
 * @param clip the bound of the pre-activations, or {@code Float.POSITIVE_INFINITY} for no clipping
 * @param peepholes LSTM peephole connections
 * @param inputForget LSTM coupled input and forget gates
 * @param resetBeforeProduct GRU with the reset gate before the recurrent product
 *
 * <p>Thread safety: immutable.
 */
public record CellVariant(List<Activation> activations, float clip, boolean peepholes, boolean inputForget,
        boolean resetBeforeProduct) {

    /** PyTorch's form: the type's own activations, no clip, no peepholes, PyTorch's GRU. */
    public static final CellVariant NONE = new CellVariant(List.of(), Float.POSITIVE_INFINITY, false, false, false);

    /** Metadata keys of rnnkit's model file; each is absent when its option has the default value. */
    public static final String KEY_ACTIVATIONS = "activations", KEY_CLIP = "clip", KEY_PEEPHOLES = "peepholes",
            KEY_INPUT_FORGET = "input_forget", KEY_RESET_BEFORE_PRODUCT = "reset_before_product";

    public CellVariant {
        if (activations == null) {
            activations = List.of();
        }
        for (int i = 0; i < activations.size(); i++) {
            if (activations.get(i) == null) {
                throw new IllegalArgumentException("activations[" + i + "]: expected an activation, got null");
            }
        }
        activations = List.copyOf(activations);
        if (!(clip > 0)) { // NaN too
            throw new IllegalArgumentException("clip: expected a positive bound (or +Infinity for none), got " + clip);
        }
    }

    /** True for PyTorch's form. */
    public boolean isDefault() {
        return activations.isEmpty() && !hasClip() && !peepholes && !inputForget && !resetBeforeProduct;
    }

    /** Whether pre-activations are clipped. */
    public boolean hasClip() {
        return clip != Float.POSITIVE_INFINITY;
    }

    /** This variant with these activations (none: the type's own). */
    public CellVariant withActivations(Activation... functions) {
        return new CellVariant(List.of(functions), clip, peepholes, inputForget, resetBeforeProduct);
    }

    /** This variant with these activations (empty: the type's own). */
    public CellVariant withActivations(List<Activation> functions) {
        return new CellVariant(functions, clip, peepholes, inputForget, resetBeforeProduct);
    }

    /** This variant clipping pre-activations to {@code [-bound, bound]} ({@code +Infinity}: not at all). */
    public CellVariant withClip(float bound) {
        return new CellVariant(activations, bound, peepholes, inputForget, resetBeforeProduct);
    }

    /** This variant with or without LSTM peepholes. */
    public CellVariant withPeepholes(boolean on) {
        return new CellVariant(activations, clip, on, inputForget, resetBeforeProduct);
    }

    /** This variant with or without the LSTM's coupled input-forget gate. */
    public CellVariant withInputForget(boolean on) {
        return new CellVariant(activations, clip, peepholes, on, resetBeforeProduct);
    }

    /** This variant with the GRU's reset gate before ({@code true}) or after (PyTorch's) the recurrent product. */
    public CellVariant withResetBeforeProduct(boolean on) {
        return new CellVariant(activations, clip, peepholes, inputForget, on);
    }

    /**
     * The activations of one direction of a cell with {@code slots} slots: empty (the type's own), or
     * {@code slots} functions.
     *
     * @throws IllegalArgumentException when the list is neither empty, {@code slots} nor {@code 2*slots} long
     *     (the latter only for direction 0 or 1)
     */
    public List<Activation> activationsOf(int direction, int slots) {
        int n = activations.size();
        if (n == 0 || n == slots) {
            return activations;
        }
        if (n == 2 * slots && (direction == 0 || direction == 1)) {
            return activations.subList(direction * slots, (direction + 1) * slots);
        }
        throw new IllegalArgumentException("activations: expected " + slots + " functions (or " + 2 * slots
                + " for two directions), got " + n + ": " + activations);
    }

    /** The variant one direction runs: {@link #activationsOf} as its activations. */
    public CellVariant forDirection(int direction, int slots) {
        List<Activation> own = activationsOf(direction, slots);
        return own == activations ? this : new CellVariant(own, clip, peepholes, inputForget, resetBeforeProduct);
    }

    /** The options that differ from PyTorch's form, e.g. {@code CellVariant[activations=[HardSigmoid(0.2,0.5), Tanh, Tanh], peepholes]}. */
    @Override
    public String toString() {
        if (isDefault()) {
            return "CellVariant[PyTorch's form]";
        }
        List<String> parts = new ArrayList<>();
        if (!activations.isEmpty()) {
            parts.add("activations=" + activations);
        }
        if (hasClip()) {
            parts.add("clip=" + clip);
        }
        if (peepholes) {
            parts.add("peepholes");
        }
        if (inputForget) {
            parts.add("inputForget");
        }
        if (resetBeforeProduct) {
            parts.add("resetBeforeProduct");
        }
        return "CellVariant[" + String.join(", ", parts) + "]";
    }

    /** Adds the metadata of the options that differ from PyTorch's form to {@code meta}. */
    public void putMetadata(Map<String, String> meta) {
        if (!activations.isEmpty()) {
            List<String> names = new ArrayList<>();
            activations.forEach(a -> names.add(a.toString()));
            meta.put(KEY_ACTIVATIONS, String.join(";", names));
        }
        if (hasClip()) {
            meta.put(KEY_CLIP, Float.toString(clip));
        }
        if (peepholes) {
            meta.put(KEY_PEEPHOLES, "true");
        }
        if (inputForget) {
            meta.put(KEY_INPUT_FORGET, "true");
        }
        if (resetBeforeProduct) {
            meta.put(KEY_RESET_BEFORE_PRODUCT, "true");
        }
    }

    /** The variant that model-file metadata describes ({@link #NONE} when it names no option). */
    public static CellVariant fromMetadata(Map<String, String> meta) {
        List<Activation> acts = new ArrayList<>();
        String a = meta.get(KEY_ACTIVATIONS);
        if (a != null && !a.isBlank()) {
            for (String s : a.split(";")) {
                acts.add(Activation.parse(s));
            }
        }
        float clip = Float.POSITIVE_INFINITY;
        String c = meta.get(KEY_CLIP);
        if (c != null) {
            try {
                clip = Float.parseFloat(c.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("metadata: clip: expected a positive number, got '" + c + "'");
            }
        }
        return new CellVariant(acts, clip, bool(meta, KEY_PEEPHOLES), bool(meta, KEY_INPUT_FORGET),
                bool(meta, KEY_RESET_BEFORE_PRODUCT));
    }

    private static boolean bool(Map<String, String> meta, String key) {
        String v = meta.get(key);
        if (v == null) {
            return false;
        }
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true", "1" -> true;
            case "false", "0" -> false;
            default -> throw new IllegalArgumentException("metadata: " + key + ": expected true or false, got '" + v + "'");
        };
    }
}
