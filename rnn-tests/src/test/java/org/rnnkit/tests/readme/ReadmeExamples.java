package org.rnnkit.tests.readme;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.rnnkit.backend.Backends;
import org.rnnkit.nn.*;
import org.rnnkit.onnx.OnnxModel;
import org.rnnkit.onnx.OnnxWriter;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.CellVariant;
import org.rnnkit.train.*;
import org.rnnkit.train.SequenceModel.Task;

/**
 * The README's Java examples, compiled with the tests so that they cannot rot: every {@code ```java} block
 * of the README is one region between {@code // readme:begin} and {@code // readme:end} here, character
 * for character ({@link ReadmeExamplesTest} checks it; its import lines must be among this file's). The
 * code around a region makes what the README takes as given (a model file, input values, states).
 *
 * <p>{@link #main} runs every example in the working directory, where it writes its model files:
 * {@link ReadmeExamplesTest} runs it in a fresh directory, and so can a scratch project that depends on the
 * README's Maven snippet alone.
 *
 * <p>Thread safety: single-threaded; run once per JVM.
 */
public final class ReadmeExamples {
    private ReadmeExamples() {}

    public static void main(String[] args) throws Exception {
        makeModelFiles();
        loadAndRun();
        buildOne();
        train();
        classify();
        tagEveryStep();
        caption();
        translate();
        variableLengths();
        stream();
        variants();
        onnx();
        System.out.println("README examples ran on backend " + Backends.get().name());
    }

    /** The files the examples open, as scripts/rnnkit_torch.py would export them from PyTorch. */
    static void makeModelFiles() throws Exception {
        RecurrentLayer.lstm(8, 16).seed(1).build().save(Path.of("lstm.safetensors"));
        java.nio.file.Files.write(Path.of("lstm.onnx"), OnnxWriter.write(RecurrentLayer.lstm(8, 16).seed(1).build()));
        RecurrentCell.initialized(new CellConfig(CellType.LSTM, 8, 16, true), 2, Backends.get())
                .save(Path.of("lstmcell.safetensors"));
    }

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    static void loadAndRun() throws Exception {
        int seqLen = 5, batch = 2, inputSize = 8;
        float[] values = random(seqLen * batch * inputSize, 3);
        Tensor h0 = null, c0 = null;
        // readme:begin
        // An nn.LSTM exported from PyTorch with scripts/rnnkit_torch.py (configuration in the file's metadata).
        RecurrentLayer lstm = RecurrentLayer.load(Path.of("lstm.safetensors"));
        Tensor x = Tensor.wrap(values, seqLen, batch, inputSize);        // (T, B, I), or (B, T, I) if batch_first
        LayerOutput y = lstm.forward(x, h0, c0);                         // h0, c0 may be null (zeros)
        float[] out = y.output().data();                                 // (T, B, D*H_out), PyTorch's layout
        Tensor hN = y.hN(), cN = y.cN();                                 // (num_layers*D, B, H_out), (.., H)
        // readme:end
        check(out.length == seqLen * batch * 16 && hN.size() == batch * 16 && cN.size() == batch * 16, "forward shapes");
    }

    static void buildOne() throws Exception {
        Tensor xStep = Tensor.wrap(random(3 * 8, 4), 3, 8), h = null, c = null;
        // readme:begin
        RecurrentLayer gru = RecurrentLayer.gru(64, 128).numLayers(2).bidirectional(true).batchFirst(true)
                .seed(42).build();
        gru.save(Path.of("gru.safetensors"));           // loads in PyTorch: scripts/rnnkit_torch.py load_module(...)
        RecurrentCell cell = RecurrentCell.load(Path.of("lstmcell.safetensors"));
        CellOutput next = cell.forward(xStep, h, c);    // (B, I) or unbatched (I)
        // readme:end
        check(next.h().size() == 3 * 16 && RecurrentLayer.load(Path.of("gru.safetensors")).config().numLayers() == 2,
                "cell step and saved GRU");
    }

