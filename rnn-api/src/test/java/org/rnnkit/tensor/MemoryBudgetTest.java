package org.rnnkit.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rnnkit.io.AtomicFile;
import org.rnnkit.io.Untrusted;

/** The memory budget's sizes and messages, atomic file writes, and printable untrusted text. */
class MemoryBudgetTest {
    private static final long HEAP = 8L << 30;

    @Test
    void sizesParseInEveryDocumentedForm() {
        assertEquals(123456, MemoryBudget.parse("123456", HEAP));
        assertEquals(512L << 20, MemoryBudget.parse("512m", HEAP));
        assertEquals(4L << 30, MemoryBudget.parse(" 4G ", HEAP));
        assertEquals(3L << 29, MemoryBudget.parse("1.5g", HEAP));
        assertEquals(HEAP / 2, MemoryBudget.parse("50%", HEAP));
        assertEquals(HEAP, MemoryBudget.parse("100%", HEAP));
        for (String bad : new String[] {"", "abc", "0", "-1g", "0%", "101%", "NaN", "Infinity", "1e30t", "4gb", "%"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MemoryBudget.parse(bad, HEAP));
            assertTrue(e.getMessage().startsWith("rnnkit.memory.budget: expected a size") && e.getMessage().contains("'"
                    + bad + "'"), e.getMessage());
        }
    }

    @Test
    void theMessageSaysWhatHowMuchTheBudgetAndHowToRaiseIt() {
        MemoryBudgetException e = MemoryBudget.exceeded(3L << 30, "running 9 steps");
        assertTrue(e.getMessage().startsWith("running 9 steps: 3.0 GB needed, more than the memory budget of "),
                e.getMessage());
        assertTrue(e.getMessage().contains("-Drnnkit.memory.budget=SIZE") && e.getMessage().contains("-Xmx"));
        assertEquals(3L << 30, e.needed());
        assertEquals(Long.MAX_VALUE, MemoryBudget.bytesOf(Long.MAX_VALUE / 2, 4), "saturates");
        assertEquals("more than 8 EB", MemoryBudget.size(Long.MAX_VALUE));
        assertEquals("1023 bytes", MemoryBudget.size(1023));
        assertEquals("1.5 KB", MemoryBudget.size(1536));
    }

    @Test
    void anAtomicWriteReplacesWholeOrLeavesTheTargetAsItWas(@TempDir Path tmp) throws Exception {
        Path target = tmp.resolve("t.bin");
        AtomicFile.write(target, new byte[] {1, 2, 3});
        AtomicFile.write(target, new byte[] {4, 5});
        assertEquals(List.of((byte) 4, (byte) 5), List.of(Files.readAllBytes(target)[0], Files.readAllBytes(target)[1]));
        Path dir = Files.createDirectory(tmp.resolve("d"));
        assertThrows(java.nio.file.FileSystemException.class, () -> AtomicFile.write(dir, new byte[] {1}));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of("d", "t.bin"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no temporary file left");
        }
    }

    @Test
    void untrustedTextIsOnePrintableBoundedLine() {
        assertEquals("'a\\u001b[2Jb\\u0027'", Untrusted.quote("a\u001b[2Jb'"));
        assertEquals("x\\u000ay\\u0085", Untrusted.line("x\ny\u0085", 100));
        assertEquals("abc... (7 more characters)", Untrusted.line("abcdefghij", 3));
        assertEquals("modèle-模型", Untrusted.line("modèle-模型", 100), "printable non-ASCII stays");
    }
}
