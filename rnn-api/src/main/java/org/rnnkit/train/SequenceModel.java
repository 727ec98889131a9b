package org.rnnkit.train;

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
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.Gradients;
import org.rnnkit.nn.Initializer;
import org.rnnkit.nn.LastHidden;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.Linear;
import org.rnnkit.nn.ParameterLayout;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.TrainableLayer;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.MemoryBudget;
import org.rnnkit.tensor.Tensor;

/**
 * A trainable model: a recurrent layer ({@code rnn}) and a {@link Linear} head ({@code head}) over its
 * outputs, as the PyTorch module {@code class M(nn.Module): rnn = nn.LSTM(...); head = nn.Linear(...)}.
 * Parameters are named as that module's {@code state_dict}: {@code rnn.weight_ih_l0}, ..., {@code head.weight},
 * {@code head.bias}.
 *
 * <p>Two tasks: {@link Task#PER_STEP} (a class per time step, e.g. next-character prediction:
 * {@code logits = head(output)}) and {@link Task#PER_SEQUENCE} (one class per sequence, many-to-one:
 * {@code logits = head(top layer's final h, directions concatenated)}).
 *
 * <p>Training runs on the backend end to end: the recurrent layer is a {@link TrainableLayer} over the live
 * parameters (prepared weights re-packed in place after each update), the head's products and the softmax
 * run on the backend's dense kernel, and every buffer is kept from one step to the next, so a warm step
 * allocates nothing that grows with the sequence. A {@link Step}'s tensors are therefore the model's own,
 * rewritten by its next call.
 *
 * <p>Thread safety: not thread-safe; a training step writes the parameters. {@link #layer()} returns an
 * immutable snapshot that may be shared for inference.
 */
public final class SequenceModel {
    /** What the head predicts. */
    public enum Task {
        /** One class per time step; targets in the output's layout order (T*B, or B*T with batch_first). */
        PER_STEP,
        /** One class per sequence from the final hidden state; targets per batch row. */
        PER_SEQUENCE
    }

    /** Metadata key of the number of classes in a saved model. */
    public static final String KEY_CLASSES = "classes";

    private final RecurrentConfig config;
    /** Copies of the parameters a model in training holds; see {@link #create}. */
    static final int TRAINING_COPIES = 6;

    private final int classes;
    private final Backend backend;
    private final Map<String, Tensor> params; // live, state_dict order
    private final TrainableLayer rnn; // over the live rnn.* tensors
    private final Head headPass; // over the live head.* tensors
    private final Map<String, Tensor> grads = new LinkedHashMap<>(); // reused: rnn.* then head.*
    private RecurrentLayer layer; // immutable snapshots, made on request after an update
    private Linear head;

    private SequenceModel(RecurrentConfig config, int classes, Map<String, Tensor> params, Backend backend) {
        this.config = config;
        this.classes = classes;
        this.params = params;
        this.backend = backend;
        Map<String, Tensor> rnnParams = new LinkedHashMap<>();
        params.forEach((k, v) -> {
            if (k.startsWith("rnn.")) {
                rnnParams.put(k.substring(4), v);
            }
        });
        this.rnn = TrainableLayer.of(config, rnnParams, backend);
        this.headPass = new Head(backend, params.get("head.weight"), params.get("head.bias"));
    }

    /**
     * A new model with PyTorch's default initialisation drawn from {@code seed}.
     *
     * @throws org.rnnkit.tensor.MemoryBudgetException if training it would exceed the {@link MemoryBudget}:
     *     a model being trained holds about {@value #TRAINING_COPIES} copies of its parameters (the values, the
     *     layer's and the backend's copies, the gradients, and Adam's two moments)
     */
    public static SequenceModel create(RecurrentConfig config, int classes, long seed, Backend backend) {
        if (classes < 1) {
            throw new IllegalArgumentException("classes: expected >= 1, got " + classes);
        }
        double params = (double) config.outputSize() * classes + classes;
        for (ParameterLayout.Entry e : ParameterLayout.of(config).entries()) {
            params += Tensor.checkedSize(e.name(), e.shape());
        }
        double bytes = params * Float.BYTES * TRAINING_COPIES;
        if (MemoryBudget.exceeds(bytes)) {
            throw MemoryBudget.exceeded(bytes, String.format(
                    java.util.Locale.ROOT, "training %s with a head of %d classes (%,.0f parameters, %d copies)", config,
                    classes, params, TRAINING_COPIES));
        }
        Map<String, Tensor> p = new LinkedHashMap<>();
        Initializer.uniform(ParameterLayout.of(config), config.hiddenSize(), seed).forEach((k, v) -> p.put("rnn." + k, v));
        Linear.initialParameters(config.outputSize(), classes, true, seed ^ 0x9E3779B97F4A7C15L)
                .forEach((k, v) -> p.put("head." + k, v));
        return of(config, classes, p, backend);
    }

