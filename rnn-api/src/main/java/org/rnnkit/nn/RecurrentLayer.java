package org.rnnkit.nn;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.backend.Backends;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.io.SafeTensorsFile;
import org.rnnkit.spi.Backend;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;
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
 * <p>Thread safety: immutable once built. One layer may be used by any number of threads at once; each
 * call computes with its own (or the caller's per-thread) {@link Workspace}.
 */
public final class RecurrentLayer {
    private final RecurrentConfig config;
    private final Map<String, Tensor> parameters;
    private final Backend backend;
    private final RecurrentKernel kernel;
    private final PreparedWeights[] prepared; // index layer * D + direction

    private RecurrentLayer(RecurrentConfig config, Map<String, Tensor> checkedParameters, Backend backend) {
        this.config = config;
        this.parameters = checkedParameters;
        this.backend = backend;
        this.kernel = backend.kernel(config.type());
        int d = config.directions();
        this.prepared = new PreparedWeights[config.numLayers() * d];
        for (int k = 0; k < config.numLayers(); k++) {
            for (int dir = 0; dir < d; dir++) {
                prepared[k * d + dir] = kernel.prepare(shapeOf(k), weightsOf(k, dir));
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
        Map<String, Tensor> checked = ParameterLayout.of(config).check(stateDict);
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
     * Runs the layer as {@link #forward(Tensor, int[], Tensor, Tensor, Workspace)} does, and records what
     * {@link #backward} needs. The trace keeps a reference to {@code input}: do not change it before the
     * backward pass.
     */
    public Trace forwardTraining(Tensor input, int[] lengths, Tensor h0, Tensor c0) {
        Call call = validate(input, lengths, h0, c0);
        Trace trace = new Trace(this, call, input, config.numLayers(), config.stateCount());
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

        Map<String, Tensor> grads = new LinkedHashMap<>();
        parameters.forEach((name, t) -> grads.put(name, Tensor.zeros(t.shape())));
        Tensor dh = ghN == null ? Tensor.zeros(fwd.hN().shape()) : ghN.copy();
        Tensor dc = fwd.cN() == null ? null : gcN == null ? Tensor.zeros(fwd.cN().shape()) : gcN.copy();
        Tensor dInput = Tensor.zeros(trace.input.shape());
        float[] scratch = new float[Math.toIntExact(maxWorkspace(seqLen, batch))];

        // Top layer's output gradient is in the user's layout; layers below are time-major.
        float[] dOut = gOutput == null ? null : gOutput.data();
        boolean dOutBf = call.batchFirst;
        for (int k = cfg.numLayers() - 1; k >= 0; k--) {
            int inW = cfg.layerInputSize(k);
            boolean inBf = k == 0 && call.batchFirst;
            float[] in = k == 0 ? trace.input.data() : trace.layerOutputs[k - 1];
            float[] dIn = k == 0 ? dInput.data() : new float[seqLen * batch * inW];
            for (int dir = 0; dir < d; dir++) {
                int state = k * d + dir;
                String sfx = ParameterLayout.suffix(k, dir);
                DirectionWeights g = new DirectionWeights(data(grads, "weight_ih" + sfx), data(grads, "weight_hh" + sfx),
                        data(grads, "bias_ih" + sfx), data(grads, "bias_hh" + sfx), data(grads, "weight_hr" + sfx));
                kernel.backward(prepared[state], seqLen, batch, call.lengths, dir == 1,
                        in, 0, inBf ? inW : batch * inW, inBf ? seqLen * inW : inW,
                        dOut, dir * hOut, dOutBf ? outW : batch * outW, dOutBf ? seqLen * outW : outW,
                        dh.data(), state * batch * hOut, dc == null ? null : dc.data(), state * batch * hid,
                        dIn, 0, inBf ? inW : batch * inW, inBf ? seqLen * inW : inW,
                        g, trace.tapes[state], 0, scratch, 0);
            }
            dOut = dIn;
            dOutBf = false;
        }
        return new Gradients(grads, dInput, dh, dc);
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

    private long maxWorkspace(int seqLen, int batch) {
        long kws = 0;
        for (int k = 0; k < config.numLayers(); k++) {
            kws = Math.max(kws, kernel.workspaceSize(shapeOf(k), seqLen, batch));
        }
        return kws;
    }

    /** Runs every layer and direction; with a trace, keeps each layer's output and records the tapes. */
    private LayerOutput run(Call call, Tensor input, Tensor h0, Tensor c0, Workspace ws, Trace trace) {
        final RecurrentConfig cfg = config;
        final int seqLen = call.seqLen, batch = call.batch, hOut = cfg.hOut(), hid = cfg.hiddenSize(),
                d = cfg.directions(), outW = cfg.outputSize();
        Tensor output = Tensor.zeros(call.outShape);
        Tensor hN = h0 == null ? Tensor.zeros(call.hShape) : h0.copy();
        Tensor cN = !cfg.type().hasCellState() ? null : c0 == null ? Tensor.zeros(call.cShape) : c0.copy();

        long kws = maxWorkspace(seqLen, batch);
        float[] scratch = ws.get(Workspace.KERNEL, kws * d); // one region per direction
        long between = (long) seqLen * batch * outW;
        float[] bufA = cfg.numLayers() > 1 && trace == null ? ws.get(Workspace.LAYER_A, between) : null;
        float[] bufB = cfg.numLayers() > 2 && trace == null ? ws.get(Workspace.LAYER_B, between) : null;

        float[] in = input.data();
        int inW = cfg.inputSize();
        boolean inBf = call.batchFirst;
        for (int k = 0; k < cfg.numLayers(); k++) {
            boolean top = k == cfg.numLayers() - 1;
            float[] out = top ? output.data()
                    : trace != null ? (trace.layerOutputs[k] = new float[Math.toIntExact(between)])
                    : (k % 2 == 0 ? bufA : bufB);
            boolean outBf = top && call.batchFirst;
            for (int dir = 0; dir < d; dir++) {
                int state = k * d + dir;
                float[] tape = null;
                if (trace != null) {
                    tape = trace.tapes[state] = new float[Math.toIntExact(
                            kernel.tapeSize(shapeOf(k), seqLen, batch))];
                }
                kernel.forward(prepared[state], seqLen, batch, call.lengths, dir == 1,
                        in, 0, inBf ? inW : batch * inW, inBf ? seqLen * inW : inW,
                        out, dir * hOut, outBf ? outW : batch * outW, outBf ? seqLen * outW : outW,
                        hN.data(), state * batch * hOut, cN == null ? null : cN.data(), state * batch * hid,
                        tape, 0,
                        scratch, (int) (dir * kws));
            }
            in = out;
            inW = outW;
            inBf = false;
        }
        return new LayerOutput(output, hN, cN);
    }

    private static float[] data(Map<String, Tensor> map, String name) {
        Tensor t = map.get(name);
        return t == null ? null : t.data();
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    KernelShape shapeOf(int layer) {
        return new KernelShape(config.type(), config.layerInputSize(layer), config.hiddenSize(), config.projSize(),
                config.bias());
    }

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
        /** Seed of the default initialisation (ignored when {@link #weights} is given). */
        public Builder seed(long v) { seed = v; return this; }
        /** Parameters by {@code state_dict} name; checked strictly and copied by {@link #build}. */
        public Builder weights(Map<String, Tensor> v) { weights = v; return this; }
        public Builder backend(Backend v) { backend = v; return this; }

        /** The configuration so far. */
        public RecurrentConfig config() {
            return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional,
                    projSize);
        }

        public RecurrentLayer build() {
            RecurrentConfig cfg = config();
            Map<String, Tensor> w = weights != null ? weights
                    : Initializer.uniform(ParameterLayout.of(cfg), cfg.hiddenSize(), seed);
            return of(cfg, w, backend != null ? backend : Backends.get());
        }
    }
}
