package org.rnnkit.variant;

import java.util.Locale;

/**
 * One activation function of a recurrent cell, from the list of the ONNX {@code LSTM}, {@code GRU} and
 * {@code RNN} operators, with its parameters.
 *
 * <table>
 * <caption>Functions and their parameters (ONNX's definitions and defaults)</caption>
 * <tr><th>function</th><th>value</th><th>default alpha, beta</th></tr>
 * <tr><td>{@code Sigmoid}</td><td>{@code 1/(1+e^-x)}</td><td></td></tr>
 * <tr><td>{@code Tanh}</td><td>{@code tanh(x)}</td><td></td></tr>
 * <tr><td>{@code Relu}</td><td>{@code max(0, x)}</td><td></td></tr>
 * <tr><td>{@code HardSigmoid}</td><td>{@code min(1, max(0, alpha*x + beta))}</td><td>0.2, 0.5</td></tr>
 * <tr><td>{@code Affine}</td><td>{@code alpha*x + beta}</td><td>1, 0</td></tr>
 * <tr><td>{@code LeakyRelu}</td><td>{@code x >= 0 ? x : alpha*x}</td><td>0.01</td></tr>
 * <tr><td>{@code ThresholdedRelu}</td><td>{@code x > alpha ? x : 0}</td><td>1</td></tr>
 * <tr><td>{@code ScaledTanh}</td><td>{@code alpha*tanh(beta*x)}</td><td>1, 1</td></tr>
 * <tr><td>{@code Elu}</td><td>{@code x >= 0 ? x : alpha*(e^x - 1)}</td><td>1</td></tr>
 * <tr><td>{@code Softsign}</td><td>{@code x/(1+|x|)}</td><td></td></tr>
 * <tr><td>{@code Softplus}</td><td>{@code log(1+e^x)}</td><td></td></tr>
 * </table>
 *
 * Keras 3's {@code hard_sigmoid} is {@code HardSigmoid(1/6, 0.5)}; Keras 2's is {@code HardSigmoid(0.2, 0.5)}.
 *
 * @param function which function
 * @param alpha its first parameter, 0 for a function that takes none
 * @param beta its second parameter, 0 for a function that takes none
 *
 * <p>Thread safety: immutable.
 */
public record Activation(Function function, float alpha, float beta) {

    /** The functions, with ONNX's names. */
    public enum Function {
        SIGMOID("Sigmoid", 0, Float.NaN, Float.NaN),
        TANH("Tanh", 0, Float.NaN, Float.NaN),
        RELU("Relu", 0, Float.NaN, Float.NaN),
        HARD_SIGMOID("HardSigmoid", 2, 0.2f, 0.5f),
        AFFINE("Affine", 2, 1f, 0f),
        LEAKY_RELU("LeakyRelu", 1, 0.01f, Float.NaN),
        THRESHOLDED_RELU("ThresholdedRelu", 1, 1f, Float.NaN),
        SCALED_TANH("ScaledTanh", 2, 1f, 1f),
        ELU("Elu", 1, 1f, Float.NaN),
        SOFTSIGN("Softsign", 0, Float.NaN, Float.NaN),
        SOFTPLUS("Softplus", 0, Float.NaN, Float.NaN);

        private final String onnxName;
        private final int parameters;
        private final float defaultAlpha, defaultBeta;

        Function(String onnxName, int parameters, float defaultAlpha, float defaultBeta) {
            this.onnxName = onnxName;
            this.parameters = parameters;
            this.defaultAlpha = defaultAlpha;
            this.defaultBeta = defaultBeta;
        }

        /** The name in ONNX's {@code activations} attribute, e.g. {@code HardSigmoid}. */
        public String onnxName() {
            return onnxName;
        }

        /** Whether the function reads {@code alpha} (and so consumes an {@code activation_alpha} value). */
        public boolean takesAlpha() {
            return parameters >= 1;
        }

        /** Whether the function reads {@code beta} (and so consumes an {@code activation_beta} value). */
        public boolean takesBeta() {
            return parameters >= 2;
        }