    /**
     * A model from parameters named {@code rnn.*} and {@code head.*} (copied).
     *
     * @throws IllegalArgumentException if a tensor is missing, extra or mis-shaped
     */
    public static SequenceModel of(RecurrentConfig config, int classes, Map<String, Tensor> parameters, Backend backend) {
        Objects.requireNonNull(backend, "backend");
        if (classes < 1) {
            throw new IllegalArgumentException("classes: expected >= 1, got " + classes);
        }
        Map<String, Tensor> rnn = new LinkedHashMap<>(), headP = new LinkedHashMap<>();
        parameters.forEach((k, v) -> {
            if (k.startsWith("rnn.")) {
                rnn.put(k.substring(4), v);
            } else if (k.startsWith("head.")) {
                headP.put(k.substring(5), v);
            } else {
                throw new IllegalArgumentException("unexpected tensor '" + k + "': expected names rnn.* and head.*");
            }
        });
        Map<String, Tensor> checked = ParameterLayout.checked(config, rnn);
        Linear h = Linear.of(headP);
        if (h.inFeatures() != config.outputSize() || h.outFeatures() != classes || !headP.containsKey("bias")) {
            throw new IllegalArgumentException("head.weight: expected shape " + Tensor.shapeString(classes,
                    config.outputSize()) + " with head.bias " + Tensor.shapeString(classes) + ", got "
                    + headP.get("weight").shapeString() + (headP.containsKey("bias") ? "" : " without bias"));
        }
        Map<String, Tensor> p = new LinkedHashMap<>();
        checked.forEach((k, v) -> p.put("rnn." + k, v.copy()));
        p.put("head.weight", headP.get("weight").copy());
        p.put("head.bias", headP.get("bias").copy());
        return new SequenceModel(config, classes, p, backend);
    }

    /** Loads a model saved by {@link #save} (rnn metadata keys plus {@value #KEY_CLASSES}), on {@link Backends#get()}. */
    public static SequenceModel load(Path file) throws IOException {
        return load(file, Backends.get());
    }

