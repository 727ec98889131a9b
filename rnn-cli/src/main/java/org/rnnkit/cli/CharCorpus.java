package org.rnnkit.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.rnnkit.tensor.MemoryBudget;
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

    /** Memory per byte of corpus: the bytes, the decoded text (2 bytes a char), the builder's copy, the ids (4). */
    static final int BYTES_PER_BYTE = 11;

    /**
     * Reads a file, or every regular file of a directory (symbolic links and special files skipped, sorted by
     * name), as strict UTF-8. Sizes are checked against the {@link MemoryBudget} before anything is read.
     *
     * @throws MalformedCorpusException naming the file and the offset of the first byte that is not UTF-8
     */
    static CharCorpus read(Path path) throws IOException {
        List<Path> files;
        boolean directory = Files.isDirectory(path);
        if (directory) {
            try (Stream<Path> s = Files.list(path)) {
                files = s.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).sorted().toList();
            }
        } else if (Files.isRegularFile(path)) {
            files = List.of(path);
        } else {
            throw new java.nio.file.FileSystemException(path.toString(), null,
                    "not a regular file or directory (a pipe, socket or device?)");
        }
        long total = 0;
        for (Path f : files) {
            total += Files.size(f);
        }
        MemoryBudget.require(MemoryBudget.bytesOf(total, BYTES_PER_BYTE), "the corpus " + path + " ("
                + MemoryBudget.size(total) + " in " + files.size() + " file(s))");
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("corpus " + path + ": " + total + " bytes; at most 2^31 - 9 are supported");
        }
        StringBuilder sb = new StringBuilder((int) total + files.size());
        for (Path f : files) {
            sb.append(decode(f));
            if (directory) { // a directory's files each end with a line break
                sb.append('\n');
            }
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

    /** A file's text, decoded as strict UTF-8. */
    private static CharSequence decode(Path f) throws IOException {
        byte[] bytes = Files.readAllBytes(f);
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = dec.decode(in, out, true);
        if (r.isError()) {
            throw new MalformedCorpusException(f + ": not UTF-8 text: byte 0x"
                    + String.format("%02X", bytes[in.position()] & 0xff) + " at offset " + in.position()
                    + " does not begin a valid UTF-8 sequence; convert the file (e.g. iconv -t UTF-8)");
        }
        dec.flush(out);
        return out.flip();
    }

    /** A corpus that is not UTF-8: a bad input with the file, the byte and its offset. */
    static final class MalformedCorpusException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        MalformedCorpusException(String message) {
            super(message);
        }
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
        return oneHot(ids, vocabSize, Tensor.zeros(seqLen, batch, vocabSize));
    }

    /** {@link #oneHot(int[], int, int, int)} into {@code x} (every value rewritten); returns {@code x}. */
    static Tensor oneHot(int[] ids, int vocabSize, Tensor x) {
        float[] d = x.data();
        java.util.Arrays.fill(d, 0f);
        for (int i = 0; i < ids.length; i++) {
            d[i * vocabSize + ids[i]] = 1f;
        }
        return x;
    }
}
