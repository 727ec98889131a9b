package org.rnnkit.nn;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;

/**
 * A recurrent layer being trained: it computes with the caller's parameter tensors themselves (not copies),
 * which an optimizer updates in place between steps, and it keeps all of its memory from one step to the
 * next: the kernels' prepared weights (re-packed in place by {@link #parametersChanged}), the tapes and the
 * kept outputs of stacked layers, the results and the gradients. A warm training step therefore allocates
 * nothing that grows with the sequence, and spends its time in the kernels.
 *
 * <pre>{@code
 * TrainableLayer rnn = TrainableLayer.of(config, parameters, backend);   // parameters: live tensors
 * LayerOutput out = rnn.forward(x, ForwardOptions.defaults());           // records what backward needs
 * Gradients g = rnn.backward(gOutput, null, null);                       // g.parameters() by name
 * optimizer.step(parameters, g.parameters());
 * rnn.parametersChanged();                                               // the kernels see the new values
 * }</pre>
 *
 * <p>What {@link #forward} and {@link #backward} return lives in the layer's memory and is rewritten by the
 * next call: copy what must outlast it. The input gradient is computed only when asked for (the input of
 * a first layer needs none).
 *
 * <p>Thread safety: not thread-safe; one training loop owns a trainable layer and its parameters.
 * {@link #snapshot()} gives an immutable, shareable {@link RecurrentLayer} of the current values.
 */
public final class TrainableLayer {
    private final RecurrentConfig config;
    private final Map<String, Tensor> parameters;
    private final Backend backend;
    private final LayerKernels kernels;
    private final LayerTrace trace;
    private final BackwardMemory memory;
    private final Workspace workspace = new Workspace();
    private Tensor output, hN, cN;
    private boolean recorded; // a forward pass with the current weights awaits its backward pass

    private TrainableLayer(RecurrentConfig config, Map<String, Tensor> parameters, Backend backend) {
        this.config = config;
        this.parameters = parameters;
        this.backend = backend;
        this.kernels = new LayerKernels(config, parameters, backend);
        this.trace = new LayerTrace(this, config);
        this.memory = new BackwardMemory(parameters, false);
    }

    /**
     * A trainable layer over {@code parameters} ({@code state_dict} names and shapes), which it uses as they
     * are: changes to their arrays reach the layer at {@link #parametersChanged}.
     *
     * @throws IllegalArgumentException listing every missing, unexpected and mis-shaped tensor
     */
    public static TrainableLayer of(RecurrentConfig config, Map<String, Tensor> parameters, Backend backend) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(parameters, "parameters");
        Objects.requireNonNull(backend, "backend");
        return new TrainableLayer(config, Collections.unmodifiableMap(ParameterLayout.checked(config, parameters)),
                backend);
    }

    public RecurrentConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    /** The live parameter tensors, in {@code state_dict} order. */
    public Map<String, Tensor> parameters() {
        return parameters;
    }

    /**
     * The forward pass of a training step, as {@link RecurrentLayer#forwardTraining}: lengths, initial states
     * and dropout from {@code options} (its workspace is not used: the layer has its own). {@code input} is
     * kept by reference until {@link #backward}: do not change it in between.
     *
     * @return the results, in memory the next forward pass rewrites
     */
    public LayerOutput forward(Tensor input, ForwardOptions options) {
        Objects.requireNonNull(options, "options: expected ForwardOptions, got null");
        LayerCall call = LayerCall.validate(config, input, options.lengthsView(), options.h0(), options.c0());
        kernels.requireMemory(call.seqLen(), call.batch(), true, true, this);
        recorded = false;
        trace.begin(config, call, input, options.dropout(), options.seed());
        output = BackwardMemory.sized(output, call.outShape());
        Tensor h = BackwardMemory.sized(hN, call.hShape());
        fill(h, options.h0());
        Tensor c = null;
        if (config.type().hasCellState()) {
            c = BackwardMemory.sized(cN, call.cShape());
            fill(c, options.c0());
        }
        hN = h;
        cN = c;
        LayerForward.run(kernels, call.seqLen(), call.batch(), call.batchFirst(), call.lengths(), input.data(), 0,
                output.data(), 0, hN.data(), cN == null ? null : cN.data(), workspace, trace);
        trace.output = new LayerOutput(output, hN, cN);
        recorded = true;
        return trace.output;
    }

    /**
     * Back-propagates the last {@link #forward}: gradients of every parameter and of the initial states
     * for upstream gradients of the output, {@code h_n} and {@code c_n} (each null for none), as
     * {@link RecurrentLayer#backward} computes them, except that {@link Gradients#input()} is null.
     *
     * @return gradients in memory the next backward pass rewrites
     * @throws IllegalStateException if no forward pass with the current parameters precedes it
     */
    public Gradients backward(Tensor gOutput, Tensor ghN, Tensor gcN) {
        return backward(gOutput, ghN, gcN, false);
    }

    /**
     * {@link #backward(Tensor, Tensor, Tensor)}, with the gradient of the input too when {@code inputGradient}
     * (for a layer whose input comes from trained parameters, such as a decoder fed an encoder's context).
     */
    public Gradients backward(Tensor gOutput, Tensor ghN, Tensor gcN, boolean inputGradient) {
        if (!recorded) {
            throw new IllegalStateException("backward: expected a forward pass since the last parametersChanged(),"
                    + " got none");
        }
        LayerCall.requireUpstream(config, trace.output, gOutput, ghN, gcN);
        memory.wantInput = inputGradient;
        return LayerBackward.run(kernels, trace, gOutput, ghN, gcN, memory);
    }

    /**
     * Brings the kernels up to date after the parameters' arrays changed (an optimizer step), re-packing the
     * prepared weights in place where the backend can. A forward pass recorded before must not be
     * back-propagated after.
     */
    public void parametersChanged() {
        kernels.update(parameters);
        recorded = false;
    }

    /** An immutable layer with copies of the current parameter values, on the same backend. */
    public RecurrentLayer snapshot() {
        return RecurrentLayer.of(config, parameters, backend);
    }

    private static void fill(Tensor target, Tensor initial) {
        if (initial == null) {
            Arrays.fill(target.data(), 0f);
        } else if (initial.data() != target.data()) {
            System.arraycopy(initial.data(), 0, target.data(), 0, target.size());
        }
    }

    @Override
    public String toString() {
        return "TrainableLayer" + config + " on " + backend.name();
    }
}
