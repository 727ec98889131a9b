package org.rnnkit.onnx;

import java.util.ArrayList;
import java.util.List;
import org.rnnkit.io.Untrusted;
import org.rnnkit.nn.CellType;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.CellVariant;

/**
 * One {@code LSTM}, {@code GRU} or {@code RNN} node read into rnnkit's terms: the cell type, directions,
 * layout and {@link CellVariant} its attributes describe, and the names of its inputs and outputs by role
 * (empty when absent). Every attribute is checked here, against the operator's definition.
 *
 * <p>Thread safety: immutable.
 */
record RecurrentNode(Graph.Node node, CellType type, int hiddenSize, int directions, boolean reverse,
        boolean batchFirst, CellVariant variant, String x, String w, String r, String b, String lengths,
        String h0, String c0, String p, String y, String yh, String yc) {

    /** The onnx operator's input count: X, W, R, B, sequence_lens, initial_h (, initial_c, P for LSTM). */
    static RecurrentNode of(Graph.Node n, Graph graph) throws OnnxFormatException {
        boolean lstm = n.op.equals("LSTM"), gru = n.op.equals("GRU");
        int maxInputs = lstm ? 8 : 6, maxOutputs = lstm ? 3 : 2;
        if (n.inputs.size() < 3 || n.inputs.size() > maxInputs) {
            throw new OnnxFormatException(n.where + ": expected 3 to " + maxInputs + " inputs (X, W, R, ...), got "
                    + n.inputs.size());
        }
        if (n.outputs.size() > maxOutputs) {
            throw new OnnxFormatException(n.where + ": expected at most " + maxOutputs + " outputs, got "
                    + n.outputs.size());
        }
        for (int k = 0; k < 3; k++) {
            if (n.input(k).isEmpty()) {
                throw new OnnxFormatException(n.where + ": input " + k + " (" + List.of("X", "W", "R").get(k)
                        + ") is required, got none");
            }
        }
        String direction = n.s("direction", "forward");
        int directions;
        boolean reverse = false;
        switch (direction) {
            case "forward" -> directions = 1;
            case "reverse" -> {
                directions = 1;
                reverse = true;
            }
            case "bidirectional" -> directions = 2;
            default -> throw new OnnxFormatException(n.where + ": attribute 'direction': expected forward, reverse or "
                    + "bidirectional, got " + Untrusted.quote(direction));
        }
        long layout = n.i("layout", 0);
        if (layout != 0 && layout != 1) {
            throw new OnnxFormatException(n.where + ": attribute 'layout': expected 0 or 1, got " + layout);
        }
        long hidden = n.i("hidden_size", -1);
        if (!n.has("hidden_size")) {
            OnnxTensor rInit = graph.initializers.get(n.input(2));
            if (rInit == null || rInit.rank() != 3) {
                throw new OnnxFormatException(n.where + ": attribute 'hidden_size' is required when R is not an "
                        + "initializer of rank 3");
            }
            hidden = rInit.shape()[2];
        }
        if (hidden < 1 || hidden > Integer.MAX_VALUE / 8) {
            throw new OnnxFormatException(n.where + ": attribute 'hidden_size': expected 1 to " + Integer.MAX_VALUE / 8
                    + ", got " + hidden);
        }
        CellType type = lstm ? CellType.LSTM : gru ? CellType.GRU : CellType.RNN_TANH;
        CellVariant variant = CellVariant.NONE.withActivations(activations(n, type, directions));
        Float clip = n.f("clip");
        if (clip != null) {
            if (!(clip > 0)) { // NaN too
                throw new OnnxFormatException(n.where + ": attribute 'clip': expected a positive number, got " + clip);
            }
            variant = variant.withClip(clip);
        }
        long inputForget = n.i("input_forget", 0);
        if (inputForget != 0 && inputForget != 1) {
            throw new OnnxFormatException(n.where + ": attribute 'input_forget': expected 0 or 1, got " + inputForget);
        }
        variant = variant.withInputForget(inputForget == 1);
        long lbr = n.i("linear_before_reset", 0);
        if (lbr != 0 && lbr != 1) {
            throw new OnnxFormatException(n.where + ": attribute 'linear_before_reset': expected 0 or 1, got " + lbr);
        }
        // ONNX's default (0) applies the reset gate before the recurrent product; PyTorch's GRU is 1.
        variant = variant.withResetBeforeProduct(gru && lbr == 0);
        String p = lstm ? n.input(7) : "";
        variant = variant.withPeepholes(!p.isEmpty());
        return new RecurrentNode(n, type, (int) hidden, directions, reverse, layout == 1, variant, n.input(0),
                n.input(1), n.input(2), n.input(3), n.input(4), n.input(5), lstm ? n.input(6) : "", p, n.output(0),
                n.output(1), lstm ? n.output(2) : "");
    }

    /**
     * The activations with their parameters, read as ONNX Runtime reads them: a bidirectional node that
     * names one direction's functions uses them for both (the list is doubled first), then
     * {@code activation_alpha} and {@code activation_beta} are consumed in order by the functions that take
     * them; a function whose value has run out takes ONNX's default. Values left over are refused: they
     * would mean the file's writer expected another reading.
     */
    private static List<Activation> activations(Graph.Node n, CellType type, int directions)
            throws OnnxFormatException {
        List<String> names = n.strings("activations");
        List<Float> alphas = n.floats("activation_alpha"), betas = n.floats("activation_beta");
        int slots = type.activationSlots();
        if (names == null) {
            if (alphas != null || betas != null) {
                throw new OnnxFormatException(n.where + ": attribute 'activation_alpha'/'activation_beta' given without "
                        + "'activations'");
            }
            return List.of();
        }
        if (names.size() != slots && names.size() != slots * directions) {
            throw new OnnxFormatException(n.where + ": attribute 'activations': expected " + slots + " function"
                    + (slots == 1 ? "" : "s") + (directions == 2 ? " (or " + 2 * slots + ", per direction)" : "")
                    + ", got " + names.size());
        }
        List<String> all = new ArrayList<>(names);
        if (directions == 2 && names.size() == slots) {
            all.addAll(names);
        }
        List<Activation> out = new ArrayList<>();
        int ai = 0, bi = 0;
        for (String name : all) {
            Activation.Function f;
            try {
                f = Activation.Function.parse(name);
            } catch (IllegalArgumentException e) {
                throw new OnnxFormatException(n.where + ": attribute 'activations': " + Untrusted.line(e.getMessage(), 300));
            }
            float alpha = f.defaultAlpha(), beta = f.defaultBeta();
            if (f.takesAlpha() && alphas != null && ai < alphas.size()) {
                alpha = alphas.get(ai++);
            }
            if (f.takesBeta() && betas != null && bi < betas.size()) {
                beta = betas.get(bi++);
            }
            try {
                out.add(new Activation(f, alpha, beta));
            } catch (IllegalArgumentException e) {
                throw new OnnxFormatException(n.where + ": attribute 'activations': " + e.getMessage());
            }
        }
        if (alphas != null && ai < alphas.size() || betas != null && bi < betas.size()) {
            throw new OnnxFormatException(n.where + ": attribute 'activation_alpha'/'activation_beta': "
                    + (alphas == null ? 0 : alphas.size()) + "/" + (betas == null ? 0 : betas.size())
                    + " values given, but the functions " + all + " take " + ai + "/" + bi);
        }
        return out;
    }

    int gates() {
        return type.gates();
    }
}
