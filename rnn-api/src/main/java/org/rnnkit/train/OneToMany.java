package org.rnnkit.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.backend.Backend;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.io.SafeTensorsFile;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.Gradients;
import org.rnnkit.nn.Initializer;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.Linear;
import org.rnnkit.nn.ParameterLayout;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.TrainableLayer;
import org.rnnkit.tensor.Tensor;

/**
 * One-to-many (the seeds' {@code 1 vs N} structure, e.g. a caption from an image vector): a recurrent
 * generator reads one input vector {@code x (B, I)} and writes a token per step through a linear head, as
 * the PyTorch module {@code generator = nn.RNN|LSTM|GRU(I, H, L); head = nn.Linear(H, V)} in one of the
 * seeds' two forms ({@link Form}), from zero states. Training: mean cross-entropy over every counted (step,
 * row). Parameters are named {@code generator.*}, {@code head.weight}, {@code head.bias}.
 *
 * <p>With token feedback (the seeds' text-from-image pattern) the generator also reads the previous token,
 * one-hot, beside the vector part: its input is {@code concat(x part, one_hot(prev))} ({@code I + V} wide),
 * {@code prev} being token 0 (BOS, never a target) at the first step; training feeds the targets (teacher
 * forcing), {@link #generate} its own most likely tokens.
 *
 * <p>Thread safety: not thread-safe; a training step writes the parameters and every buffer.
 */
public final class OneToMany {
    /** Where the input vector enters the generator. */
    public enum Form {
        /** At the first step only, zeros after. */
        FIRST_STEP("one2many-first"),
        /** At every step. */
        EVERY_STEP("one2many-every");

        private final String structure;

        Form(String structure) {
            this.structure = structure;
        }

        /** The name in model files and structure cases. */
        public String structure() {
            return structure;
        }

        /** The form of a structure name. */
        public static Form of(String structure) {
            for (Form f : values()) {
                if (f.structure.equals(structure)) {
                    return f;
                }
            }
            throw new IllegalArgumentException("structure: expected one2many-first or one2many-every, got '" + structure
                    + "'");
        }
    }

    private final Form form;
    private final boolean feedback;
    private final RecurrentConfig config;
    private final int vocab, xSize;
    private final Map<String, Tensor> params;
    private final TrainableLayer generator;
    private final Head head;
    private final Map<String, Tensor> grads = new LinkedHashMap<>();
    private Tensor input;

    private OneToMany(Form form, boolean feedback, RecurrentConfig config, int vocab, Map<String, Tensor> params,
            Backend backend) {
        this.form = form;
        this.feedback = feedback;
        this.config = config;
        this.vocab = vocab;
        this.xSize = config.inputSize() - (feedback ? vocab : 0);
        this.params = params;
        this.generator = TrainableLayer.of(config, ModelParts.part(params, "generator"), backend);
        this.head = new Head(backend, params.get("head.weight"), params.get("head.bias"));
    }

    /** A new model without token feedback, with PyTorch's default initialisation drawn from {@code seed}. */
    public static OneToMany create(Form form, CellType type, int inputSize, int hiddenSize, int numLayers, int vocab,
            long seed, Backend backend) {
        return create(form, false, type, inputSize, hiddenSize, numLayers, vocab, seed, backend);
    }

    /**
     * A new model with PyTorch's default initialisation drawn from {@code seed}; with {@code tokenFeedback} the
     * generator also reads the previous token (its input is {@code inputSize + vocab} wide).
     */
    public static OneToMany create(Form form, boolean tokenFeedback, CellType type, int inputSize, int hiddenSize,
            int numLayers, int vocab, long seed, Backend backend) {
        RecurrentConfig cfg = config(type, inputSize + (tokenFeedback ? vocab : 0), hiddenSize, numLayers);
        Map<String, Tensor> p = new LinkedHashMap<>();
        Initializer.uniform(ParameterLayout.of(cfg), hiddenSize, seed).forEach((k, v) -> p.put("generator." + k, v));
        Linear.initialParameters(hiddenSize, vocab, true, seed + 1).forEach((k, v) -> p.put("head." + k, v));
        return of(form, tokenFeedback, type, inputSize, hiddenSize, numLayers, vocab, p, backend);
    }