    static void train() throws Exception {
        RecurrentLayer lstm = RecurrentLayer.load(Path.of("lstm.safetensors"));
        Tensor x = Tensor.wrap(random(5 * 2 * 8, 5), 5, 2, 8);
        Tensor gOutput = Tensor.wrap(random(5 * 2 * 16, 6), 5, 2, 16), ghN = null, gcN = null;
        // readme:begin
        LayerTrace trace = lstm.forwardTraining(x);                      // keeps what backward needs
        Gradients g = lstm.backward(trace, gOutput, ghN, gcN);             // any may be null
        Tensor gw = g.parameters().get("weight_hh_l0");                    // state_dict names and shapes
        // readme:end
        check(gw.dim(0) == 64 && gw.dim(1) == 16, "gradient shape");
    }

    /** A batch of the classifier example: {@code x} of shape (T, B, 1), one class per row. */
    record Batch(Tensor x, int[] y) {}

    static void classify() throws Exception {
        List<Batch> batches = List.of(new Batch(Tensor.wrap(random(6 * 4, 7), 6, 4, 1), new int[] {0, 1, 1, 0}));
        // readme:begin
        RecurrentConfig gru = RecurrentConfig.gru(1, 12);                  // nn.GRU(1, 12); withNumLayers(2), ...
        SequenceModel m = SequenceModel.create(gru, /*classes*/ 2, /*seed*/ 7, Backends.get()); // head on the last h
        Adam adam = new Adam(0.02);
        for (Batch b : batches) {                                          // x: (T, B, 1), y: one class per row
            m.trainStep(Task.PER_SEQUENCE, b.x(), b.y(), adam, Clipping.byNorm(1.0));
        }
        m.save(Path.of("classifier.safetensors"), Map.of());             // loads in PyTorch, names rnn.*, head.*
        // readme:end
        check(SequenceModel.load(Path.of("classifier.safetensors")).classes() == 2, "saved classifier");
    }

    static void tagEveryStep() throws Exception {
        Tensor x = Tensor.wrap(random(9 * 4 * 3, 12), 9, 4, 3);
        int[] tags = new int[9 * 4];
        // readme:begin
        SequenceModel tagger = SequenceModel.create(RecurrentConfig.lstm(3, 16), /*classes*/ 5, 1, Backends.get());
        tagger.trainStep(Task.PER_STEP, x, tags, new Adam(0.01));          // x: (T, B, 3), a class per (t, b)
        Tensor logits = tagger.logits(Task.PER_STEP, x);                   // (T, B, 5)
        // readme:end
        check(logits.dim(2) == 5, "per-step logits");
    }

    static void caption() throws Exception {
        Tensor image = Tensor.wrap(random(4 * 10, 13), 4, 10);
        int[] words = new int[6 * 4];
        // readme:begin
        OneToMany captioner = OneToMany.create(OneToMany.Form.FIRST_STEP, CellType.GRU, /*I*/ 10, /*H*/ 32,
                /*layers*/ 1, /*vocab*/ 20, /*seed*/ 1, Backends.get()); // x at step 0 only; EVERY_STEP: at each
        captioner.trainStep(image, words, null, new Adam(0.01), Clipping.byNorm(1.0)); // image: (B, 10), words: T*B
        int[][] caption = captioner.greedy(image, /*steps*/ 6);          // caption[b]: 6 tokens
        // readme:end
        check(caption.length == 4 && caption[0].length == 6, "caption shape");
    }

    static void translate() throws Exception {
        Tensor source = Tensor.wrap(random(7 * 2 * 12, 14), 7, 2, 12);
        int[] sourceLengths = {7, 4};
        int[] targets = {5, 6, 7, 8, 2, 2};                              // (Tt=3, B=2), time-major
        int[] targetLengths = {3, 2};
        int end = 2;
        // readme:begin
        Seq2Seq model = Seq2Seq.create(Seq2Seq.Form.INIT_STATE, CellType.LSTM, /*I*/ 12, /*H*/ 64, /*layers*/ 2,
                /*vocab*/ 30, /*seed*/ 1, Backends.get());                 // CONTEXT_EVERY_STEP: c joins each input
        Adam adam = new Adam(0.005);                                       // token 0 is BOS, never a target
        model.trainStep(source, sourceLengths, targets, targetLengths, adam, Clipping.byNorm(1.0)); // teacher forcing
        int[][] greedy = model.greedy(source, sourceLengths, /*maxLength*/ 10, end);
        int[][] best = model.beamSearch(source, sourceLengths, 10, end, /*width*/ 4, /*alpha*/ 1.0); // per token
        model.save(Path.of("seq2seq.safetensors"), Map.of());           // encoder.*, decoder.*, head.*
        // readme:end
        check(greedy.length == 2 && best[1].length == 10, "decoded shapes");
        check(Seq2Seq.load(Path.of("seq2seq.safetensors"), Backends.get()).vocab() == 30, "saved seq2seq");
    }

