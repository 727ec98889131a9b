package org.rnnkit.nn;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.tensor.MemoryBudget;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.variant.CellVariant;

/**
 * A multi-layer, optionally bidirectional recurrent layer with the semantics of PyTorch's {@code nn.RNN},
 * {@code nn.LSTM} (with {@code proj_size}) and {@code nn.GRU}: same equations, gate order, parameter names
 * and shapes, input and state layouts.
 *
 * <pre>{@code
 * RecurrentLayer lstm = RecurrentLayer.load(Path.of("lstm.safetensors"));   // exported from PyTorch
 * LayerOutput y = lstm.forward(Tensor.wrap(x, seqLen, batch, inputSize));
 * float[] out = y.output().data();                                          // (T, B, D*H_out)
 * }</pre>
 *
 * <p>Memory: building a layer, and every call, first sizes what it will allocate (parameters; results,
 * workspace and tape) and throws {@link org.rnnkit.tensor.MemoryBudgetException} (an
 * {@code IllegalArgumentException}) if that exceeds the {@link MemoryBudget}, before allocating any of it.
 *
 * <p>Thread safety: immutable once built (its one mutable field, a workspace-size memo, holds immutable
 * records and is safe to race). One layer may be used by any number of threads at once; each call
 * computes with its own (or the caller's per-thread) {@link Workspace}.
 */
public final class RecurrentLayer {
    private final RecurrentConfig config;
    private final Map<String, Tensor> parameters;
    private final Backend backend;
    private final LayerKernels kernels;

    private RecurrentLayer(RecurrentConfig config, Map<String, Tensor> checkedParameters, Backend backend) {
        this.config = config;
        this.parameters = checkedParameters;
        this.backend = backend;
        this.kernels = new LayerKernels(config, checkedParameters, backend);
    }

    // ---- construction ----------------------------------------------------------------------------------

    /** A builder for a layer of the given type. */
    public static Builder builder(CellType type) {
        return new Builder(type);
    }

    /** Builder for {@code nn.LSTM(inputSize, hiddenSize)}. */
    public static Builder lstm(int inputSize, int hiddenSize) {
        return builder(CellType.LSTM).inputSize(inputSize).hiddenSize(hiddenSize);
    }

    /** Builder for {@code nn.GRU(inputSize, hiddenSize)}. */
    public static Builder gru(int inputSize, int hiddenSize) {
        return builder(CellType.GRU).inputSize(inputSize).hiddenSize(hiddenSize);
    }

    /** Builder for {@code nn.RNN(inputSize, hiddenSize)} with tanh (or {@link CellType#RNN_RELU}). */
    public static Builder rnn(int inputSize, int hiddenSize, CellType nonlinearity) {
        if (nonlinearity != CellType.RNN_TANH && nonlinearity != CellType.RNN_RELU) {
            throw new IllegalArgumentException("nonlinearity: expected RNN_TANH or RNN_RELU, got " + nonlinearity);
        }
        return builder(nonlinearity).inputSize(inputSize).hiddenSize(hiddenSize);
    }