    /** Loads a model saved by {@link #save}. */
    public static SequenceModel load(Path file, Backend backend) throws IOException {
        SafeTensorsFile f = SafeTensors.read(file);
        try {
            String c = f.metadata().get(KEY_CLASSES);
            if (c == null) {
                throw new IllegalArgumentException("metadata: missing key '" + KEY_CLASSES + "'");
            }
            return of(RecurrentConfig.fromMetadata(f.metadata()), Integer.parseInt(c.trim()), f.tensors(), backend);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": " + e.getMessage());
        }
    }

    /** Writes the parameters (PyTorch names) and configuration; {@code extra} metadata is added (e.g. a vocabulary). */
    public void save(Path file, Map<String, String> extra) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>(config.toMetadata());
        meta.put(KEY_CLASSES, Integer.toString(classes));
        meta.putAll(extra);
        SafeTensors.write(file, params, meta);
    }

    public RecurrentConfig config() {
        return config;
    }

    public int classes() {
        return classes;
    }

    /** The live parameters by name, in {@code state_dict} order (optimizers update these arrays). */
    public Map<String, Tensor> parameters() {
        return Collections.unmodifiableMap(params);
    }

    /** The recurrent layer with the current parameters (an immutable snapshot). */
    public RecurrentLayer layer() {
        if (layer == null) {
            layer = rnn.snapshot();
        }
        return layer;
    }

    /** The head with the current parameters (an immutable snapshot). */
    public Linear head() {
        if (head == null) {
            head = headPass.snapshot();
        }
        return head;
    }

    /**
     * The result of a forward and backward pass.
     *
     * @param loss the loss before any update
     * @param logits the head's output
     * @param gradients by parameter name (after clipping, for a training step)
     * @param output the recurrent layer's results
     * @param gradNorm the global 2-norm of the gradients before clipping ({@link #trainStep} only, else NaN)
     *
     * <p>The tensors are the model's own buffers, rewritten by its next {@link #lossAndGradients} or
     * {@link #trainStep}: copy what must outlast it.
     */
    public record Step(double loss, Tensor logits, Map<String, Tensor> gradients, LayerOutput output, double gradNorm) {}

    /** Logits of a forward pass from zero states: {@code (T, B, C)} (layout of the output) for PER_STEP, {@code (B, C)} for PER_SEQUENCE. */
    public Tensor logits(Task task, Tensor input) {
        return logits(task, input, ForwardOptions.defaults());
    }

    /** Logits of a forward pass with the options' lengths, initial states and workspace (dropout does not apply). */
    public Tensor logits(Task task, Tensor input, ForwardOptions options) {
        return head().forward(features(task, layer().forward(input, options)));
    }

    /**
     * Forward and backward for softmax cross-entropy (mean over all predictions): the loss and the
     * gradient of every parameter, by name. Does not change the parameters.
     *
     * @param targets a class per step ({@code T*B} in the output's layout) for PER_STEP, per row for PER_SEQUENCE
     * @param options lengths, initial states and dropout of the training pass
     */
    public Step lossAndGradients(Task task, Tensor input, int[] targets, ForwardOptions options) {
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(targets, "targets");
        LayerOutput out = rnn.forward(input, options);
        Tensor feats = features(task, out);
        double loss = headPass.lossAndGradients(feats, targets, null, 1);
        Tensor featureGrad = headPass.featureGrad();
        Gradients g;
        if (task == Task.PER_STEP) {
            g = rnn.backward(featureGrad, null, null);
        } else {
            g = rnn.backward(null, LastHidden.gradient(config, out.hN(), featureGrad), null);
        }
        if (grads.isEmpty()) {
            g.parameters().forEach((k, v) -> grads.put("rnn." + k, v)); // the same tensors every step
            grads.put("head.weight", headPass.weightGrad);
            grads.put("head.bias", headPass.biasGrad);
        }
        return new Step(loss, headPass.logits(), Collections.unmodifiableMap(grads), out, Double.NaN);
    }


    /** One optimizer step from zero states, without clipping or dropout. */
    public Step trainStep(Task task, Tensor input, int[] targets, Optimizer optimizer) {
        return trainStep(task, input, targets, optimizer, Clipping.none(), ForwardOptions.defaults());
    }

    /** One optimizer step from zero states, without dropout, the gradients clipped first. */
    public Step trainStep(Task task, Tensor input, int[] targets, Optimizer optimizer, Clipping clipping) {
        return trainStep(task, input, targets, optimizer, clipping, ForwardOptions.defaults());
    }

    /**
     * One optimizer step: loss and gradients, clipping, update. Returns the step (loss before the update).
     *
     * @param options lengths, initial states and dropout of the training pass
     */
    public Step trainStep(Task task, Tensor input, int[] targets, Optimizer optimizer, Clipping clipping,
            ForwardOptions options) {
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(clipping, "clipping");
        Step s = lossAndGradients(task, input, targets, options);
        double norm = clipping.apply(grads);
        optimizer.step(params, grads);
        rnn.parametersChanged(); // re-packs the kernels' weights in place
        layer = null; // snapshots are rebuilt on request
        head = null;
        return new Step(s.loss(), s.logits(), s.gradients(), s.output(), norm);
    }

    /** What the head reads: every step's output, or the top layer's final hidden state of each direction. */
    private Tensor features(Task task, LayerOutput out) {
        return task == Task.PER_STEP ? out.output() : LastHidden.of(config, out.hN());
    }
}
