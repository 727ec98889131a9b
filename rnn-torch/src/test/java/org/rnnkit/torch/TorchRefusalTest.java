package org.rnnkit.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.rnnkit.backend.Backends;

/** Hostile and incomplete files: refused with a message that names the file and what is wrong. */
class TorchRefusalTest {

    /** A stored (uncompressed) zip, as torch.save writes it. */
    static byte[] zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bos)) {
            for (var e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                ze.setMethod(ZipEntry.STORED);
                ze.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                ze.setCrc(crc.getValue());
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bos.toByteArray();
    }

    /** {@code PROTO 2; GLOBAL module\nname\n; (tuple of one string); REDUCE; STOP}: calls module.name('echo pwned'). */
    static byte[] callingPickle(String module, String name) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x80);
        b.write(2);
        b.writeBytes(("c" + module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        byte[] arg = "touch /tmp/rnnkit-pwned".getBytes(StandardCharsets.UTF_8);
        b.write('X');
        b.write(arg.length);
        b.write(0);
        b.write(0);
        b.write(0);
        b.writeBytes(arg);
        b.write(0x85); // TUPLE1
        b.write('R');
        b.write('.');
        return b.toByteArray();
    }

    static Map<String, byte[]> archive(byte[] pkl) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("archive/data.pkl", pkl);
        m.put("archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        m.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return m;
    }

    @Test
    void osSystemIsRefusedByNameBeforeAnythingRuns() throws IOException {
        for (String[] g : new String[][] {{"posix", "system"}, {"os", "system"}, {"builtins", "eval"},
            {"subprocess", "Popen"}, {"torch", "load"}}) {
            byte[] file = zip(archive(callingPickle(g[0], g[1])));
            TorchFormatException e = assertThrows(TorchFormatException.class, () -> TorchFile.read(file, "evil.pt"));
            assertTrue(e.getMessage().startsWith("evil.pt"), e.getMessage());
            assertTrue(e.getMessage().contains("global '" + g[0] + "." + g[1] + "'"), e.getMessage());
            assertTrue(e.getMessage().contains("allow-list"), e.getMessage());
        }
        assertTrue(!Files.exists(Path.of("/tmp/rnnkit-pwned")));
    }

    @Test
    void stackGlobalIsRefusedByNameToo() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {(byte) 0x80, 4, (byte) 0x8c, 5});
        b.writeBytes("posix".getBytes(StandardCharsets.US_ASCII));
        b.writeBytes(new byte[] {(byte) 0x8c, 6});
        b.writeBytes("system".getBytes(StandardCharsets.US_ASCII));
        b.writeBytes(new byte[] {(byte) 0x93, ')', 'R', '.'});
        byte[] file = zip(archive(b.toByteArray()));
        TorchFormatException e = assertThrows(TorchFormatException.class, () -> TorchFile.read(file, "evil4.pt"));
        assertTrue(e.getMessage().contains("global 'posix.system'"), e.getMessage());
    }

    @Test
    void legacyFilesAreCheckedTheSameWay() {
        // a legacy file is a bare pickle: its first pickle must be the magic number, so a calling pickle stops there
        TorchFormatException e = assertThrows(TorchFormatException.class,
                () -> TorchFile.read(callingPickle("posix", "system"), "evil-legacy.pt"));
        assertTrue(e.getMessage().contains("global 'posix.system'"), e.getMessage());
    }

    @Test
    void entriesOutsideOneFolderAreRefused() throws IOException {
        byte[] pkl = {(byte) 0x80, 2, '}', '.'};
        for (String bad : new String[] {"archive/../etc/data.pkl", "/archive/data.pkl", "archive\\data.pkl",
            "data.pkl"}) {
            Map<String, byte[]> m = archive(pkl);
            m.put(bad, pkl);
            TorchFormatException e = assertThrows(TorchFormatException.class,
                    () -> TorchFile.read(zip(m), "slip.pt"), bad);
            assertTrue(e.getMessage().startsWith("slip.pt: zip: entry"), e.getMessage());
        }
        Map<String, byte[]> two = archive(pkl);
        two.put("other/x", pkl);
        TorchFormatException e = assertThrows(TorchFormatException.class, () -> TorchFile.read(zip(two), "two.pt"));
        assertTrue(e.getMessage().contains("expected every entry under 'archive/'"), e.getMessage());
        // and an empty dict is a valid (empty) state_dict
        assertEquals(0, TorchFile.read(zip(archive(pkl)), "empty.pt").tensors().size());
    }

    @Test
    void whatAStateDictCannotSayIsAskedForByName() throws IOException {
        TorchFile rnn = TorchFile.read(TorchTestSupport.cases().get(2).resolve("model.pt")); // nn.RNN(relu) state_dict
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TorchImport.layer(rnn, TorchLoadOptions.defaults().withBatchFirst(false), Backends.named("scalar")));
        assertTrue(e.getMessage().contains("nonlinearity"), e.getMessage());
        TorchFile lstm = TorchFile.read(TorchTestSupport.cases().get(0).resolve("model.pt"));
        e = assertThrows(IllegalArgumentException.class,
                () -> TorchImport.layer(lstm, TorchLoadOptions.defaults(), Backends.named("scalar")));
        assertTrue(e.getMessage().contains("batch_first"), e.getMessage());
        // a prefix that selects nothing says what it found
        e = assertThrows(IllegalArgumentException.class, () -> TorchImport.layer(lstm,
                TorchLoadOptions.defaults().withBatchFirst(false).withPrefix("rnn."), Backends.named("scalar")));
        assertTrue(e.getMessage().contains("prefix 'rnn.'"), e.getMessage());
        // a pickled module says everything itself; options that contradict it are refused
        TorchFile module = TorchFile.read(TorchTestSupport.cases().get(4).resolve("model.pt")); // batch_first=True
        e = assertThrows(IllegalArgumentException.class, () -> TorchImport.layer(module,
                TorchLoadOptions.defaults().withBatchFirst(false), Backends.named("scalar")));
        assertTrue(e.getMessage().contains("batch_first"), e.getMessage());
    }

    @Test
    void aPrefixSelectsTheRecurrentPartOfALargerModel() throws IOException {
        // nn.LSTM(16, 3)'s own state_dict with its keys renamed as a larger model's "rnn." part (each BINUNICODE
        // key rewritten with its new length; memo indices are not offsets, so nothing else moves)
        Path pt = TorchTestSupport.cases().get(0).resolve("model.pt");
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(pt.toFile())) {
            for (var e : java.util.Collections.list(z.entries())) {
                entries.put(e.getName(), z.getInputStream(e).readAllBytes());
            }
        }
        String pklName = entries.keySet().stream().filter(n -> n.endsWith("/data.pkl")).findFirst().orElseThrow();
        byte[] pkl = entries.get(pklName);
        for (String key : new String[] {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}) {
            pkl = replace(pkl, binunicode(key), binunicode("rnn." + key));
        }
        entries.put(pklName, pkl);
        TorchFile renamed = TorchFile.read(zip(entries), "model-with-rnn.pt");
        assertEquals(java.util.List.of("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0"),
                java.util.List.copyOf(renamed.tensors().keySet()));
        TorchFile original = TorchFile.read(pt);
        TorchLoadOptions opts = TorchLoadOptions.defaults().withBatchFirst(false);
        var a = TorchImport.layer(original, opts, Backends.named("scalar"));
        var b = TorchImport.layer(renamed, opts.withPrefix("rnn."), Backends.named("scalar"));
        assertEquals(org.rnnkit.nn.RecurrentConfig.lstm(16, 3), b.config());
        org.rnnkit.tensor.Tensor x = org.rnnkit.io.Npy.readFloat32(pt.resolveSibling("input.npy"));
        assertTrue(a.forward(x).output().bitEquals(b.forward(x).output()), "same tensors, same layer");
        // without the prefix, the renamed keys are not a layer's
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TorchImport.layer(renamed, opts, Backends.named("scalar")));
        assertTrue(e.getMessage().contains("rnn.weight_ih_l0"), e.getMessage());
    }

    @Test
    void sizesBeyondTheMemoryBudgetAreRefusedBeforeReading() throws IOException {
        byte[] file = Files.readAllBytes(TorchTestSupport.cases().get(4).resolve("model.pt"));
        String old = System.getProperty(org.rnnkit.tensor.MemoryBudget.PROPERTY);
        System.setProperty(org.rnnkit.tensor.MemoryBudget.PROPERTY, "16k");
        try {
            TorchFormatException e = assertThrows(TorchFormatException.class, () -> TorchFile.read(file, "big.pt"));
            assertTrue(e.getMessage().startsWith("big.pt: zip: entries declare") && e.getMessage().contains("memory"
                    + " budget"), e.getMessage());
        } finally {
            if (old == null) {
                System.clearProperty(org.rnnkit.tensor.MemoryBudget.PROPERTY);
            } else {
                System.setProperty(org.rnnkit.tensor.MemoryBudget.PROPERTY, old);
            }
        }
    }

    private static byte[] binunicode(String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[5 + u.length];
        out[0] = 'X';
        out[1] = (byte) u.length;
        System.arraycopy(u, 0, out, 5, u.length);
        return out;
    }

    private static byte[] replace(byte[] in, byte[] what, byte[] with) {
        for (int i = 0; i + what.length <= in.length; i++) {
            if (java.util.Arrays.equals(in, i, i + what.length, what, 0, what.length)) {
                byte[] out = new byte[in.length - what.length + with.length];
                System.arraycopy(in, 0, out, 0, i);
                System.arraycopy(with, 0, out, i, with.length);
                System.arraycopy(in, i + what.length, out, i + with.length, in.length - i - what.length);
                return out;
            }
        }
        throw new AssertionError("not found in the pickle: " + new String(what, StandardCharsets.UTF_8));
    }
}
