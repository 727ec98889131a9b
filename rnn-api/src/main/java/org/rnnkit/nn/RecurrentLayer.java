package org.rnnkit.nn;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.internal.KernelAccess;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.io.SafeTensorsFile;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;
import org.rnnkit.tensor.MemoryBudget;
import org.rnnkit.tensor.Tensor;

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
    private final RecurrentKernel<?> kernel;
    private final PreparedWeights[] prepared; // index layer * D + direction
    private final KernelShape[] shapes; // per layer

    private RecurrentLayer(RecurrentConfig config, Map<String, Tensor> checkedParameters, Backend backend) {
        this.config = config;
        this.parameters = checkedParameters;
        this.backend = backend;
        this.kernel = KernelAccess.kernels(backend).kernel(config.type().recurrence());
        int d = config.directions();
        this.prepared = new PreparedWeights[config.numLayers() * d];
        this.shapes = new KernelShape[config.numLayers()];
        for (int k = 0; k < config.numLayers(); k++) {
            shapes[k] = new KernelShape(config.type().recurrence(), config.layerInputSize(k), config.hiddenSize(),
                    config.projSize(), config.bias());
            for (int dir = 0; dir < d; dir++) {
                prepared[k * d + dir] = kernel.prepare(shapes[k], weightsOf(k, dir));
            }
        }
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

    /** Loads a layer saved by {@link #save} or exported from PyTorch, on the backend {@link Backends#get()} selects. */
    public static RecurrentLayer load(Path file) throws IOException {
        return load(file, Backends.get());
    }

    /**
     * Loads a layer from a safetensors file whose {@code __metadata__} describes it (keys of the golden
     * format: {@code mode}, {@code input_size}, {@code hidden_size}, {@code num_layers}, {@code bias},
     * {@code batch_first}, {@code bidirectional}, {@code proj_size}). Loading is strict.
     *
     * @throws ModelFormatException if the file is malformed, its metadata incomplete, or a tensor is missing,
     *     unexpected or mis-shaped (the message names it, with expected and actual shape)
     */
    public static RecurrentLayer load(Path file, Backend backend) throws IOException {
        SafeTensorsFile f = SafeTensors.read(file);
        RecurrentConfig config;
        try {
            config = RecurrentConfig.fromMetadata(f.metadata());
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": " + e.getMessage());
        }
        return load(f, config, backend, file);
    }

    /** Loads a layer from a safetensors file with a configuration given by the caller (metadata ignored). */
    public static RecurrentLayer load(Path file, RecurrentConfig config, Backend backend) throws IOException {
        return load(SafeTensors.read(file), config, backend, file);
    }

    private static RecurrentLayer load(SafeTensorsFile f, RecurrentConfig config, Backend backend, Path file)
            throws ModelFormatException {
        try {
            return of(config, f.tensors(), backend);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": " + e.getMessage());
        }
    }

    /** Writes the parameters and the configuration as a safetensors file PyTorch's {@code load_state_dict} reads. */
    public void save(Path file) throws IOException {
        SafeTensors.write(file, parameters, config.toMetadata());
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
        return forward(input, null, null, new Workspace());
    }

    /** Runs the layer from {@code h0} (null: zeros); an LSTM's {@code c0} is zeros. */
    public LayerOutput forward(Tensor input, Tensor h0) {
        return forward(input, h0, null, new Workspace());
    }

    /** Runs the layer from {@code h0} and, for an LSTM, {@code c0} (each null: zeros). */
    public LayerOutput forward(Tensor input, Tensor h0, Tensor c0) {
        return forward(input, h0, c0, new Workspace());
    }

    /**
     * Runs the layer.
     *
     * @param input {@code (T, B, I)}, {@code (B, T, I)} with {@code batch_first}, or unbatched {@code (T, I)}
     * @param h0 {@code (S, B, H_out)} ({@code (S, H_out)} unbatched), or null for zeros; {@code S = num_layers * D}
     * @param c0 LSTM only: {@code (S, B, H)} ({@code (S, H)} unbatched), or null for zeros
     * @param ws scratch memory, reused across calls by one thread
     * @throws IllegalArgumentException naming the argument, expected and actual shape, when a shape is wrong
     * @throws NullPointerException when {@code input} or {@code ws} is null
     */
    public LayerOutput forward(Tensor input, Tensor h0, Tensor c0, Workspace ws) {
        return forward(input, null, h0, c0, ws);
    }

    /**
     * Runs the layer on a padded batch whose rows have their own lengths, with exactly the semantics of
     * PyTorch's {@code pack_padded_sequence(x, lengths, enforce_sorted=False)}, the layer, then
     * {@code pad_packed_sequence(total_length=T)}: row {@code b} runs steps {@code 0..lengths[b]-1} only
     * (the reverse direction starts at its own last step), its outputs past its length are zeros, and
     * {@code h_n}/{@code c_n} hold its state after its own last step. Input values past a row's length are
     * never read.
     *
     * @param lengths one length per batch row, each in {@code 1..T}, any order; null means every row has T steps
     * @throws IllegalArgumentException for unbatched input with lengths, a lengths array of the wrong size,
     *     or a length outside {@code 1..T}
     */
    public LayerOutput forward(Tensor input, int[] lengths, Tensor h0, Tensor c0, Workspace ws) {
        Objects.requireNonNull(ws, "ws: expected a Workspace, got null");
        Call call = validate(input, lengths, h0, c0);
        return run(call, input, h0, c0, ws, null);
    }

    /**
     * As {@link #forward(Tensor, int[], Tensor, Tensor, Workspace)}, writing the results into the caller's
     * tensors instead of fresh ones, so a loop that reuses them and {@code ws} allocates nothing per call.
     *
     * @param into tensors of the shapes {@code forward} would return ({@code cN} null unless LSTM)
     * @return {@code into}
     * @throws IllegalArgumentException if a result tensor has the wrong shape
     */
    public LayerOutput forward(Tensor input, int[] lengths, Tensor h0, Tensor c0, Workspace ws, LayerOutput into) {
        Objects.requireNonNull(ws, "ws: expected a Workspace, got null");
        Objects.requireNonNull(into, "into: expected a LayerOutput, got null");
        Call call = validate(input, lengths, h0, c0);
        Checks.requireShape("into.output", Checks.requireNonNull("into.output", into.output()), call.outShape);
        Checks.requireShape("into.hN", Checks.requireNonNull("into.hN", into.hN()), call.hShape);
        if (config.type().hasCellState()) {
            Checks.requireShape("into.cN", Checks.requireNonNull("into.cN", into.cN()), call.cShape);
        } else if (into.cN() != null) {
            throw new IllegalArgumentException("into.cN: only LSTM layers have a cell state; expected null for "
                    + config.type() + ", got shape " + java.util.Arrays.toString(into.cN().shape()));
        }
        fillState(into.hN(), h0);
        if (into.cN() != null) {
            fillState(into.cN(), c0);
        }
        requireMemory(call.seqLen, call.batch, false, false);
        // no clearing needed: kernels write every output element, zeros at padded steps (SPI contract)
        runInto(call.seqLen, call.batch, call.batchFirst, call.lengths, input.data(), 0, into.output().data(), 0,
                into.hN().data(), into.cN() == null ? null : into.cN().data(), ws, null);
        return into;
    }

    private static void fillState(Tensor target, Tensor initial) {
        if (initial == null) {
            java.util.Arrays.fill(target.data(), 0f);
        } else {
            System.arraycopy(initial.data(), 0, target.data(), 0, target.size());
        }
    }

    /**
     * Runs the layer as {@link #forward(Tensor, int[], Tensor, Tensor, Workspace)} does, and records what
     * {@link #backward} needs. The trace keeps a reference to {@code input}: do not change it before the
     * backward pass.
     */
    public Trace forwardTraining(Tensor input, int[] lengths, Tensor h0, Tensor c0) {
        return forwardTraining(input, lengths, h0, c0, 0, 0);
    }

    /**
     * A training forward pass with dropout between stacked layers, as PyTorch's {@code dropout} argument
     * of {@code nn.RNN/LSTM/GRU} in training mode: each output element of every layer but the last is
     * zeroed with probability {@code dropout} and the others scaled by {@code 1/(1-dropout)}. The masks
     * come from {@code seed} (PyTorch's distribution, not its random stream) and are kept for the
     * backward pass.
     *
     * @param dropout probability in {@code [0, 1)}; 0 disables it
     */
    public Trace forwardTraining(Tensor input, int[] lengths, Tensor h0, Tensor c0, double dropout, long seed) {
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout: expected a probability in [0, 1), got " + dropout);
        }
        Call call = validate(input, lengths, h0, c0);
        Trace trace = new Trace(this, call, input, config.numLayers(), config.stateCount());
        if (dropout > 0 && config.numLayers() > 1) {
            trace.dropout = dropout;
            trace.dropoutRandom = new java.util.SplittableRandom(seed);
        }
        trace.output = run(call, input, h0, c0, new Workspace(), trace);
        return trace;
    }

    /**
     * Back-propagates through a {@link #forwardTraining} pass: the gradients of a loss whose gradients
     * with respect to {@code output}, {@code h_n} and {@code c_n} are {@code gOutput}, {@code ghN}, {@code gcN}
     * (each null when the loss does not use it).
     *
     * @throws IllegalArgumentException if the trace comes from another layer or a gradient has the wrong shape
     */
    public Gradients backward(Trace trace, Tensor gOutput, Tensor ghN, Tensor gcN) {
        Objects.requireNonNull(trace, "trace: expected the result of forwardTraining, got null");
        if (trace.owner != this) {
            throw new IllegalArgumentException("trace: recorded by " + trace.owner + ", not by this layer " + this);
        }
        LayerOutput fwd = trace.output;
        if (gOutput != null) {
            Checks.requireShape("gOutput", gOutput, fwd.output().shape());
        }
        if (ghN != null) {
            Checks.requireShape("ghN", ghN, fwd.hN().shape());
        }
        if (gcN != null) {
            if (fwd.cN() == null) {
                throw new IllegalArgumentException("gcN: only LSTM layers have a cell state; got gcN for " + config.type());
            }
            Checks.requireShape("gcN", gcN, fwd.cN().shape());
        }
        final Call call = trace.call;
        final RecurrentConfig cfg = config;
        final int seqLen = call.seqLen, batch = call.batch, d = cfg.directions(), hOut = cfg.hOut(),
                hid = cfg.hiddenSize(), outW = cfg.outputSize();

        requireMemory(seqLen, batch, true, true);
        Map<String, Tensor> grads = new LinkedHashMap<>();
        parameters.forEach((name, t) -> grads.put(name, Tensor.zeros(t.shape())));
        Tensor dh = ghN == null ? Tensor.zeros(fwd.hN().shape()) : ghN.copy();
        Tensor dc = fwd.cN() == null ? null : gcN == null ? Tensor.zeros(fwd.cN().shape()) : gcN.copy();
        Tensor dInput = Tensor.zeros(trace.input.shape());
        float[] scratch = new float[Math.toIntExact(maxWorkspace(seqLen, batch))];
        Workspace args = new Workspace();

        // Top layer's output gradient is in the user's layout; layers below are time-major.
        float[] dOut = gOutput == null ? null : gOutput.data();
        boolean dOutBf = call.batchFirst;
        for (int k = cfg.numLayers() - 1; k >= 0; k--) {
            int inW = cfg.layerInputSize(k);
            boolean inBf = k == 0 && call.batchFirst;
            float[] in = k == 0 ? trace.input.data() : trace.layerOutputs[k - 1];
            float[] dIn = k == 0 ? dInput.data() : new float[seqLen * batch * inW];
            // Merged directions: spread dL/d(merged output) over both directions' outputs, side by side.
            float[] dDir = dOut;
            int dDirOff = 0, dDirW = outW, dDirTs = dOutBf ? outW : batch * outW, dDirBs = dOutBf ? seqLen * outW : outW;
            if (dOut != null && d == 2 && cfg.mergeMode() != MergeMode.CONCAT) {
                dDirW = 2 * hOut;
                dDir = new float[seqLen * batch * dDirW];
                float[] both = trace.directionOutputs[k];
                for (int t = 0; t < seqLen; t++) {
                    for (int b = 0; b < batch; b++) {
                        int src = t * dDirTs + b * dDirBs, dst = (t * batch + b) * dDirW;
                        for (int j = 0; j < hOut; j++) {
                            float g = dOut[src + j];
                            dDir[dst + j] = cfg.mergeMode().gradForward(g, both[dst + hOut + j]);
                            dDir[dst + hOut + j] = cfg.mergeMode().gradReverse(g, both[dst + j]);
                        }
                    }
                }
                dDirTs = batch * dDirW;
                dDirBs = dDirW;
            }
            for (int dir = 0; dir < d; dir++) {
                int state = k * d + dir;
                String sfx = ParameterLayout.suffix(k, dir);
                DirectionWeights g = new DirectionWeights(data(grads, "weight_ih" + sfx), data(grads, "weight_hh" + sfx),
                        data(grads, "bias_ih" + sfx), data(grads, "bias_hh" + sfx), data(grads, "weight_hr" + sfx));
                kernel.backward(prepared[state], args.seq.set(seqLen, batch, call.lengths, dir == 1),
                        args.in.set(in, 0, inBf ? inW : batch * inW, inBf ? seqLen * inW : inW),
                        dDir == null ? null : args.out.set(dDir, dDirOff + dir * hOut, dDirTs, dDirBs),
                        args.state.set(dh.data(), state * batch * hOut, dc == null ? null : dc.data(), state * batch * hid),
                        args.dIn.set(dIn, 0, inBf ? inW : batch * inW, inBf ? seqLen * inW : inW),
                        g, args.scratch.set(trace.tapes[state], 0, scratch, 0));
            }
            if (k > 0 && trace.dropoutMasks[k - 1] != null) {
                float[] mask = trace.dropoutMasks[k - 1];
                for (int i = 0; i < dIn.length; i++) {
                    dIn[i] *= mask[i];
                }
            }
            dOut = dIn;
            dOutBf = false;
        }
        return new Gradients(grads, dInput, dh, dc);
    }

    // ---- streaming -------------------------------------------------------------------------------------

    /**
     * A fresh state (zeros) for {@code batch} streams through this layer.
     *
     * @throws IllegalStateException for a bidirectional layer: its reverse direction needs the whole sequence
     */
    public StreamState newStream(int batch) {
        if (config.bidirectional()) {
            throw new IllegalStateException("a bidirectional layer cannot stream: its reverse direction starts at"
                    + " the end of the sequence; run whole sequences with forward()");
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
        requireMemory(steps, b, false, true);
        Tensor out = Tensor.zeros(config.batchFirst() ? new int[] {b, steps, config.hOut()}
                : new int[] {steps, b, config.hOut()});
        runInto(steps, b, config.batchFirst(), null, chunk.data(), 0, out.data(), 0, state.h, state.c,
                state.workspace, null);
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
        requireMemory(steps, state.batch, false, false);
        runInto(steps, state.batch, config.batchFirst(), null, x, xOff, out, outOff, state.h, state.c,
                state.workspace, null);
    }

    /**
     * A training pass over {@code chunk} that starts from the stream's state and leaves the state at the
     * chunk's end: truncated BPTT. The trace's backward pass stops at the chunk's start (the state is
     * detached there): {@link Gradients#h0()} is the gradient reaching the cut.
     */
    public Trace forwardTraining(StreamState state, Tensor chunk) {
        checkStream(state);
        Trace t = forwardTraining(chunk, null, state.h(), state.c());
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

    /** Checks every argument of a forward call; nothing after this can fail on user input. */
    private Call validate(Tensor input, int[] lengths, Tensor h0, Tensor c0) {
        Checks.requireNonNull("input", input);
        final RecurrentConfig cfg = config;
        final boolean unbatched = input.rank() == 2;
        if (input.rank() != 2 && input.rank() != 3) {
            throw new IllegalArgumentException("input: expected " + (cfg.batchFirst() ? "(B, T, I)" : "(T, B, I)")
                    + " or unbatched (T, I) with I=" + cfg.inputSize() + ", got " + input.shapeString());
        }
        final int seqLen = unbatched ? input.dim(0) : input.dim(cfg.batchFirst() ? 1 : 0);
        final int batch = unbatched ? 1 : input.dim(cfg.batchFirst() ? 0 : 1);
        if (input.dim(-1) != cfg.inputSize()) {
            throw new IllegalArgumentException("input: expected last dimension input_size=" + cfg.inputSize()
                    + ", got " + input.shapeString());
        }
        if (seqLen < 1) {
            throw new IllegalArgumentException("input: sequence length must be at least 1, got "
                    + input.shapeString());
        }
        if (batch < 1) {
            throw new IllegalArgumentException("input: batch size must be at least 1, got " + input.shapeString());
        }
        if (lengths != null) {
            if (unbatched) {
                throw new IllegalArgumentException("lengths: per-row lengths need batched input; got unbatched input "
                        + input.shapeString());
            }
            if (lengths.length != batch) {
                throw new IllegalArgumentException("lengths: expected " + batch + " values (one per batch row), got "
                        + lengths.length);
            }
            for (int b = 0; b < batch; b++) {
                if (lengths[b] < 1 || lengths[b] > seqLen) {
                    throw new IllegalArgumentException("lengths[" + b + "]: expected 1.." + seqLen
                            + " (the sequence length), got " + lengths[b]);
                }
            }
            lengths = lengths.clone(); // the caller may change its array while we run
        }
        final int s = cfg.stateCount();
        int[] hShape = unbatched ? new int[] {s, cfg.hOut()} : new int[] {s, batch, cfg.hOut()};
        int[] cShape = unbatched ? new int[] {s, cfg.hiddenSize()} : new int[] {s, batch, cfg.hiddenSize()};
        if (h0 != null) {
            Checks.requireShape("h0", h0, hShape);
        }
        if (c0 != null) {
            if (!cfg.type().hasCellState()) {
                throw new IllegalArgumentException("c0: only LSTM layers have a cell state; got c0 for " + cfg.type());
            }
            Checks.requireShape("c0", c0, cShape);
        }
        int outW = cfg.outputSize();
        int[] outShape = unbatched ? new int[] {seqLen, outW}
                : cfg.batchFirst() ? new int[] {batch, seqLen, outW} : new int[] {seqLen, batch, outW};
        Tensor.checkedSize("output", outShape);
        return new Call(seqLen, batch, cfg.batchFirst() && !unbatched, lengths, outShape, hShape, cShape);
    }

    /** A validated call: sizes, layout and the shapes of the results. */
    record Call(int seqLen, int batch, boolean batchFirst, int[] lengths, int[] outShape, int[] hShape, int[] cShape) {}

    /** The kernel workspace of the last call's size: see {@link #maxWorkspace}. */
    private record WorkspaceNeed(int seqLen, int batch, long floats) {}

    private WorkspaceNeed lastNeed = new WorkspaceNeed(-1, -1, 0);

    /**
     * Floats of kernel workspace that one direction of any layer needs. Remembered for the last
     * {@code (seqLen, batch)}: a streamed step must allocate nothing, and kernels may build objects to
     * size a shape (escape analysis removes them only where C2 inlines the call, which it sometimes does
     * not: 144 bytes a step in one test run in six). The record is immutable, so a racy read between
     * threads sees an old or a new need, each complete.
     */
    private long maxWorkspace(int seqLen, int batch) {
        WorkspaceNeed need = lastNeed;
        if (need.seqLen != seqLen || need.batch != batch) {
            long kws = 0;
            for (KernelShape shape : shapes) {
                kws = Math.max(kws, kernel.workspaceSize(shape, seqLen, batch));
            }
            lastNeed = need = new WorkspaceNeed(seqLen, batch, kws);
        }
        return need.floats;
    }

    /**
     * Checks a call's memory against the {@link MemoryBudget} before any of it is allocated: the workspace
     * and the buffers between layers, the results (unless the caller provides them) and, when training, the
     * tapes and every layer's kept output and dropout mask (the backward pass needs about as much: input
     * and layer gradients). Counted in double: the products of user-given sizes may overflow a long, and a
     * threshold needs no exact count. Allocates nothing, so streaming steps may call it.
     */
    private void requireMemory(int seqLen, int batch, boolean training, boolean results) {
        final RecurrentConfig cfg = config;
        final int d = cfg.directions(), layers = cfg.numLayers();
        double rowSteps = (double) seqLen * batch, between = rowSteps * cfg.outputSize();
        double merged = d == 2 && cfg.mergeMode() != MergeMode.CONCAT ? 2 * rowSteps * cfg.hOut() : 0;
        double floats = (double) maxWorkspace(seqLen, batch) * d + Math.min(layers - 1, 2) * between + merged;
        if (results) {
            floats += between + (double) cfg.stateCount() * batch * (cfg.hOut() + cfg.hiddenSize());
        }
        if (training) {
            for (int k = 0; k < layers; k++) {
                floats += (double) kernel.tapeSize(shapes[k], seqLen, batch) * d + 2 * between + merged;
            }
        }
        double bytes = floats * Float.BYTES;
        if (MemoryBudget.exceeds(bytes)) {
            throw MemoryBudget.exceeded(bytes, String.format(
                    java.util.Locale.ROOT, "%s %d steps x %d rows through %s", training ? "training on" : "running",
                    seqLen, batch, this));
        }
    }

    /** Runs every layer and direction; with a trace, keeps each layer's output and records the tapes. */
    private LayerOutput run(Call call, Tensor input, Tensor h0, Tensor c0, Workspace ws, Trace trace) {
        requireMemory(call.seqLen, call.batch, trace != null, true);
        Tensor output = Tensor.zeros(call.outShape);
        Tensor hN = h0 == null ? Tensor.zeros(call.hShape) : h0.copy();
        Tensor cN = !config.type().hasCellState() ? null : c0 == null ? Tensor.zeros(call.cShape) : c0.copy();
        runInto(call.seqLen, call.batch, call.batchFirst, call.lengths, input.data(), 0, output.data(), 0,
                hN.data(), cN == null ? null : cN.data(), ws, trace);
        return new LayerOutput(output, hN, cN);
    }

    /**
     * Runs every layer and direction on validated arguments, writing the output at {@code out[outOff..]}
     * and updating the states {@code h} ({@code (S, B, H_out)}) and {@code c} in place. With a trace, keeps
     * each layer's output and records the tapes. Allocates nothing without a trace once {@code ws} has grown.
     */
    void runInto(int seqLen, int batch, boolean batchFirst, int[] lengths, float[] x, int xOff, float[] output,
            int outputOff, float[] h, float[] c, Workspace ws, Trace trace) {
        final RecurrentConfig cfg = config;
        final int hOut = cfg.hOut(), hid = cfg.hiddenSize(), d = cfg.directions(), outW = cfg.outputSize();
        long kws = maxWorkspace(seqLen, batch);
        float[] scratch = ws.get(Workspace.KERNEL, kws * d); // one region per direction
        long between = (long) seqLen * batch * outW;
        float[] bufA = cfg.numLayers() > 1 && trace == null ? ws.get(Workspace.LAYER_A, between) : null;
        float[] bufB = cfg.numLayers() > 2 && trace == null ? ws.get(Workspace.LAYER_B, between) : null;

        float[] in = x;
        int inOff = xOff;
        int inW = cfg.inputSize();
        boolean inBf = batchFirst;
        final boolean merge = d == 2 && cfg.mergeMode() != MergeMode.CONCAT;
        for (int k = 0; k < cfg.numLayers(); k++) {
            boolean top = k == cfg.numLayers() - 1;
            float[] out = top ? output
                    : trace != null ? (trace.layerOutputs[k] = new float[Math.toIntExact(between)])
                    : (k % 2 == 0 ? bufA : bufB);
            int outOff = top ? outputOff : 0;
            boolean outBf = top && batchFirst;
            // Merged directions are written side by side (time-major) first, then combined into out.
            float[] dirOut = out;
            int dirOff = outOff, dirW = outW, dirTs = outBf ? outW : batch * outW, dirBs = outBf ? seqLen * outW : outW;
            if (merge) {
                long both = 2L * seqLen * batch * hOut;
                dirOut = trace != null ? (trace.directionOutputs[k] = new float[Math.toIntExact(both)])
                        : ws.get(Workspace.MERGE, both);
                dirOff = 0;
                dirW = 2 * hOut;
                dirTs = batch * dirW;
                dirBs = dirW;
            }
            for (int dir = 0; dir < d; dir++) {
                int state = k * d + dir;
                float[] tape = null;
                if (trace != null) {
                    tape = trace.tapes[state] = new float[Math.toIntExact(kernel.tapeSize(shapes[k], seqLen, batch))];
                }
                kernel.forward(prepared[state], ws.seq.set(seqLen, batch, lengths, dir == 1),
                        ws.in.set(in, inOff, inBf ? inW : batch * inW, inBf ? seqLen * inW : inW),
                        ws.out.set(dirOut, dirOff + dir * hOut, dirTs, dirBs),
                        ws.state.set(h, state * batch * hOut, c, state * batch * hid),
                        ws.scratch.set(tape, 0, scratch, (int) (dir * kws)));
            }
            if (merge) {
                for (int t = 0; t < seqLen; t++) {
                    for (int b = 0; b < batch; b++) {
                        int src = (t * batch + b) * dirW;
                        int dst = outOff + t * (outBf ? outW : batch * outW) + b * (outBf ? seqLen * outW : outW);
                        for (int j = 0; j < hOut; j++) {
                            out[dst + j] = cfg.mergeMode().apply(dirOut[src + j], dirOut[src + hOut + j]);
                        }
                    }
                }
            }
            if (trace != null && trace.dropout > 0 && !top) {
                trace.dropoutMasks[k] = applyDropout(out, trace.dropout, trace.dropoutRandom);
            }
            in = out;
            inOff = 0;
            inW = outW;
            inBf = false;
        }
    }

    /** Inverted dropout in place; returns the mask of factors (0 or {@code 1/(1-p)}) for the backward pass. */
    private static float[] applyDropout(float[] values, double p, java.util.SplittableRandom rnd) {
        float keep = (float) (1.0 / (1.0 - p));
        float[] mask = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            mask[i] = rnd.nextDouble() < p ? 0f : keep;
            values[i] *= mask[i];
        }
        return mask;
    }

    private static float[] data(Map<String, Tensor> map, String name) {
        Tensor t = map.get(name);
        return t == null ? null : t.data();
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    private DirectionWeights weightsOf(int layer, int dir) {
        String s = ParameterLayout.suffix(layer, dir);
        return new DirectionWeights(data("weight_ih" + s), data("weight_hh" + s), data("bias_ih" + s),
                data("bias_hh" + s), data("weight_hr" + s));
    }

    private float[] data(String name) {
        return data(parameters, name);
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
        /** Seed of the default initialisation (ignored when {@link #weights} is given). */
        public Builder seed(long v) { seed = v; return this; }
        /** Parameters by {@code state_dict} name; checked strictly and copied by {@link #build}. */
        public Builder weights(Map<String, Tensor> v) { weights = v; return this; }
        public Builder backend(Backend v) { backend = v; return this; }

        /** The configuration so far. */
        public RecurrentConfig config() {
            return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional,
                    projSize, mergeMode);
        }

        public RecurrentLayer build() {
            RecurrentConfig cfg = config();
            Map<String, Tensor> w = weights != null ? weights
                    : Initializer.uniform(ParameterLayout.of(cfg), cfg.hiddenSize(), seed);
            return of(cfg, w, backend != null ? backend : Backends.get());
        }
    }
}