    /** A model without token feedback from parameters named {@code generator.*} and {@code head.*} (copied). */
    public static OneToMany of(Form form, CellType type, int inputSize, int hiddenSize, int numLayers, int vocab,
            Map<String, Tensor> parameters, Backend backend) {
        return of(form, false, type, inputSize, hiddenSize, numLayers, vocab, parameters, backend);
    }

    /** A model from parameters named {@code generator.*} and {@code head.*} (copied); see {@link #create}. */
    public static OneToMany of(Form form, boolean tokenFeedback, CellType type, int inputSize, int hiddenSize,
            int numLayers, int vocab, Map<String, Tensor> parameters, Backend backend) {
        Objects.requireNonNull(form, "form");
        Objects.requireNonNull(parameters, "parameters");
        Objects.requireNonNull(backend, "backend");
        if (vocab < (tokenFeedback ? 2 : 1)) {
            throw new IllegalArgumentException("vocab: expected >= " + (tokenFeedback ? 2 : 1) + ", got " + vocab);
        }
        RecurrentConfig cfg = config(type, inputSize + (tokenFeedback ? vocab : 0), hiddenSize, numLayers);
        return new OneToMany(form, tokenFeedback, cfg, vocab,
                ModelParts.checked(parameters, Map.of("generator", cfg), hiddenSize, vocab), backend);
    }

