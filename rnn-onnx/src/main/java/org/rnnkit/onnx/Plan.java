package org.rnnkit.onnx;

import java.util.List;
import org.rnnkit.nn.CellType;
import org.rnnkit.variant.CellVariant;

/**
 * What a recognised model computes, in rnnkit's terms: one recurrent layer (type, width, directions,
 * layout, variant; one node per stacked layer) and which graph inputs and outputs play which role.
 *
 * @param singleNode one ONNX node, run in ONNX's terms ({@code Y} with a directions axis, states
 *     {@code (D, B, H)} or with {@code layout=1} {@code (B, D, H)}); otherwise PyTorch's layer in PyTorch's
 *     layout ({@code output}, {@code h_n}, {@code c_n})
 * @param layers the recurrent nodes, layer 0 first
 * @param x the graph input of the sequence
 * @param lengths the graph input (or initializer) of {@code sequence_lens}, or null
 * @param h0 the graph input (or initializer) of the initial hidden state, or null for zeros
 * @param c0 the same for the LSTM's initial cell state
 * @param outputs the graph's outputs, in its order, with their roles
 *
 * <p>Thread safety: immutable.
 */
record Plan(boolean singleNode, CellType type, int hiddenSize, int directions, boolean reverse, boolean batchFirst,
        CellVariant variant, List<RecurrentNode> layers, String x, String lengths, String h0, String c0,
        List<Output> outputs) {

    /** A graph output and what it holds. */
    record Output(String name, Role role) {}

    /** The results a model can return. */
    enum Role {
        /** ONNX's {@code Y}: {@code (T, D, B, H)}, with {@code layout=1} {@code (B, T, D, H)}. */
        Y,
        /** ONNX's {@code Y_h}: {@code (D, B, H)}, with {@code layout=1} {@code (B, D, H)}. */
        Y_H,
        /** ONNX's {@code Y_c}, shaped as {@code Y_h}. */
        Y_C,
        /** PyTorch's {@code output}: {@code (T, B, D*H)}, {@code (B, T, D*H)} with batch_first. */
        OUTPUT,
        /** PyTorch's {@code h_n}: {@code (S, B, H)}. */
        H_N,
        /** PyTorch's {@code c_n}: {@code (S, B, H)}. */
        C_N
    }

    Plan {
        layers = List.copyOf(layers);
        outputs = List.copyOf(outputs);
    }
}
