package org.rnnkit.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
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
import org.rnnkit.nn.Linear;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.ParameterLayout;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.TrainableLayer;
import org.rnnkit.tensor.Tensor;

/**
 * An encoder-decoder (seq2seq, the seeds' {@code N vs M} structure): an encoder reads the source, a decoder
 * writes the target one token at a time, and a linear head turns each decoder output into token logits,
 * as the PyTorch module
 * <pre>
 * encoder = nn.RNN|LSTM|GRU(I, H, L);  decoder = nn.RNN|LSTM|GRU(V (+ H), H, L);  head = nn.Linear(H, V)
 * </pre>
 * in one of the seeds' two forms ({@link Form}). Tokens are {@code 0..V-1}; token {@link #BOS} starts every
 * target and is never predicted. The decoder reads tokens as one-hot vectors: in PyTorch, {@code
 * one_hot(prev) @ weight_ih^T} is an {@code nn.Embedding} whose table is {@code weight_ih_l0[:, :V]^T}
 * (and rnnkit's kernels look such rows up rather than multiply them). Or, with an embedding size
 * {@code E > 0}, through an embedding table {@code embedding.weight (V, E)}, PyTorch's
 * {@code embedding = nn.Embedding(V, E)}: the decoder reads {@code embedding(prev)}, {@code E} wide, and
 * the table is trained with the rest.
 *
 * <p>Training uses teacher forcing: the decoder's input at step {@code t} is the target token at
 * {@code t-1} ({@code BOS} at 0), and the loss is the mean cross-entropy over every counted (step, row),
 * back-propagated through the decoder and the encoder. Source and target lengths may differ per row
 * (padding is neither read nor counted). Inference decodes greedily or by beam search, feeding back the
 * chosen tokens.
 *
 * <p>Parameters are named as the module's {@code state_dict}: {@code encoder.*}, {@code decoder.*},
 * {@code head.weight}, {@code head.bias}; {@link #save} writes them with the metadata {@code structure},
 * {@code mode}, {@code num_layers}, {@code hidden_size}, {@code input_size} and {@code vocab}.
 *
 * <p>Thread safety: not thread-safe; a training step writes the parameters and every buffer. Decoding
 * reads immutable snapshots, made after each update.
 */
public final class Seq2Seq {
    /** The token every target starts from (never a target itself). */
    public static final int BOS = 0;

    /** How the encoder hands the source to the decoder: the seeds' two encoder-decoder structures. */
    public enum Form {
        /** The encoder's final state ({@code h_n}, and {@code c_n} for LSTM) is the decoder's initial state. */
        INIT_STATE("seq2seq-init"),
        /**
         * The context {@code c}, the encoder's last layer's final hidden state, joins the decoder's input at
         * every step ({@code concat(one_hot(prev), c)}); the decoder starts from zeros.
         */
        CONTEXT_EVERY_STEP("seq2seq-every");

        private final String structure;

        Form(String structure) {
            this.structure = structure;
        }

