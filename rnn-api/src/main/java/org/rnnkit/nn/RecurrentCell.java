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
import org.rnnkit.tensor.Tensor;

/**
 * One time step of a recurrence, with the semantics of PyTorch's {@code nn.RNNCell}, {@code nn.LSTMCell}
 * and {@code nn.GRUCell}: parameters {@code weight_ih}, {@code weight_hh}, {@code bias_ih}, {@code bias_hh}.
 *
 * <p>Thread safety: immutable once built; safe to share across threads.
 */
public final class RecurrentCell {
    private final CellConfig config;
    private final Map<String, Tensor> parameters;
    private final Backend backend;
    private final RecurrentKernel<?> kernel;
    private final KernelShape shape;
    private final PreparedWeights prepared;

    private RecurrentCell(CellConfig config, Map<String, Tensor> checked, Backend backend) {
        this.config = config;
        this.parameters = checked;
        this.backend = backend;
        this.kernel = KernelAccess.kernels(backend).kernel(config.type().recurrence());
        this.shape = new KernelShape(config.type().recurrence(), config.inputSize(), config.hiddenSize(), 0, config.bias());
        this.prepared = kernel.prepare(shape, new DirectionWeights(data("weight_ih"), data("weight_hh"),
                data("bias_ih"), data("bias_hh"), null));
    }

