package org.rnnkit.nn;

import java.util.Locale;

/**
 * How a bidirectional layer combines its two directions' outputs at each step. {@link #CONCAT} is
 * PyTorch's behaviour (and the default); the others are Keras's {@code Bidirectional(merge_mode=...)}.
 * With any mode but {@code CONCAT}, an output row (and the input of the next stacked layer) is
 * {@code H_out} wide instead of {@code 2*H_out}; {@code h_n}/{@code c_n} keep both directions either way.
 *
 * <p>Thread safety: immutable.
 */
public enum MergeMode {
    /** {@code [forward, reverse]}, PyTorch's layout. */
    CONCAT,
    /** {@code forward + reverse}. */
    SUM,
    /** {@code forward * reverse}, elementwise. */
    MUL,
    /** {@code (forward + reverse) / 2}. */
    AVERAGE;

    /** The merged value of a forward and a reverse output element ({@code CONCAT} keeps both: not defined). */
    public float apply(float fwd, float rev) {
        return switch (this) {
            case SUM -> fwd + rev;
            case MUL -> fwd * rev;
            case AVERAGE -> (fwd + rev) * 0.5f;
            case CONCAT -> throw new UnsupportedOperationException("concat keeps both values");
        };
    }

    /** dL/d(forward element) given dL/d(merged element) {@code g} and the reverse element. */
    public float gradForward(float g, float rev) {
        return this == MUL ? g * rev : this == AVERAGE ? 0.5f * g : g;
    }

    /** dL/d(reverse element) given dL/d(merged element) {@code g} and the forward element. */
    public float gradReverse(float g, float fwd) {
        return this == MUL ? g * fwd : this == AVERAGE ? 0.5f * g : g;
    }

    /** The metadata value, lower case: {@code concat}, {@code sum}, {@code mul}, {@code average}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a metadata value (case-insensitive; {@code ave} and {@code avg} too). */
    public static MergeMode parse(String s) {
        String v = s == null ? "" : s.trim().toUpperCase(Locale.ROOT);
        return switch (v) {
            case "CONCAT" -> CONCAT;
            case "SUM" -> SUM;
            case "MUL" -> MUL;
            case "AVERAGE", "AVE", "AVG" -> AVERAGE;
            default -> throw new IllegalArgumentException("merge_mode: expected concat, sum, mul or average, got '" + s + "'");
        };
    }
}
