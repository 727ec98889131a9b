package org.rnnkit.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.rnnkit.tensor.Tensor;

/**
 * A text as a sequence of character ids, with its vocabulary (the distinct characters, sorted).
 *
 * <p>The default corpus is the licence texts every Debian system carries in
 * {@value #DEBIAN_LICENSES} (package {@code base-files}; about 260 KB of English prose: GPL, LGPL,
 * Apache, Artistic, MPL, GFDL, ...). They are read where the system keeps them, not copied into
 * rnnkit; their own terms allow verbatim copying and distribution, and training a model on them
 * changes none of them.
 *
 * <p>Thread safety: immutable.
 */
final class CharCorpus {
    static final String DEBIAN_LICENSES = "/usr/share/common-licenses";

    final String vocab; // sorted distinct characters
    final int[] ids;

    CharCorpus(String text, String vocab) {
        this.vocab = vocab;
        this.ids = encode(text, vocab);
    }

    /** Reads a file, or every regular file of a directory (symbolic links skipped, sorted by name). */
    static CharCorpus read(Path path) throws IOException {
        StringBuilder sb = new StringBuilder();
        if (Files.isDirectory(path)) {
            List<Path> files;
            try (Stream<Path> s = Files.list(path)) {
                files = s.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).sorted().toList();
            }
            for (Path f : files) {
                sb.append(Files.readString(f, StandardCharsets.UTF_8)).append('\n');
            }
        } else {
            sb.append(Files.readString(path, StandardCharsets.UTF_8));
        }
        String text = sb.toString();
        if (text.length() < 2) {
            throw new IllegalArgumentException("corpus " + path + ": expected at least 2 characters, got " + text.length());
        }
        TreeSet<Character> set = new TreeSet<>();
        for (int i = 0; i < text.length(); i++) {
            set.add(text.charAt(i));
        }
        StringBuilder v = new StringBuilder();
        set.forEach(v::append);
        return new CharCorpus(text, v.toString());
    }

    static int[] encode(String text, String vocab) {
        int[] out = new int[text.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = vocab.indexOf(text.charAt(i));
            if (out[i] < 0) {
                throw new IllegalArgumentException("character '" + text.charAt(i) + "' (U+"
                        + String.format("%04X", (int) text.charAt(i)) + ") is not in the model's vocabulary");
            }
        }
        return out;
    }

    /** The first {@code n} characters of the text (a prime for samples). */
    String prefix(int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(n, ids.length); i++) {
            sb.append(vocab.charAt(ids[i]));
        }
        return sb.toString();
    }

    /** One-hot encoding of {@code ids[t*batch + b]} into a time-major {@code (T, B, V)} tensor. */
    static Tensor oneHot(int[] ids, int seqLen, int batch, int vocabSize) {
        Tensor x = Tensor.zeros(seqLen, batch, vocabSize);
        for (int i = 0; i < seqLen * batch; i++) {
            x.data()[i * vocabSize + ids[i]] = 1f;
        }
        return x;
    }
}