    /**
     * A cell with the given parameters (copied) on a backend.
     *
     * @throws IllegalArgumentException listing every missing, unexpected and mis-shaped tensor
     */
    public static RecurrentCell of(CellConfig config, Map<String, Tensor> stateDict, Backend backend) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(stateDict, "stateDict");
        Objects.requireNonNull(backend, "backend");
        Map<String, Tensor> copies = new LinkedHashMap<>();
        ParameterLayout.ofCell(config).check(stateDict).forEach((k, v) -> copies.put(k, v.copy()));
        return new RecurrentCell(config, Collections.unmodifiableMap(copies), backend);
    }

    /** A cell with PyTorch's default initialisation drawn from {@code seed}. */
    public static RecurrentCell initialized(CellConfig config, long seed, Backend backend) {
        return of(config, Initializer.uniform(ParameterLayout.ofCell(config), config.hiddenSize(), seed), backend);
    }

    /** Loads a cell from a safetensors file with {@code cell=true} metadata, on {@link Backends#get()}. */
    public static RecurrentCell load(Path file) throws IOException {
        return load(file, Backends.get());
    }

    /**
     * Loads a cell strictly from a safetensors file.
     *
     * @throws ModelFormatException if the file, its metadata or a tensor is malformed, missing or extra
     */
    public static RecurrentCell load(Path file, Backend backend) throws IOException {
        SafeTensorsFile f = SafeTensors.read(file);
        try {
            return of(CellConfig.fromMetadata(f.metadata()), f.tensors(), backend);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": " + e.getMessage());
        }
    }

    /** Writes parameters and configuration ({@code cell=true}) as safetensors. */
    public void save(Path file) throws IOException {
        SafeTensors.write(file, parameters, config.toMetadata());
    }

    public CellConfig config() {
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

    /** The same weights on another backend. */
    public RecurrentCell withBackend(Backend other) {
        return new RecurrentCell(config, parameters, Objects.requireNonNull(other, "backend"));
    }

    /** One step from zero state. */
    public CellOutput forward(Tensor input) {
        return forward(input, null, null, new Workspace());
    }

    /** One step from {@code h} (null: zeros). */
    public CellOutput forward(Tensor input, Tensor h) {
        return forward(input, h, null, new Workspace());
    }

    /** One step from {@code h} and, for the LSTM cell, {@code c} (null: zeros). */
    public CellOutput forward(Tensor input, Tensor h, Tensor c) {
        return forward(input, h, c, new Workspace());
    }

    /**
     * One step.
     *
     * @param input {@code (B, I)} or unbatched {@code (I)}
     * @param h {@code (B, H)} or {@code (H)}, or null for zeros
     * @param c LSTM cell only: {@code (B, H)} or {@code (H)}, or null for zeros
     * @throws IllegalArgumentException naming the argument, expected and actual shape
     */
    public CellOutput forward(Tensor input, Tensor h, Tensor c, Workspace ws) {
        Objects.requireNonNull(ws, "ws: expected a Workspace, got null");
        LayerCall call = validate(input, h, c);
        return run(call, input, h, c, ws, null);
    }

    /**
     * One step as {@link #forward(Tensor, Tensor, Tensor, Workspace)}, recording what {@link #backward}
     * needs. The trace keeps a reference to {@code input}: do not change it before the backward pass.
     */
    public CellTrace forwardTraining(Tensor input, Tensor h, Tensor c) {
        LayerCall call = validate(input, h, c);
        CellTrace trace = new CellTrace(this, call, input);
        trace.output = run(call, input, h, c, new Workspace(), trace);
        return trace;
    }

    /**
     * Gradients of a loss whose gradients with respect to the new {@code h} and {@code c} are {@code gh}
     * and {@code gc} (null when unused). {@link Gradients#h0()} and {@link Gradients#c0()} are the
     * gradients of the {@code h} and {@code c} passed in.
     */
    public Gradients backward(CellTrace trace, Tensor gh, Tensor gc) {
        Objects.requireNonNull(trace, "trace: expected the result of forwardTraining, got null");
        if (trace.owner != this) {
            throw new IllegalArgumentException("trace: recorded by " + trace.owner + ", not by this cell " + this);
        }
        LayerCall call = trace.call;
        if (gh != null) {
            Checks.requireShape("gh", gh, call.hShape());
        }
        if (gc != null) {
            if (!config.type().hasCellState()) {
                throw new IllegalArgumentException("gc: only the LSTM cell has a cell state; got gc for " + config.type());
            }
            Checks.requireShape("gc", gc, call.cShape());
        }
        int batch = call.batch(), in = config.inputSize();
        Map<String, Tensor> grads = new LinkedHashMap<>();
        parameters.forEach((name, t) -> grads.put(name, Tensor.zeros(t.shape())));
        Tensor dh = gh == null ? Tensor.zeros(call.hShape()) : gh.copy();
        Tensor dc = !config.type().hasCellState() ? null : gc == null ? Tensor.zeros(call.cShape()) : gc.copy();
        Tensor dx = Tensor.zeros(trace.input.shape());
        float[] scratch = new float[Math.toIntExact(kernel.workspaceSize(shape, 1, batch))];
        Workspace args = new Workspace();
        kernel.backward(prepared, args.seq.set(1, batch, null, false),
                args.in.timeMajor(trace.input.data(), 0, batch, in),
                null,
                args.state.set(dh.data(), 0, dc == null ? null : dc.data(), 0),
                args.dIn.timeMajor(dx.data(), 0, batch, in),
                new DirectionWeights(grad(grads, "weight_ih"), grad(grads, "weight_hh"), grad(grads, "bias_ih"),
                        grad(grads, "bias_hh"), null),
                args.scratch.set(trace.tape, 0, scratch, 0));
        return new Gradients(grads, dx, dh, dc);
    }

    private LayerCall validate(Tensor input, Tensor h, Tensor c) {
        Checks.requireNonNull("input", input);
        int in = config.inputSize(), hid = config.hiddenSize();
        if ((input.rank() != 1 && input.rank() != 2) || input.dim(-1) != in) {
            throw new IllegalArgumentException("input: expected (B, " + in + ") or unbatched (" + in + ",), got "
                    + input.shapeString());
        }
        boolean unbatched = input.rank() == 1;
        int batch = unbatched ? 1 : input.dim(0);
        if (batch < 1) {
            throw new IllegalArgumentException("input: batch size must be at least 1, got " + input.shapeString());
        }
        int[] stateShape = unbatched ? new int[] {hid} : new int[] {batch, hid};
        if (h != null) {
            Checks.requireShape("h", h, stateShape);
        }
        if (c != null) {
            if (!config.type().hasCellState()) {
                throw new IllegalArgumentException("c: only the LSTM cell has a cell state; got c for " + config.type());
            }
            Checks.requireShape("c", c, stateShape);
        }
        return new LayerCall(1, batch, false, null, null, stateShape, stateShape);
    }

    private CellOutput run(LayerCall call, Tensor input, Tensor h, Tensor c, Workspace ws, CellTrace trace) {
        int batch = call.batch(), in = config.inputSize();
        // the new states, the workspace and, training, the tape: checked before any is allocated
        double floats = 2.0 * batch * config.hiddenSize() + kernel.workspaceSize(shape, 1, batch)
                + (trace == null ? 0 : kernel.tapeSize(shape, 1, batch));
        if (org.rnnkit.tensor.MemoryBudget.exceeds(floats * Float.BYTES)) {
            throw org.rnnkit.tensor.MemoryBudget.exceeded(floats * Float.BYTES,
                    "a step of " + batch + " rows through " + this);
        }
        Tensor hNew = h == null ? Tensor.zeros(call.hShape()) : h.copy();
        Tensor cNew = !config.type().hasCellState() ? null : c == null ? Tensor.zeros(call.cShape()) : c.copy();
        float[] scratch = ws.get(Workspace.KERNEL, kernel.workspaceSize(shape, 1, batch));
        float[] tape = null;
        if (trace != null) {
            tape = trace.tape = new float[Math.toIntExact(kernel.tapeSize(shape, 1, batch))];
        }
        kernel.forward(prepared, ws.seq.set(1, batch, null, false),
                ws.in.timeMajor(input.data(), 0, batch, in),
                null,
                ws.state.set(hNew.data(), 0, cNew == null ? null : cNew.data(), 0),
                ws.scratch.set(tape, 0, scratch, 0));
        return new CellOutput(hNew, cNew);
    }

    private static float[] grad(Map<String, Tensor> grads, String name) {
        Tensor t = grads.get(name);
        return t == null ? null : t.data();
    }

    private float[] data(String name) {
        Tensor t = parameters.get(name);
        return t == null ? null : t.data();
    }

    @Override
    public String toString() {
        return "RecurrentCell" + config + " on " + backend.name();
    }
}
