package org.rnnkit.tests.readme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Java examples are code that compiles and runs: each {@code ```java} block is a region of
 * {@link ReadmeExamples} (compiled with these tests), and running that class in an empty directory
 * succeeds. A README edit that is not made in {@link ReadmeExamples} too, or an API change that breaks an
 * example, fails here.
 */
class ReadmeExamplesTest {
    private static final Path README = Path.of("..", "README.md");
    private static final Path SOURCE = Path.of("src", "test", "java", "org", "rnnkit", "tests", "readme",
            "ReadmeExamples.java");

    /** The {@code ```java} blocks of a Markdown text, without their fences. */
    static List<String> javaBlocks(String markdown) {
        List<String> blocks = new ArrayList<>();
        StringBuilder cur = null;
        for (String line : markdown.split("\n", -1)) {
            if (cur == null && line.strip().equals("```java")) {
                cur = new StringBuilder();
            } else if (cur != null && line.strip().equals("```")) {
                blocks.add(cur.toString());
                cur = null;
            } else if (cur != null) {
                cur.append(line).append('\n');
            }
        }
        return blocks;
    }

    /** The text between each {@code // readme:begin} and {@code // readme:end}, less its common indentation. */
    static List<String> regions(String source) {
        List<String> regions = new ArrayList<>();
        List<String> cur = null;
        for (String line : source.split("\n", -1)) {
            if (line.strip().equals("// readme:begin")) {
                cur = new ArrayList<>();
            } else if (line.strip().equals("// readme:end")) {
                regions.add(dedent(cur));
                cur = null;
            } else if (cur != null) {
                cur.add(line);
            }
        }
        return regions;
    }

    private static String dedent(List<String> lines) {
        int indent = lines.stream().filter(l -> !l.isBlank()).mapToInt(l -> l.length() - l.stripLeading().length())
                .min().orElse(0);
        StringBuilder sb = new StringBuilder();
        for (String l : lines) {
            sb.append(l.isBlank() ? "" : l.substring(indent)).append('\n');
        }
        return sb.toString();
    }

    @Test
    void everyJavaBlockOfTheReadmeIsCompiledCode() throws IOException {
        String source = Files.readString(SOURCE, StandardCharsets.UTF_8);
        List<String> imports = source.lines().filter(l -> l.startsWith("import ")).toList();
        List<String> regions = regions(source);
        List<String> blocks = javaBlocks(Files.readString(README, StandardCharsets.UTF_8));
        assertTrue(blocks.size() >= 6, "README java blocks: " + blocks.size());
        List<String> unmatched = new ArrayList<>();
        List<String> used = new ArrayList<>();
        for (String block : blocks) {
            List<String> lines = new ArrayList<>(block.lines().toList());
            while (!lines.isEmpty() && (lines.get(0).startsWith("import ") || lines.get(0).isBlank())) {
                String l = lines.remove(0);
                if (!l.isBlank() && !imports.contains(l)) {
                    unmatched.add("an import ReadmeExamples does not have: " + l);
                }
            }
            String code = String.join("\n", lines) + "\n";
            if (regions.contains(code)) {
                used.add(code);
            } else {
                unmatched.add("a README block that is no region of ReadmeExamples:\n" + block);
            }
        }
        assertEquals(List.of(), unmatched);
        List<String> stale = regions.stream().filter(r -> !used.contains(r)).toList();
        assertEquals(List.of(), stale, "regions of ReadmeExamples that the README no longer shows");
    }

    @Test
    void theExamplesRunInAnEmptyDirectory(@TempDir Path dir) throws Exception {
        String out = run(dir, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), ReadmeExamples.class.getName());
        assertTrue(out.contains("README examples ran on backend"), out);
    }

    /**
     * As the README's module-path note says: rnnkit's jars (with protobuf-java for the ONNX module) on the
     * module path, the application on the class path, {@code --add-modules org.rnnkit.api,org.rnnkit.onnx}; service binding resolves every backend module (the vector
     * backend's module requires jdk.incubator.vector itself), OpenBLAS stays on the class path.
     */
    @Test
    void theExamplesRunWithRnnkitOnTheModulePath(@TempDir Path dir) throws Exception {
        List<String> modules = new ArrayList<>(), others = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            // the format modules' own dependencies join them there: protobuf-java (org.rnnkit.onnx), jhdf and
            // Jackson (org.rnnkit.keras), which service binding resolves with org.rnnkit.api
            String file = Path.of(entry).getFileName().toString();
            boolean needed = file.startsWith("protobuf-java-") || file.startsWith("jhdf-") || file.startsWith("jackson-");
            (isRnnkitModule(Path.of(entry)) || needed ? modules : others).add(entry);
        }
        assertTrue(modules.size() >= 5, "rnnkit modules on the test class path: " + modules);
        String sep = java.io.File.pathSeparator;
        String out = run(dir, "--module-path", String.join(sep, modules), "--add-modules", "org.rnnkit.api,org.rnnkit.onnx",
                "--enable-native-access=org.rnnkit.nativebackend", "-cp", String.join(sep, others),
                ReadmeExamples.class.getName());
        assertTrue(out.contains("README examples ran on backend " + org.rnnkit.backend.Backends.get().name()), out);
    }

    /** A jar or classes folder of one of rnnkit's named modules (it holds module-info.class naming org.rnnkit.*). */
    private static boolean isRnnkitModule(Path entry) throws IOException {
        if (Files.isDirectory(entry)) {
            Path info = entry.resolve("module-info.class");
            return Files.exists(info) && readModuleName(Files.readAllBytes(info)).startsWith("org.rnnkit.");
        }
        if (!entry.toString().endsWith(".jar") || !Files.exists(entry)) {
            return false;
        }
        try (java.util.jar.JarFile jar = new java.util.jar.JarFile(entry.toFile())) {
            java.util.jar.JarEntry info = jar.getJarEntry("module-info.class");
            if (info == null) {
                return false;
            }
            try (var in = jar.getInputStream(info)) {
                return readModuleName(in.readAllBytes()).startsWith("org.rnnkit.");
            }
        }
    }

    private static String readModuleName(byte[] moduleInfo) throws IOException {
        return java.lang.module.ModuleDescriptor.read(java.nio.ByteBuffer.wrap(moduleInfo)).name();
    }

    /** Runs {@code java} with {@code args} in {@code dir}; its output, after checking it exited 0 in time. */
    private static String run(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out:\n" + out);
        assertEquals(0, p.exitValue(), out);
        return out;
    }
}