    static void variableLengths() throws Exception {
        RecurrentLayer gru = RecurrentLayer.gru(3, 5).seed(8).build();
        Tensor x = Tensor.wrap(random(10 * 4 * 3, 9), 10, 4, 3);
        // readme:begin
        int[] lengths = {7, 3, 10, 1};                                    // one per batch row, each in 1..T, any order
        LayerOutput y = gru.forward(x, ForwardOptions.defaults().withLengths(lengths)); // x: (T=10, B=4, I) padded
        // readme:end
        check(y.output().data()[(9 * 4 + 3) * 5] == 0f, "padded steps are zeros");
    }

    static void stream() throws Exception {
        int inputSize = 8;
        List<float[]> incoming = List.of(random(3 * inputSize, 10), random(inputSize, 11));
        float[] out = new float[3 * 16];
        // readme:begin
        RecurrentLayer lstm = RecurrentLayer.load(Path.of("lstm.safetensors"));   // shared by all threads
        StreamState state = lstm.newStream(1);                                     // one per client
        for (float[] chunk : incoming) {                                           // any number of steps
            lstm.stream(state, chunk, 0, chunk.length / inputSize, out, 0);        // no allocation once warm
        }
        state.reset();            // or state.reset(rows...) for chosen streams
        // readme:end
        check(state.h().data()[0] == 0f, "reset state");
    }

    static void variants() throws Exception {
        // readme:begin
        RecurrentLayer peepholes = RecurrentLayer.lstm(8, 16).seed(7)      // ONNX's LSTM with P, clip, activations
                .variant(CellVariant.NONE.withPeepholes(true).withClip(3f).withActivations(
                        Activation.of(Activation.Function.HARD_SIGMOID), Activation.TANH, Activation.TANH))
                .build();                                                  // state_dict adds weight_peephole_l0
        RecurrentLayer onnxGru = RecurrentLayer.gru(8, 16).seed(7)          // ONNX's default GRU, Keras reset_after=False
                .variant(CellVariant.NONE.withResetBeforeProduct(true)).reverse(true).build(); // direction=reverse
        // readme:end
        Tensor x = Tensor.wrap(random(5 * 2 * 8, 12), 5, 2, 8);
        check(peepholes.forward(x).output().size() == 5 * 2 * 16, "peephole LSTM runs");
        check(onnxGru.forward(x).hN().size() == 2 * 16, "reverse GRU runs");
    }

    static void onnx() throws Exception {
        Tensor x = Tensor.wrap(random(5 * 2 * 8, 13), 5, 2, 8);
        // readme:begin
        OnnxModel model = OnnxModel.read(Path.of("lstm.onnx"));            // PyTorch's export, or one LSTM/GRU/RNN node
        RecurrentLayer fromOnnx = model.bind(Backends.get()).layer();      // PyTorch's layer, layout and state_dict
        LayerOutput z = fromOnnx.forward(x);                                // (T, B, I) in, as the exported module
        byte[] file = OnnxWriter.write(fromOnnx);                          // a standard ONNX model again (opset 17)
        // readme:end
        check(z.output().bitEquals(RecurrentLayer.load(Path.of("lstm.safetensors")).withBackend(Backends.get())
                .forward(x).output()), "the ONNX file's layer is the saved one");
        check(file.length > 0, "written");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("README example: " + what);
        }
    }
}