        /** The name in model files and structure cases: {@code seq2seq-init} or {@code seq2seq-every}. */
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
            throw new IllegalArgumentException("structure: expected seq2seq-init or seq2seq-every, got '" + structure + "'");
        }
    }

    private final Form form;
    private final RecurrentConfig encoderConfig, decoderConfig;
    private final int vocab, embedding; // embedding 0: one-hot tokens
    private final Backend backend;
    private final Map<String, Tensor> params; // live, state_dict order
    private final TrainableLayer encoder, decoder;
    private final Head head;
    private final Map<String, Tensor> grads = new LinkedHashMap<>();
    private Tensor decoderInput, encoderHGrad, embeddingGrad;
    private RecurrentLayer encoderSnapshot, decoderSnapshot;
    private Linear headSnapshot;

    private Seq2Seq(Form form, RecurrentConfig encoderConfig, int vocab, int embedding, Map<String, Tensor> params,
            Backend backend) {
        this.form = form;
        this.encoderConfig = encoderConfig;
        this.decoderConfig = decoderConfigOf(form, encoderConfig, vocab, embedding);
        this.vocab = vocab;
        this.embedding = embedding;
        this.embeddingGrad = embedding > 0 ? Tensor.zeros(vocab, embedding) : null;
        this.params = params;
        this.backend = backend;
        this.encoder = TrainableLayer.of(encoderConfig, ModelParts.part(params, "encoder"), backend);
        this.decoder = TrainableLayer.of(decoderConfig, ModelParts.part(params, "decoder"), backend);
        this.head = new Head(backend, params.get("head.weight"), params.get("head.bias"));
    }

    private static RecurrentConfig decoderConfigOf(Form form, RecurrentConfig enc, int vocab, int embedding) {
        int tokens = embedding > 0 ? embedding : vocab;
        int in = form == Form.INIT_STATE ? tokens : tokens + enc.hiddenSize();
        return new RecurrentConfig(enc.type(), in, enc.hiddenSize(), enc.numLayers(), enc.bias(), false, false, 0);
    }

    private static RecurrentConfig encoderConfigOf(CellType type, int inputSize, int hiddenSize, int numLayers) {
        return new RecurrentConfig(type, inputSize, hiddenSize, numLayers, true, false, false, 0);
    }

    /** A new model with one-hot tokens and PyTorch's default initialisation drawn from {@code seed}. */
    public static Seq2Seq create(Form form, CellType type, int inputSize, int hiddenSize, int numLayers, int vocab,
            long seed, Backend backend) {
        return create(form, type, inputSize, hiddenSize, numLayers, vocab, 0, seed, backend);
    }

    /**
     * A new model with PyTorch's default initialisation drawn from {@code seed}; {@code embeddingSize > 0} adds
     * an embedding table for the decoder's tokens ({@code nn.Embedding}'s initialisation: standard normal).
     */
    public static Seq2Seq create(Form form, CellType type, int inputSize, int hiddenSize, int numLayers, int vocab,
            int embeddingSize, long seed, Backend backend) {
        Objects.requireNonNull(form, "form");
        RecurrentConfig enc = encoderConfigOf(type, inputSize, hiddenSize, numLayers);
        requireVocab(vocab);
        requireEmbedding(embeddingSize);
        Map<String, Tensor> p = new LinkedHashMap<>();
        if (embeddingSize > 0) {
            Tensor table = Tensor.zeros(vocab, embeddingSize);
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed + 3);
            for (int i = 0; i < table.size(); i++) {
                table.data()[i] = (float) rnd.nextGaussian();
            }
            p.put("embedding.weight", table);
        }
        Initializer.uniform(ParameterLayout.of(enc), hiddenSize, seed).forEach((k, v) -> p.put("encoder." + k, v));
        Initializer.uniform(ParameterLayout.of(decoderConfigOf(form, enc, vocab, embeddingSize)), hiddenSize, seed + 1)
                .forEach((k, v) -> p.put("decoder." + k, v));
        Linear.initialParameters(hiddenSize, vocab, true, seed + 2).forEach((k, v) -> p.put("head." + k, v));
        return of(form, type, inputSize, hiddenSize, numLayers, vocab, embeddingSize, p, backend);
    }

    /**
     * A model from parameters named {@code encoder.*}, {@code decoder.*} and {@code head.*} (copied).
     *
     * @throws IllegalArgumentException naming a tensor that is missing, unexpected or mis-shaped
     */
    public static Seq2Seq of(Form form, CellType type, int inputSize, int hiddenSize, int numLayers, int vocab,
            Map<String, Tensor> parameters, Backend backend) {
        return of(form, type, inputSize, hiddenSize, numLayers, vocab, 0, parameters, backend);
    }

    /**
     * A model from parameters named {@code encoder.*}, {@code decoder.*}, {@code head.*} and, with
     * {@code embeddingSize > 0}, {@code embedding.weight} (copied).
     *
     * @throws IllegalArgumentException naming a tensor that is missing, unexpected or mis-shaped
     */
    public static Seq2Seq of(Form form, CellType type, int inputSize, int hiddenSize, int numLayers, int vocab,
            int embeddingSize, Map<String, Tensor> parameters, Backend backend) {
        Objects.requireNonNull(form, "form");
        Objects.requireNonNull(parameters, "parameters");
        Objects.requireNonNull(backend, "backend");
        requireVocab(vocab);
        requireEmbedding(embeddingSize);
        RecurrentConfig enc = encoderConfigOf(type, inputSize, hiddenSize, numLayers);
        Map<String, RecurrentConfig> parts = new LinkedHashMap<>();
        parts.put("encoder", enc);
        parts.put("decoder", decoderConfigOf(form, enc, vocab, embeddingSize));
        Map<String, Tensor> rest = new LinkedHashMap<>(parameters);
        Tensor table = rest.remove("embedding.weight");
        Map<String, Tensor> checked = new LinkedHashMap<>();
        if (embeddingSize > 0) {
            if (table == null || !table.sameShape(vocab, embeddingSize)) {
                throw new IllegalArgumentException("embedding.weight: expected shape " + Tensor.shapeString(vocab,
                        embeddingSize) + ", got " + (table == null ? "none" : table.shapeString()));
            }
            checked.put("embedding.weight", table.copy());
        } else if (table != null) {
            throw new IllegalArgumentException("unexpected tensor 'embedding.weight': a model of one-hot tokens has"
                    + " no embedding table (give an embedding size)");
        }
        checked.putAll(ModelParts.checked(rest, parts, hiddenSize, vocab));
        return new Seq2Seq(form, enc, vocab, embeddingSize, checked, backend);
    }

    /** Loads a model written by {@link #save} (or by PyTorch with the same names and metadata). */
    public static Seq2Seq load(Path file, Backend backend) throws IOException {
        SafeTensorsFile f = SafeTensors.read(file);
        Map<String, String> m = f.metadata();
        try {
            return of(Form.of(String.valueOf(m.get("structure"))), CellType.valueOf(String.valueOf(m.get("mode"))),
                    ModelParts.intMeta(m, "input_size"), ModelParts.intMeta(m, "hidden_size"),
                    ModelParts.intMeta(m, "num_layers"), ModelParts.intMeta(m, "vocab"),
                    m.containsKey("embedding_size") ? ModelParts.intMeta(m, "embedding_size") : 0, f.tensors(), backend);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": " + e.getMessage());
        }
    }

    /** Writes the parameters (PyTorch names) and the configuration; {@code extra} metadata is added. */
    public void save(Path file, Map<String, String> extra) throws IOException {
        Map<String, String> meta = ModelParts.metadata(form.structure(), encoderConfig, encoderConfig.inputSize(), vocab);
        if (embedding > 0) {
            meta.put("embedding_size", Integer.toString(embedding));
        }
        meta.putAll(extra);
        SafeTensors.write(file, params, meta);
    }

    public Form form() {
        return form;
    }

    public RecurrentConfig encoderConfig() {
        return encoderConfig;
    }

    public RecurrentConfig decoderConfig() {
        return decoderConfig;
    }

    public int vocab() {
        return vocab;
    }

    /** The embedding table's width, or 0 when the decoder reads one-hot tokens. */
    public int embeddingSize() {
        return embedding;
    }

    /** The live parameters by name, in {@code state_dict} order (optimizers update these arrays). */
    public Map<String, Tensor> parameters() {
        return Collections.unmodifiableMap(params);
    }

    /**
     * Teacher-forced forward and backward pass: the mean cross-entropy of the target tokens and the gradient
     * of every parameter. Does not change the parameters.
     *
     * @param source {@code (Ts, B, I)}, time-major
     * @param sourceLengths per row, or null when every row has {@code Ts} steps
     * @param targets {@code Tt*B} tokens, time-major ({@code targets[t*B + b]}); a row's tokens past its length
     *     are ignored
     * @param targetLengths per row ({@code 1..Tt}), or null when every row has {@code Tt}
     * @return the loss, the logits {@code (Tt, B, V)} and the gradients by name: the model's own buffers,
     *     rewritten by its next step
     */
    public SequenceModel.Step lossAndGradients(Tensor source, int[] sourceLengths, int[] targets, int[] targetLengths) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(targets, "targets");
        if (source.rank() != 3) {
            throw new IllegalArgumentException("source: expected (Ts, B, I), got " + source.shapeString());
        }
        int batch = source.dim(1), hidden = encoderConfig.hiddenSize(), layers = encoderConfig.numLayers();
        if (targets.length == 0 || targets.length % batch != 0) {
            throw new IllegalArgumentException("targets: expected Tt*B tokens with B=" + batch + ", got " + targets.length);
        }
        int steps = targets.length / batch;
        checkLengths("targetLengths", targetLengths, batch, steps);
        for (int r = 0; r < targets.length; r++) {
            if (targets[r] < 0 || targets[r] >= vocab) {
                if (targetLengths == null || r / batch < targetLengths[r % batch]) {
                    throw new IllegalArgumentException("targets[" + r + "]: expected a token in 0.." + (vocab - 1)
                            + ", got " + targets[r]);
                }
            }
        }
        LayerOutput enc = encoder.forward(source, ForwardOptions.defaults().withLengths(sourceLengths));
        decoderInput = Head.sized(decoderInput, new int[] {steps, batch, decoderConfig.inputSize()});
        fillDecoderInput(decoderInput.data(), targets, steps, batch, enc.hN());
        ForwardOptions dec = ForwardOptions.defaults().withLengths(targetLengths);
        if (form == Form.INIT_STATE) {
            dec = dec.withInitialState(enc.hN(), enc.cN());
        }
        LayerOutput out = decoder.forward(decoderInput, dec);
        double loss = head.lossAndGradients(out.output(), targets, targetLengths, batch);
        Gradients dg = decoder.backward(head.featureGrad(), null, null,
                form == Form.CONTEXT_EVERY_STEP || embedding > 0);
        if (embedding > 0) { // dL/dtable: each step's token row of the input gradient, added to its token's row
            float[] ge = embeddingGrad.data(), dx = dg.input().data();
            Arrays.fill(ge, 0f);
            int in = decoderConfig.inputSize();
            for (int t = 0; t < steps; t++) {
                for (int b = 0; b < batch; b++) {
                    if (targetLengths == null || t < targetLengths[b]) {
                        int prev = t == 0 ? BOS : targets[(t - 1) * batch + b], row = (t * batch + b) * in;
                        for (int j = 0; j < embedding; j++) {
                            ge[prev * embedding + j] += dx[row + j];
                        }
                    }
                }
            }
        }
        Gradients eg;
        if (form == Form.INIT_STATE) {
            eg = encoder.backward(null, dg.h0(), dg.c0());
        } else {
            // dL/dc: the context's columns of the decoder's input gradient, summed over the steps, into the
            // encoder's last layer's final h
            encoderHGrad = Head.sized(encoderHGrad, enc.hN().shape());
            float[] gh = encoderHGrad.data(), dx = dg.input().data();
            Arrays.fill(gh, 0f);
            int in = decoderConfig.inputSize(), top = (layers - 1) * batch * hidden;
            for (int t = 0; t < steps; t++) {
                for (int b = 0; b < batch; b++) {
                    int row = (t * batch + b) * in + tokenWidth();
                    for (int j = 0; j < hidden; j++) {
                        gh[top + b * hidden + j] += dx[row + j];
                    }
                }
            }
            eg = encoder.backward(null, encoderHGrad, null);
        }
        if (grads.isEmpty()) { // the same tensors every step
            if (embedding > 0) {
                grads.put("embedding.weight", embeddingGrad);
            }
            eg.parameters().forEach((k, v) -> grads.put("encoder." + k, v));
            dg.parameters().forEach((k, v) -> grads.put("decoder." + k, v));
            grads.put("head.weight", head.weightGrad);
            grads.put("head.bias", head.biasGrad);
        }
        return new SequenceModel.Step(loss, head.logits(), Collections.unmodifiableMap(grads), out, Double.NaN);
    }

    /** One optimizer step: {@link #lossAndGradients}, clipping, update. Returns the step (loss before the update). */
    public SequenceModel.Step trainStep(Tensor source, int[] sourceLengths, int[] targets, int[] targetLengths,
            Optimizer optimizer, Clipping clipping) {
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(clipping, "clipping");
        SequenceModel.Step s = lossAndGradients(source, sourceLengths, targets, targetLengths);
        double norm = clipping.apply(grads);
        optimizer.step(params, grads);
        encoder.parametersChanged();
        decoder.parametersChanged();
        encoderSnapshot = null;
        decoderSnapshot = null;
        headSnapshot = null;
        return new SequenceModel.Step(s.loss(), s.logits(), s.gradients(), s.output(), norm);
    }

    /** Decoder inputs of teacher forcing: one_hot(prev_t) (prev = BOS, targets...), and the context for CONTEXT_EVERY_STEP. */
    private void fillDecoderInput(float[] x, int[] targets, int steps, int batch, Tensor encoderH) {
        int in = decoderConfig.inputSize(), hidden = encoderConfig.hiddenSize();
        int top = (encoderConfig.numLayers() - 1) * batch * hidden;
        Arrays.fill(x, 0f);
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                int row = (t * batch + b) * in, prev = t == 0 ? BOS : targets[(t - 1) * batch + b];
                putToken(x, row, Math.max(0, Math.min(vocab - 1, prev))); // a padded step's token is never read
                if (form == Form.CONTEXT_EVERY_STEP) {
                    System.arraycopy(encoderH.data(), top + b * hidden, x, row + tokenWidth(), hidden);
                }
            }
        }
    }

    /**
     * Greedy decoding: from {@link #BOS}, each step feeds back the most likely token (the lowest index among
     * equals), for {@code maxLength} steps or until every row has produced {@code endToken} (a row that has
     * is padded with it).
     *
     * @param endToken the token that ends a row, or -1 for none
     * @return {@code tokens[b]}: row {@code b}'s tokens, {@code maxLength} of them (padded with the end token)
     */
    public int[][] greedy(Tensor source, int[] sourceLengths, int maxLength, int endToken) {
        return Decoding.greedy(this, source, sourceLengths, maxLength, endToken);
    }

    /**
     * Beam search of width {@code width}: per row, the {@code width} best partial targets by total
     * log-probability are kept at each step; a finished one (it produced {@code endToken}) is kept with its
     * score; at the end the best by score {@code / length^alpha} wins ({@code alpha} 0: total log-probability;
     * 1: per token; the length counts the end token). Width 1 is {@link #greedy}.
     */
    public int[][] beamSearch(Tensor source, int[] sourceLengths, int maxLength, int endToken, int width, double alpha) {
        return Decoding.beam(this, source, sourceLengths, maxLength, endToken, width, alpha);
    }

    /** The encoder's state for inference: what the decoder starts from and, for CONTEXT_EVERY_STEP, the context. */
    LayerOutput encode(Tensor source, int[] sourceLengths) {
        if (encoderSnapshot == null) {
            encoderSnapshot = encoder.snapshot();
            decoderSnapshot = decoder.snapshot();
            headSnapshot = head.snapshot();
        }
        return encoderSnapshot.forward(source, ForwardOptions.defaults().withLengths(sourceLengths));
    }

    /**
     * One decoder step for inference over {@code rows} hypotheses: {@code tokens[i]} fed in, from states
     * {@code h}, {@code c} (null: zeros), with the context rows {@code context} ({@code (rows, H)}, only for
     * CONTEXT_EVERY_STEP); returns the decoder's output and new states, and writes the logits into
     * {@code logits} ({@code rows x V}).
     */
    LayerOutput decodeStep(int[] tokens, Tensor h, Tensor c, Tensor context, float[] logits) {
        int rows = tokens.length, in = decoderConfig.inputSize(), hidden = encoderConfig.hiddenSize();
        Tensor x = Tensor.zeros(1, rows, in);
        for (int i = 0; i < rows; i++) {
            putToken(x.data(), i * in, tokens[i]);
            if (context != null) {
                System.arraycopy(context.data(), i * hidden, x.data(), i * in + tokenWidth(), hidden);
            }
        }
        ForwardOptions o = ForwardOptions.defaults();
        if (h != null) {
            o = o.withInitialState(h, c);
        }
        LayerOutput out = decoderSnapshot.forward(x, o);
        System.arraycopy(headSnapshot.forward(out.output()).data(), 0, logits, 0, rows * vocab);
        return out;
    }

    /** How wide a token is in the decoder's input: V one-hot, or E embedded. */
    private int tokenWidth() {
        return embedding > 0 ? embedding : vocab;
    }

    /** Writes a token's part of a decoder input row: its one-hot vector or its row of the embedding table. */
    private void putToken(float[] x, int row, int token) {
        if (embedding > 0) {
            System.arraycopy(params.get("embedding.weight").data(), token * embedding, x, row, embedding);
        } else {
            x[row + token] = 1f;
        }
    }

    private static void requireEmbedding(int embeddingSize) {
        if (embeddingSize < 0) {
            throw new IllegalArgumentException("embeddingSize: expected 0 (one-hot tokens) or more, got " + embeddingSize);
        }
    }

    private static void requireVocab(int vocab) {
        if (vocab < 2) {
            throw new IllegalArgumentException("vocab: expected >= 2 (BOS and at least one token), got " + vocab);
        }
    }

    static void checkLengths(String name, int[] lengths, int batch, int max) {
        if (lengths == null) {
            return;
        }
        if (lengths.length != batch) {
            throw new IllegalArgumentException(name + ": expected " + batch + " values (one per row), got " + lengths.length);
        }
        for (int b = 0; b < batch; b++) {
            if (lengths[b] < 1 || lengths[b] > max) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "%s[%d]: expected 1..%d, got %d", name, b,
                        max, lengths[b]));
            }
        }
    }

    @Override
    public String toString() {
        return "Seq2Seq[" + form.structure() + ", " + encoderConfig + ", vocab " + vocab + ", " + backend.name() + "]";
    }
}