    /**
     * A layer with the given configuration and parameters ({@code state_dict} names and shapes), on a
     * backend. The tensors are copied: later changes to them do not reach the layer.
     *
     * @throws IllegalArgumentException listing every missing, unexpected and mis-shaped tensor
     */
    public static RecurrentLayer of(RecurrentConfig config, Map<String, Tensor> stateDict, Backend backend) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(stateDict, "stateDict");
        Objects.requireNonNull(backend, "backend");
        Map<String, Tensor> checked = ParameterLayout.checked(config, stateDict);
        Map<String, Tensor> copies = new LinkedHashMap<>();
        checked.forEach((k, v) -> copies.put(k, v.copy()));
        return new RecurrentLayer(config, Collections.unmodifiableMap(copies), backend);
    }

    /** A layer of {@code config} with PyTorch's default initialisation from {@code seed}, on {@code backend}. */
    public static RecurrentLayer initialized(RecurrentConfig config, long seed, Backend backend) {
        Objects.requireNonNull(config, "config");
        return of(config, Initializer.uniform(ParameterLayout.of(config), config.hiddenSize(), seed), backend);
    }

    /** Loads a layer saved by {@link #save} or exported from PyTorch, on the backend {@link Backends#get()} selects. */
    public static RecurrentLayer load(Path file) throws IOException {
        return load(file, Backends.get());
    }

    /**
     * Loads a layer from a model file, its format told by its content: rnnkit's safetensors file whose
     * {@code __metadata__} describes it (keys of the golden format: {@code mode}, {@code input_size},
     * {@code hidden_size}, {@code num_layers}, {@code bias}, {@code batch_first}, {@code bidirectional},
     * {@code proj_size}, and the cell variant's), or any format a module on the class path provides
     * ({@link org.rnnkit.io.ModelFormat}: ONNX with {@code rnn-onnx}, PyTorch's {@code torch.save} files
     * of whole modules with {@code rnn-torch}). Loading is strict.
     *
     * @throws ModelFormatException if the file is malformed, its metadata incomplete, or a tensor is missing,
     *     unexpected or mis-shaped (the message names it, with expected and actual shape), or no format
     *     recognises it
     */
    public static RecurrentLayer load(Path file, Backend backend) throws IOException {
        return load(file, LoadOptions.defaults(), backend);
    }

    /**
     * {@link #load(Path, Backend)} with what the file cannot say: e.g. a PyTorch state_dict's
     * {@code LoadOptions.defaults().withBatchFirst(false).withNonlinearity("relu")}.
     *
     * @throws IllegalArgumentException for options the file's format does not take
     */
    public static RecurrentLayer load(Path file, LoadOptions options, Backend backend) throws IOException {
        return LayerFiles.load(Objects.requireNonNull(file, "file"), Objects.requireNonNull(options, "options"),
                Objects.requireNonNull(backend, "backend"));
    }

    /** Loads a layer from a safetensors file with a configuration given by the caller (metadata ignored). */
    public static RecurrentLayer load(Path file, RecurrentConfig config, Backend backend) throws IOException {
        return LayerFiles.load(file, Objects.requireNonNull(config, "config"), Objects.requireNonNull(backend, "backend"));
    }

    /** Writes the parameters and the configuration as a safetensors file PyTorch's {@code load_state_dict} reads. */
    public void save(Path file) throws IOException {
        LayerFiles.save(file, this);
    }

    /** The parameters themselves, for this package's readers (never exposed: {@link #stateDict} copies). */
    Map<String, Tensor> parameters() {
        return parameters;
    }

    /** The same weights on another backend. */
    public RecurrentLayer withBackend(Backend other) {
        return new RecurrentLayer(config, parameters, Objects.requireNonNull(other, "backend"));
    }

    public RecurrentConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    /** A copy of the parameters, in PyTorch {@code state_dict} order and naming. */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> copy = new LinkedHashMap<>();
        parameters.forEach((k, v) -> copy.put(k, v.copy()));
        return copy;
    }

    // ---- forward ---------------------------------------------------------------------------------------

    /** Runs the layer from zero initial states. */
    public LayerOutput forward(Tensor input) {
        return forward(input, ForwardOptions.defaults());
    }

    /** Runs the layer from {@code h0} (null: zeros), as PyTorch's {@code rnn(x, h0)}; an LSTM's {@code c0} is zeros. */
    public LayerOutput forward(Tensor input, Tensor h0) {
        return forward(input, h0, null);
    }

    /**
     * Runs the layer from {@code h0} and, for an LSTM, {@code c0}, as PyTorch's {@code rnn(x, h0)} and
     * {@code lstm(x, (h0, c0))}.
     *
     * @param input {@code (T, B, I)}, {@code (B, T, I)} with {@code batch_first}, or unbatched {@code (T, I)}
     * @param h0 {@code (S, B, H_out)} ({@code (S, H_out)} unbatched), or null for zeros; {@code S = num_layers * D}
     * @param c0 LSTM only: {@code (S, B, H)} ({@code (S, H)} unbatched), or null for zeros
     * @throws IllegalArgumentException naming the argument, expected and actual shape, when a shape is wrong
     */
    public LayerOutput forward(Tensor input, Tensor h0, Tensor c0) {
        return forward(input, ForwardOptions.defaults().withInitialState(h0, c0));
    }

    /**
     * Runs the layer with the given options: initial states, a reused workspace, and per-row lengths with
     * exactly the semantics of PyTorch's {@code pack_padded_sequence(x, lengths, enforce_sorted=False)}, the
     * layer, then {@code pad_packed_sequence(total_length=T)}: row {@code b} runs steps
     * {@code 0..lengths[b]-1} only (the reverse direction starts at its own last step), its outputs past its
     * length are zeros, and {@code h_n}/{@code c_n} hold its state after its own last step. Input values
     * past a row's length are never read. Dropout does not apply (inference).
     *
     * @throws IllegalArgumentException naming the argument, expected and actual value: a shape, unbatched
     *     input with lengths, a lengths array of the wrong size, or a length outside {@code 1..T}
     */
    public LayerOutput forward(Tensor input, ForwardOptions options) {
        Objects.requireNonNull(options, "options: expected ForwardOptions, got null");
        LayerCall call = LayerCall.validate(config, input, options.lengthsView(), options.h0(), options.c0());
        return run(call, input, options.h0(), options.c0(), workspace(options), null);
    }

    /**
     * As {@link #forward(Tensor, ForwardOptions)}, writing the results into the caller's tensors instead of
     * fresh ones, so a loop that reuses them and the options' workspace allocates nothing per call.
     *
     * @param into tensors of the shapes {@code forward} would return ({@code cN} null unless LSTM)
     * @return {@code into}
     * @throws IllegalArgumentException if a result tensor has the wrong shape
     */
    public LayerOutput forward(Tensor input, ForwardOptions options, LayerOutput into) {
        Objects.requireNonNull(options, "options: expected ForwardOptions, got null");
        Objects.requireNonNull(into, "into: expected a LayerOutput, got null");
        Tensor h0 = options.h0(), c0 = options.c0();
        LayerCall call = LayerCall.validate(config, input, options.lengthsView(), h0, c0);
        Checks.requireShape("into.output", Checks.requireNonNull("into.output", into.output()), call.outShape());
        Checks.requireShape("into.hN", Checks.requireNonNull("into.hN", into.hN()), call.hShape());
        if (config.type().hasCellState()) {
            Checks.requireShape("into.cN", Checks.requireNonNull("into.cN", into.cN()), call.cShape());
        } else if (into.cN() != null) {
            throw new IllegalArgumentException("into.cN: only LSTM layers have a cell state; expected null for "
                    + config.type() + ", got shape " + Arrays.toString(into.cN().shape()));
        }
        fillState(into.hN(), h0);
        if (into.cN() != null) {
            fillState(into.cN(), c0);
        }
        kernels.requireMemory(call.seqLen(), call.batch(), false, false, this);
        // no clearing needed: kernels write every output element, zeros at padded steps (SPI contract)
        LayerForward.run(kernels, call.seqLen(), call.batch(), call.batchFirst(), call.lengths(), input.data(), 0,
                into.output().data(), 0, into.hN().data(), into.cN() == null ? null : into.cN().data(),
                workspace(options), null);
        return into;
    }

    private static Workspace workspace(ForwardOptions options) {
        Workspace ws = options.workspace();
        return ws != null ? ws : new Workspace();
    }

    private static void fillState(Tensor target, Tensor initial) {
        if (initial == null) {
            Arrays.fill(target.data(), 0f);
        } else {
            System.arraycopy(initial.data(), 0, target.data(), 0, target.size());
        }
    }

    /**
     * Runs the layer as {@link #forward(Tensor, ForwardOptions)} does from zero states, and records what
     * {@link #backward} needs. The trace keeps a reference to {@code input}: do not change it before the
     * backward pass.
     */
    public LayerTrace forwardTraining(Tensor input) {
        return forwardTraining(input, ForwardOptions.defaults());
    }

    /**
     * A training forward pass with the given options: lengths and initial states as for
     * {@link #forward(Tensor, ForwardOptions)}, and dropout between stacked layers as PyTorch's
     * {@code dropout} argument of {@code nn.RNN/LSTM/GRU} in training mode: each output element of every
     * layer but the last is zeroed with probability {@code dropout} and the others scaled by
     * {@code 1/(1-dropout)}, the masks kept for the backward pass. The options' workspace is not used (a
     * training pass allocates its tapes anyway).
     */
    public LayerTrace forwardTraining(Tensor input, ForwardOptions options) {
        Objects.requireNonNull(options, "options: expected ForwardOptions, got null");
        LayerCall call = LayerCall.validate(config, input, options.lengthsView(), options.h0(), options.c0());
        LayerTrace trace = new LayerTrace(this, config).begin(config, call, input, options.dropout(), options.seed());
        trace.output = run(call, input, options.h0(), options.c0(), new Workspace(), trace);
        return trace;
    }

    /**
     * Back-propagates through a {@link #forwardTraining} pass: the gradients of a loss whose gradients
     * with respect to {@code output}, {@code h_n} and {@code c_n} are {@code gOutput}, {@code ghN}, {@code gcN}
     * (each null when the loss does not use it).
     *
     * @throws IllegalArgumentException if the trace comes from another layer or a gradient has the wrong shape
     */
    public Gradients backward(LayerTrace trace, Tensor gOutput, Tensor ghN, Tensor gcN) {
        Objects.requireNonNull(trace, "trace: expected the result of forwardTraining, got null");
        if (trace.owner != this) {
            throw new IllegalArgumentException("trace: recorded by " + trace.owner + ", not by this layer " + this);
        }
        LayerCall.requireUpstream(config, trace.output, gOutput, ghN, gcN);
        return LayerBackward.run(kernels, trace, gOutput, ghN, gcN, new BackwardMemory(parameters, true));
    }

    // ---- streaming -------------------------------------------------------------------------------------

    /**
     * A fresh state (zeros) for {@code batch} streams through this layer.
     *
     * @throws IllegalStateException for a bidirectional or reverse layer: its reverse direction needs the
     *     whole sequence
     */
    public StreamState newStream(int batch) {
        if (config.bidirectional() || config.reverse()) {
            throw new IllegalStateException("a " + (config.reverse() ? "reverse" : "bidirectional") + " layer cannot"
                    + " stream: its reverse direction starts at the end of the sequence; run whole sequences with"
                    + " forward()");
        }
        if (batch < 1) {
            throw new IllegalArgumentException("batch: expected >= 1, got " + batch);
        }
        return new StreamState(this, batch);
    }

    /**
     * Continues the streams by the steps of {@code chunk} ({@code (T, B, I)}, or {@code (B, T, I)} with
     * batch_first) and returns their output ({@code (T, B, H_out)} / {@code (B, T, H_out)}).
     */
    public Tensor stream(StreamState state, Tensor chunk) {
        Checks.requireNonNull("chunk", chunk);
        checkStream(state);
        int b = state.batch, in = config.inputSize();
        int[] expected = config.batchFirst() ? new int[] {b, chunk.rank() == 3 ? chunk.dim(1) : -1, in}
                : new int[] {chunk.rank() == 3 ? chunk.dim(0) : -1, b, in};
        if (chunk.rank() != 3 || !chunk.sameShape(expected) || chunk.size() == 0) {
            throw new IllegalArgumentException("chunk: expected " + (config.batchFirst() ? "(B, T, I)" : "(T, B, I)")
                    + " with B=" + b + ", I=" + in + " and T >= 1, got " + chunk.shapeString());
        }
        int steps = chunk.dim(config.batchFirst() ? 1 : 0);
        kernels.requireMemory(steps, b, false, true, this);
        Tensor out = Tensor.zeros(config.batchFirst() ? new int[] {b, steps, config.hOut()}
                : new int[] {steps, b, config.hOut()});
        LayerForward.run(kernels, steps, b, config.batchFirst(), null, chunk.data(), 0, out.data(), 0, state.h,
                state.c, state.workspace, null);
        return out;
    }

    /**
     * Continues the streams by {@code steps} steps read from {@code x[xOff..]} and writes their output at
     * {@code out[outOff..]}, both in the layer's layout ({@code batch_first} or time-major). Allocates
     * nothing once the state's workspace has grown to the chunk size.
     *
     * @throws IllegalArgumentException if {@code steps < 1} or an array is too short for its offset
     */
    public void stream(StreamState state, float[] x, int xOff, int steps, float[] out, int outOff) {
        checkStream(state);
        if (steps < 1) {
            throw new IllegalArgumentException("steps: expected >= 1, got " + steps);
        }
        long inSize = (long) steps * state.batch * config.inputSize(), outSize = (long) steps * state.batch * config.hOut();
        checkRange("x", x, xOff, inSize);
        checkRange("out", out, outOff, outSize);
        kernels.requireMemory(steps, state.batch, false, false, this);
        LayerForward.run(kernels, steps, state.batch, config.batchFirst(), null, x, xOff, out, outOff, state.h,
                state.c, state.workspace, null);
    }

    /**
     * A training pass over {@code chunk} that starts from the stream's state and leaves the state at the
     * chunk's end: truncated BPTT. The trace's backward pass stops at the chunk's start (the state is
     * detached there): {@link Gradients#h0()} is the gradient reaching the cut.
     */
    public LayerTrace forwardTraining(StreamState state, Tensor chunk) {
        checkStream(state);
        LayerTrace t = forwardTraining(chunk, ForwardOptions.defaults().withInitialState(state.h(), state.c()));
        System.arraycopy(t.output().hN().data(), 0, state.h, 0, state.h.length);
        if (state.c != null) {
            System.arraycopy(t.output().cN().data(), 0, state.c, 0, state.c.length);
        }
        return t;
    }

    private void checkStream(StreamState state) {
        java.util.Objects.requireNonNull(state, "state: expected a StreamState, got null");
        if (state.layer != this) {
            throw new IllegalArgumentException("state: made by another layer (" + state.layer + "), not by " + this);
        }
    }

    private static void checkRange(String name, float[] a, int off, long size) {
        if (a == null) {
            throw new NullPointerException(name + ": expected an array, got null");
        }
        if (off < 0 || off + size > a.length) {
            throw new IllegalArgumentException(name + ": expected " + size + " floats from offset " + off
                    + ", but the array has " + a.length);
        }
    }

    /** Runs every layer and direction into fresh results; with a trace, keeps what backward needs. */
    private LayerOutput run(LayerCall call, Tensor input, Tensor h0, Tensor c0, Workspace ws, LayerTrace trace) {
        kernels.requireMemory(call.seqLen(), call.batch(), trace != null, true, this);
        Tensor output = Tensor.zeros(call.outShape());
        Tensor hN = h0 == null ? Tensor.zeros(call.hShape()) : h0.copy();
        Tensor cN = !config.type().hasCellState() ? null : c0 == null ? Tensor.zeros(call.cShape()) : c0.copy();
        LayerForward.run(kernels, call.seqLen(), call.batch(), call.batchFirst(), call.lengths(), input.data(), 0,
                output.data(), 0, hN.data(), cN == null ? null : cN.data(), ws, trace);
        return new LayerOutput(output, hN, cN);
    }

    @Override
    public String toString() {
        return "RecurrentLayer" + config + " on " + backend.name();
    }

    /**
     * Builds a layer: configuration as in PyTorch's constructors, parameters either given
     * ({@link #weights}) or initialised as PyTorch does from a seed ({@link #seed}), on a backend
     * ({@link Backends#get()} unless {@link #backend} is called).
     *
     * <p>Thread safety: not thread-safe; the built layer is.
     */
    public static final class Builder {
        private final CellType type;
        private int inputSize, hiddenSize, numLayers = 1, projSize;
        private boolean bias = true, batchFirst, bidirectional;
        private MergeMode mergeMode = MergeMode.CONCAT;
        private boolean reverse;
        private CellVariant variant = CellVariant.NONE;
        private long seed;
        private Map<String, Tensor> weights;
        private Backend backend;

        private Builder(CellType type) {
            this.type = Objects.requireNonNull(type, "type");
        }

        public Builder inputSize(int v) { inputSize = v; return this; }
        public Builder hiddenSize(int v) { hiddenSize = v; return this; }
        public Builder numLayers(int v) { numLayers = v; return this; }
        public Builder bias(boolean v) { bias = v; return this; }
        public Builder batchFirst(boolean v) { batchFirst = v; return this; }
        public Builder bidirectional(boolean v) { bidirectional = v; return this; }
        public Builder projSize(int v) { projSize = v; return this; }
        /** How a bidirectional layer combines its directions (default {@link MergeMode#CONCAT}, PyTorch's). */
        public Builder mergeMode(MergeMode v) { mergeMode = v; return this; }
        /** Run the one direction from the last step to the first (ONNX's {@code direction=reverse}). */
        public Builder reverse(boolean v) { reverse = v; return this; }
        /** How the cell differs from PyTorch's form (default {@link CellVariant#NONE}). */
        public Builder variant(CellVariant v) { variant = v; return this; }
        /** Seed of the default initialisation (ignored when {@link #weights} is given). */
        public Builder seed(long v) { seed = v; return this; }
        /** Parameters by {@code state_dict} name; checked strictly and copied by {@link #build}. */
        public Builder weights(Map<String, Tensor> v) { weights = v; return this; }
        public Builder backend(Backend v) { backend = v; return this; }

        /** The configuration so far. */
        public RecurrentConfig config() {
            return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional,
                    projSize, mergeMode, reverse, variant);
        }

        public RecurrentLayer build() {
            RecurrentConfig cfg = config();
            Map<String, Tensor> w = weights != null ? weights
                    : Initializer.uniform(ParameterLayout.of(cfg), cfg.hiddenSize(), seed);
            return of(cfg, w, backend != null ? backend : Backends.get());
        }
    }
}