    private static RecurrentConfig config(CellType type, int inputSize, int hiddenSize, int numLayers) {
        return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, true, false, false, 0);
    }

    /** Loads a model written by {@link #save} (or by PyTorch with the same names and metadata). */
    public static OneToMany load(Path file, Backend backend) throws IOException {
        SafeTensorsFile f = SafeTensors.read(file);
        Map<String, String> m = f.metadata();
        try {
            return of(Form.of(String.valueOf(m.get("structure"))), "true".equals(m.get("token_feedback")),
                    CellType.valueOf(String.valueOf(m.get("mode"))), ModelParts.intMeta(m, "input_size"), ModelParts.intMeta(m, "hidden_size"),
                    ModelParts.intMeta(m, "num_layers"), ModelParts.intMeta(m, "vocab"), f.tensors(), backend);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": " + e.getMessage());
        }
    }

    /** Writes the parameters (PyTorch names) and the configuration; {@code extra} metadata is added. */
    public void save(Path file, Map<String, String> extra) throws IOException {
        Map<String, String> meta = ModelParts.metadata(form.structure(), config, xSize, vocab);
        if (feedback) {
            meta.put("token_feedback", "true");
        }
        meta.putAll(extra);
        SafeTensors.write(file, params, meta);
    }

    public Form form() {
        return form;
    }

    public RecurrentConfig config() {
        return config;
    }

    public int vocab() {
        return vocab;
    }

    /** Whether the generator reads the previous token (see the class comment). */
    public boolean tokenFeedback() {
        return feedback;
    }

    /** The live parameters by name, in {@code state_dict} order. */
    public Map<String, Tensor> parameters() {
        return Collections.unmodifiableMap(params);
    }

    /**
     * Forward and backward pass over {@code Tt} steps: the mean cross-entropy of the targets and the gradient
     * of every parameter. Does not change the parameters.
     *
     * @param x {@code (B, I)}
     * @param targets {@code Tt*B} tokens, time-major
     * @param targetLengths per row ({@code 1..Tt}), or null when every row has {@code Tt}
     * @return the loss, the logits {@code (Tt, B, V)} and the gradients by name: the model's own buffers
     */
    public SequenceModel.Step lossAndGradients(Tensor x, int[] targets, int[] targetLengths) {
        Objects.requireNonNull(targets, "targets");
        int batch = requireInput(x);
        if (targets.length == 0 || targets.length % batch != 0) {
            throw new IllegalArgumentException("targets: expected Tt*B tokens with B=" + batch + ", got " + targets.length);
        }
        int steps = targets.length / batch;
        Seq2Seq.checkLengths("targetLengths", targetLengths, batch, steps);
        input = Head.sized(input, new int[] {steps, batch, config.inputSize()});
        fillInput(x, input, steps, batch, targets);
        LayerOutput out = generator.forward(input, ForwardOptions.defaults().withLengths(targetLengths));
        double loss = head.lossAndGradients(out.output(), targets, targetLengths, batch);
        Gradients g = generator.backward(head.featureGrad(), null, null);
        if (grads.isEmpty()) {
            g.parameters().forEach((k, v) -> grads.put("generator." + k, v));
            grads.put("head.weight", head.weightGrad);
            grads.put("head.bias", head.biasGrad);
        }
        return new SequenceModel.Step(loss, head.logits(), Collections.unmodifiableMap(grads), out, Double.NaN);
    }

    /** One optimizer step: {@link #lossAndGradients}, clipping, update. */
    public SequenceModel.Step trainStep(Tensor x, int[] targets, int[] targetLengths, Optimizer optimizer,
            Clipping clipping) {
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(clipping, "clipping");
        SequenceModel.Step s = lossAndGradients(x, targets, targetLengths);
        double norm = clipping.apply(grads);
        optimizer.step(params, grads);
        generator.parametersChanged();
        return new SequenceModel.Step(s.loss(), s.logits(), s.gradients(), s.output(), norm);
    }

    /**
     * The most likely token of each step ({@code tokens[b][t]}, the lowest index among equals) for {@code steps}
     * steps: {@link #generate} without an end token.
     */
    public int[][] greedy(Tensor x, int steps) {
        return generate(x, steps, -1);
    }

    /**
     * Free-running generation: each step's most likely token (the lowest index among equals), fed back as the
     * next step's token with token feedback, for {@code maxLength} steps or until every row has produced
     * {@code endToken} (a row that has is padded with it; -1 for none).
     */
    public int[][] generate(Tensor x, int maxLength, int endToken) {
        int batch = requireInput(x);
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength: expected >= 1, got " + maxLength);
        }
        if (endToken < -1 || endToken >= vocab || (feedback && endToken == 0)) {
            throw new IllegalArgumentException("endToken: expected -1 (none) or a token in " + (feedback ? 1 : 0) + ".."
                    + (vocab - 1) + ", got " + endToken);
        }
        org.rnnkit.nn.RecurrentLayer gen = generator.snapshot();
        int[][] out = new int[batch][maxLength];
        boolean[] done = new boolean[batch];
        Tensor h = null, c = null;
        int[] prev = new int[batch]; // BOS
        int in = config.inputSize();
        for (int t = 0; t < maxLength; t++) {
            Tensor step = Tensor.zeros(1, batch, in);
            for (int b = 0; b < batch; b++) {
                if (t == 0 || form == Form.EVERY_STEP) {
                    System.arraycopy(x.data(), b * xSize, step.data(), b * in, xSize);
                }
                if (feedback) {
                    step.data()[b * in + xSize + prev[b]] = 1f;
                }
            }
            LayerOutput o = gen.forward(step, h == null ? ForwardOptions.defaults()
                    : ForwardOptions.defaults().withInitialState(h, c));
            h = o.hN();
            c = o.cN();
            float[] z = head.forward(o.output()).data();
            boolean all = true;
            for (int b = 0; b < batch; b++) {
                int best = 0;
                for (int v = 1; v < vocab; v++) {
                    if (z[b * vocab + v] > z[b * vocab + best]) {
                        best = v;
                    }
                }
                out[b][t] = done[b] ? endToken : best;
                prev[b] = best;
                done[b] |= endToken >= 0 && best == endToken;
                all &= done[b];
            }
            if (all && endToken >= 0) {
                for (int[] row : out) {
                    Arrays.fill(row, t + 1, maxLength, endToken);
                }
                break;
            }
        }
        return out;
    }

    private int requireInput(Tensor x) {
        Objects.requireNonNull(x, "x");
        if (x.rank() != 2 || x.dim(1) != xSize || x.dim(0) < 1) {
            throw new IllegalArgumentException("x: expected (B, " + xSize + "), got " + x.shapeString());
        }
        return x.dim(0);
    }

    /** The generator's inputs: the x part (first step or every step) and, with feedback, one_hot(prev). */
    private void fillInput(Tensor x, Tensor into, int steps, int batch, int[] targets) {
        float[] d = into.data();
        Arrays.fill(d, 0f);
        int in = config.inputSize();
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                int row = (t * batch + b) * in;
                if (t == 0 || form == Form.EVERY_STEP) {
                    System.arraycopy(x.data(), b * xSize, d, row, xSize);
                }
                if (feedback) {
                    int prev = t == 0 ? 0 : targets[(t - 1) * batch + b];
                    d[row + xSize + Math.max(0, Math.min(vocab - 1, prev))] = 1f; // a padded step's token is never read
                }
            }
        }
    }
}
