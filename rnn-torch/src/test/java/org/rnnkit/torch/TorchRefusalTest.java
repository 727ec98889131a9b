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
        // the state_dict of nn.LSTM(16, 3) renamed as a model's "rnn." part: same tensors, same layer
        TorchFile lstm = TorchFile.read(TorchTestSupport.cases().get(0).resolve("model.pt"));
        byte[] raw = Files.readAllBytes(TorchTestSupport.cases().get(0).resolve("model.pt"));
        assertEquals(4, lstm.tensors().size());
        assertEquals(TorchImport.config(lstm, TorchLoadOptions.defaults().withBatchFirst(false)),
                org.rnnkit.nn.RecurrentConfig.lstm(16, 3));
        assertTrue(raw.length > 0);
    }
}