        /** ONNX's default alpha (ONNX Runtime's reading), or NaN when the function takes none. */
        public float defaultAlpha() {
            return defaultAlpha;
        }

        /** ONNX's default beta (ONNX Runtime's reading), or NaN when the function takes none. */
        public float defaultBeta() {
            return defaultBeta;
        }

        /** The function of an ONNX name, case-insensitively ({@code hard_sigmoid} style too). */
        public static Function parse(String name) {
            String n = name == null ? "" : name.trim().replace("_", "").toLowerCase(Locale.ROOT);
            for (Function f : values()) {
                if (f.onnxName.toLowerCase(Locale.ROOT).equals(n)) {
                    return f;
                }
            }
            throw new IllegalArgumentException("activation: expected one of Sigmoid, Tanh, Relu, HardSigmoid, Affine,"
                    + " LeakyRelu, ThresholdedRelu, ScaledTanh, Elu, Softsign, Softplus, got '" + name + "'");
        }
    }

    /** {@code Sigmoid}. */
    public static final Activation SIGMOID = of(Function.SIGMOID);
    /** {@code Tanh}. */
    public static final Activation TANH = of(Function.TANH);
    /** {@code Relu}. */
    public static final Activation RELU = of(Function.RELU);

    /** Parameters a function does not take are stored as 0, so that equal functions are equal records. */
    public Activation {
        if (function == null) {
            throw new IllegalArgumentException("activation: expected a function, got null");
        }
        if (!function.takesAlpha()) {
            alpha = 0f;
        } else if (!Float.isFinite(alpha)) {
            throw new IllegalArgumentException("activation " + function.onnxName + ": alpha: expected a finite value, got "
                    + alpha);
        }
        if (!function.takesBeta()) {
            beta = 0f;
        } else if (!Float.isFinite(beta)) {
            throw new IllegalArgumentException("activation " + function.onnxName + ": beta: expected a finite value, got "
                    + beta);
        }
    }

    /** {@code function} with ONNX's default parameters. */
    public static Activation of(Function function) {
        if (function == null) {
            throw new IllegalArgumentException("activation: expected a function, got null");
        }
        return new Activation(function, function.defaultAlpha, function.defaultBeta);
    }

    /** {@code function} with {@code alpha} and ONNX's default beta. */
    public static Activation of(Function function, float alpha) {
        return new Activation(function, alpha, of(function).beta);
    }

    /**
     * Parses the form {@link #toString()} writes: an ONNX name, then for a function that takes parameters
     * optionally {@code (alpha)} or {@code (alpha,beta)}, e.g. {@code HardSigmoid(0.2,0.5)}.
     */
    public static Activation parse(String text) {
        String s = text == null ? "" : text.trim();
        int open = s.indexOf('(');
        if (open < 0) {
            return of(Function.parse(s));
        }
        if (!s.endsWith(")")) {
            throw new IllegalArgumentException("activation: expected Name or Name(alpha[,beta]), got '" + text + "'");
        }
        Function f = Function.parse(s.substring(0, open));
        String[] args = s.substring(open + 1, s.length() - 1).split(",", -1);
        if (args.length > f.parameters) {
            throw new IllegalArgumentException("activation " + f.onnxName + ": takes " + f.parameters
                    + " parameters, got " + args.length + " in '" + text + "'");
        }
        float a = args.length >= 1 ? number(args[0], text) : f.defaultAlpha;
        float b = args.length >= 2 ? number(args[1], text) : f.defaultBeta;
        return new Activation(f, a, b);
    }

    private static float number(String s, String text) {
        try {
            return Float.parseFloat(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("activation: expected a number, got '" + s.trim() + "' in '" + text + "'");
        }
    }

    /** The ONNX name, with the parameters the function takes: {@code Tanh}, {@code LeakyRelu(0.1)}, {@code Affine(2.0,0.5)}. */
    @Override
    public String toString() {
        return switch (function.parameters) {
            case 0 -> function.onnxName;
            case 1 -> function.onnxName + "(" + alpha + ")";
            default -> function.onnxName + "(" + alpha + "," + beta + ")";
        };
    }
}
