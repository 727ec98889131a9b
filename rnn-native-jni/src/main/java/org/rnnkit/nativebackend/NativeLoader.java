package org.rnnkit.nativebackend;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * Loads {@code librnnkit.so} and OpenBLAS once per JVM, recording every step, so that
 * {@code rnnkit backends} can say exactly why the native backend is not usable.
 *
 * <h2>rnnkit's JNI library</h2>
 * <ol>
 *   <li>{@code -Drnnkit.native.skip=true}: not loaded at all ("disabled by ...");
 *   <li>{@code -Drnnkit.native.path=/path/librnnkit.so}: that file, or a failure naming it (no fallback:
 *       an explicit path that does not load, or fails the check below, is an error worth seeing);
 *   <li>the library bundled in this jar ({@value #RESOURCE}), copied into a fresh owner-only
 *       temporary directory, loaded, and deleted again (the mapping stays valid);
 *   <li>{@code System.loadLibrary("rnnkit")}, i.e. {@code java.library.path}.
 * </ol>
 * Then {@code -Drnnkit.native.kernels=avx512|avx2|generic} may force the kernels' instruction set (default:
 * the best this CPU runs; tests use it to run every set on one host).
 *
 * <h2>OpenBLAS</h2>
 * <ol>
 *   <li>{@code -Drnnkit.openblas.path=/path/libopenblas.so.0}, or a failure naming it;
 *   <li>the {@code org.bytedeco:openblas} {@code linux-x86_64} jar on the class path: its
 *       {@code libopenblas.so.0}, {@code libgfortran.so.5}, {@code libquadmath.so.0} and {@code libgcc_s.so.1},
 *       copied into an owner-only temporary directory and mapped dependencies first (the bundled
 *       {@code libgfortran} looks for {@code libquadmath} only in system folders); an OpenBLAS that
 *       this process has already mapped under the same name (JavaCPP's) is used instead of a second copy;
 *   <li>the system's {@code libopenblas.so.0} (Debian: {@code libopenblas0}).
 * </ol>
 * OpenBLAS's kernel type is OpenBLAS's choice (its detection, or {@code OPENBLAS_CORETYPE} from the
 * environment) unless {@code -Drnnkit.openblas.coretype=Nehalem|Sandybridge|Haswell|Zen|SkylakeX} names
 * one for rnnkit's OpenBLAS: checked against this CPU first (OpenBLAS would die on the first illegal
 * instruction), set only while OpenBLAS loads, and restored after, so that libraries loaded later do not
 * see it. The probe says which of the three chose. Pinning a type (with {@code rnnkit.native.kernels})
 * makes gradients the same bits on machines of different instruction sets.
 *
 * <h2>Checked before loading</h2>
 * Every library file rnnkit hands to {@code System.load} or {@code dlopen} by path is first checked by
 * {@link SharedLibraryCheck}: the {@code rnnkit.native.path} file, the extracted bundled
 * {@code librnnkit.so}, the first {@code librnnkit.so} on the library path, the {@code rnnkit.openblas.path}
 * file, and the extracted {@code org.bytedeco} OpenBLAS files. It reads only the ELF header and program
 * headers of a regular file (a directory or FIFO is refused unopened) and refuses one that is not a 64-bit
 * shared library for this machine or is cut short: the dynamic loader would map the missing part and kill
 * the JVM with {@code SIGBUS}. The refusal is a step that failed, with a one-line reason, e.g.
 * {@code rnnkit.openblas.path: /x/libopenblas.so.0 is not a complete shared library: segment 2 ends at byte
 * 34940973, the file has 2097152 bytes (truncated?)}; the backend is then unusable and {@code auto} falls
 * back. The system's OpenBLAS ({@code dlopen("libopenblas.so.0")}, found by the loader) and the
 * libraries' own dependencies are not checked: rnnkit does not know their paths.
 *
 * <p>Thread safety: {@link #status()} is a lazy holder, initialised once; {@link #load(Properties)} is
 * synchronized.
 */
final class NativeLoader {
    static final String SKIP = "rnnkit.native.skip";
    static final String PATH = "rnnkit.native.path";
    static final String KERNELS = "rnnkit.native.kernels";
    static final String OPENBLAS_PATH = "rnnkit.openblas.path";
    static final String OPENBLAS_CORETYPE = "rnnkit.openblas.coretype";
    static final String RESOURCE = "/org/rnnkit/nativebackend/linux-x86_64/librnnkit.so";
    static final String OPENBLAS_RESOURCES = "org/bytedeco/openblas/linux-x86_64/";
    /** Mapped in this order; a missing dependency is skipped (the system may have it). */
    static final String[] OPENBLAS_DEPS = {"libquadmath.so.0", "libgcc_s.so.1", "libgfortran.so.5"};
    static final String OPENBLAS = "libopenblas.so.0";

    private NativeLoader() {}

    /**
     * The outcome of loading.
     *
     * @param usable whether every step succeeded
     * @param detail what was loaded (usable), or every failed step (not usable)
     * @param cause the exception of the last failure, or null
     */
    record Status(boolean usable, String detail, Throwable cause, String kernels, String openBlas, String core) {}

    /** The JVM-wide outcome, from the system properties at first use. */
    static Status status() {
        return Holder.STATUS;
    }

    private static final class Holder {
        static final Status STATUS = load(System.getProperties());
    }

    /** Loads with the given properties; never throws. */
    static synchronized Status load(Properties props) {
        List<String> failed = new ArrayList<>();
        try {
            if (Boolean.parseBoolean(props.getProperty(SKIP, "false").trim())) {
                return fail("disabled by -D" + SKIP + "=true", null);
            }
            Throwable cause = loadJni(props, failed);
            if (cause != LOADED) {
                return fail(String.join("; ", failed), cause);
            }
            try {
                NativeMethods.kernels(); // a library without our JNI functions fails here, not in a kernel
            } catch (UnsatisfiedLinkError e) {
                return fail("the loaded librnnkit.so does not export rnnkit's JNI functions (a stale or foreign "
                        + "library?)", e);
            }
            String kernelProblem = NativeMethods.selectKernels(props.getProperty(KERNELS, "").trim());
            if (kernelProblem != null) {
                return fail(KERNELS + ": " + kernelProblem, null);
            }
            String coreType = props.getProperty(OPENBLAS_CORETYPE, "detect").trim();
            String coreProblem = NativeMethods.checkCoreType(coreType);
            if (coreProblem != null) {
                return fail(coreProblem, null);
            }
            List<String> blasFailed = new ArrayList<>();
            String source = loadOpenBlas(props, coreType, blasFailed);
            if (source == null) {
                boolean explicit = !props.getProperty(OPENBLAS_PATH, "").isBlank();
                return fail("OpenBLAS not loaded: " + String.join("; ", blasFailed) + (explicit ? ""
                        : " (add org.bytedeco:openblas:linux-x86_64 to the class path, install libopenblas0, or set -D"
                        + OPENBLAS_PATH + ")"), null);
            }
            String config = NativeMethods.openBlasConfig(), core = NativeMethods.openBlasCore();
            String kernels = NativeMethods.kernels();
            return new Status(true, "fused C kernels (" + kernels + "), " + config + " (core " + core + ", "
                    + NativeMethods.openBlasCoreSource() + "; from " + source + ")", null, kernels, config, core);
        } catch (Throwable t) { // never at the user: a probe reports
            failed.add("unexpected " + t.getClass().getSimpleName());
            return fail(String.join("; ", failed), t);
        }
    }

    /** Marker: librnnkit.so is loaded (failed holds the steps that were tried before the one that worked). */
    private static final Throwable LOADED = new Throwable("loaded", null, false, false) {
        private static final long serialVersionUID = 1L;
    };

    private static Status fail(String reason, Throwable cause) {
        return new Status(false, reason, cause, null, null, null);
    }

    /** LOADED, or the last failure's exception (null if none) with every failed step in {@code failed}. */
    private static Throwable loadJni(Properties props, List<String> failed) {
        String path = props.getProperty(PATH, "").trim();
        if (!path.isEmpty()) {
            Path p = Path.of(path).toAbsolutePath();
            String problem = SharedLibraryCheck.problem(p, p.toString(), arch(props));
            if (problem != null) {
                failed.add(PATH + ": " + problem);
                return null;
            }
            try {
                System.load(p.toString());
                failed.clear();
                return LOADED;
            } catch (Throwable e) {
                failed.add(PATH + ": cannot load " + p);
                return e;
            }
        }
        Throwable last = null;
        String os = props.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = props.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            failed.add("no bundled library for " + os + "/" + arch + " (only linux-x86_64 is built)");
        } else {
            URL url = NativeLoader.class.getResource(RESOURCE);
            if (url == null) {
                failed.add("bundled " + RESOURCE + " is not in the jar (built with -Drnnkit.native.skipBuild?)");
            } else {
                Path dir = null, file = null;
                try {
                    dir = privateTempDir("rnnkit-native");
                    file = dir.resolve("librnnkit.so");
                    try (InputStream in = url.openStream()) {
                        Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                    }
                    // a damaged jar, or a disk that filled up while copying, would otherwise crash the JVM
                    String problem = SharedLibraryCheck.problem(file, "the extracted " + RESOURCE, arch(props));
                    if (problem != null) {
                        failed.add("bundled library: " + problem);
                    } else {
                        System.load(file.toString());
                        return LOADED;
                    }
                } catch (Throwable e) {
                    failed.add("bundled library: " + e.getClass().getSimpleName() + ": " + e.getMessage());
                    last = e;
                } finally {
                    deleteQuietly(file);
                    deleteQuietly(dir);
                }
            }
        }
        Path onLibraryPath = libraryPathCandidate();
        String problem = onLibraryPath == null ? null
                : SharedLibraryCheck.problem(onLibraryPath, onLibraryPath.toString(), arch(props));
        if (problem != null) {
            failed.add("System.loadLibrary(\"rnnkit\"): " + problem);
            return last;
        }
        try {
            System.loadLibrary("rnnkit");
            return LOADED;
        } catch (Throwable e) {
            failed.add("System.loadLibrary(\"rnnkit\"): " + e.getMessage());
            return last != null ? last : e;
        }
    }

    /** Where OpenBLAS came from, or null with every failed step in {@code failed}; core: the requested kernel type. */
    private static String loadOpenBlas(Properties props, String core, List<String> failed) throws IOException {
        String path = props.getProperty(OPENBLAS_PATH, "").trim();
        if (!path.isEmpty()) {
            Path p = Path.of(path).toAbsolutePath();
            String problem = SharedLibraryCheck.problem(p, p.toString(), arch(props));
            if (problem == null) {
                problem = NativeMethods.loadOpenBlas(new String[0], p.toString(), false, core);
            }
            if (problem != null) {
                failed.add(OPENBLAS_PATH + ": " + problem);
                return null;
            }
            return OPENBLAS_PATH + "=" + path;
        }
        ClassLoader cl = NativeLoader.class.getClassLoader();
        URL lib = cl == null ? null : cl.getResource(OPENBLAS_RESOURCES + OPENBLAS);
        if (lib == null) {
            failed.add("org.bytedeco:openblas (linux-x86_64) is not on the class path");
        } else {
            Path dir = privateTempDir("rnnkit-openblas");
            List<Path> files = new ArrayList<>();
            try {
                // each file checked before the C side maps it: a damaged jar must not crash the JVM
                List<String> deps = new ArrayList<>();
                String problem = null;
                for (int i = 0; i <= OPENBLAS_DEPS.length && problem == null; i++) {
                    String name = i < OPENBLAS_DEPS.length ? OPENBLAS_DEPS[i] : OPENBLAS;
                    URL u = i < OPENBLAS_DEPS.length ? cl.getResource(OPENBLAS_RESOURCES + name) : lib;
                    if (u != null) {
                        Path f = extract(u, dir.resolve(name), files);
                        problem = SharedLibraryCheck.problem(f, "the extracted " + name, arch(props));
                        deps.add(f.toString()); // the last one, OpenBLAS itself, is taken off below
                    }
                }
                if (problem == null) {
                    String main = deps.remove(deps.size() - 1);
                    problem = NativeMethods.loadOpenBlas(deps.toArray(new String[0]), main, true, core);
                }
                if (problem == null) {
                    return "org.bytedeco:openblas";
                }
                failed.add("org.bytedeco:openblas: " + problem);
            } finally {
                for (Path f : files) {
                    deleteQuietly(f);
                }
                deleteQuietly(dir);
            }
        }
        String problem = NativeMethods.loadOpenBlas(new String[0], OPENBLAS, true, core);
        if (problem == null) {
            return "the system's " + OPENBLAS;
        }
        failed.add("system: " + problem);
        return null;
    }

    /** The JVM's architecture as the loading sees it ({@code os.arch} of the properties given). */
    private static String arch(Properties props) {
        return props.getProperty("os.arch", "");
    }

    /**
     * The file {@code System.loadLibrary("rnnkit")} would load, or null if none: the first
     * {@code librnnkit.so} on {@code sun.boot.library.path}, then {@code java.library.path}, the JDK's order.
     * Read from the system properties, not the ones given to {@link #load}: the JDK reads both once, at start.
     */
    private static Path libraryPathCandidate() {
        String file = System.mapLibraryName("rnnkit");
        for (String key : new String[] {"sun.boot.library.path", "java.library.path"}) {
            for (String dir : System.getProperty(key, "").split(java.io.File.pathSeparator)) {
                try {
                    Path p = dir.isEmpty() ? null : Path.of(dir, file).toAbsolutePath();
                    if (p != null && Files.exists(p)) {
                        return p;
                    }
                } catch (java.nio.file.InvalidPathException e) {
                    // an entry the JDK cannot use either
                }
            }
        }
        return null;
    }

    private static Path extract(URL from, Path to, List<Path> files) throws IOException {
        try (InputStream in = from.openStream()) {
            Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
        }
        files.add(to);
        return to;
    }

    /** A new directory only this user can read, write or list. */
    private static Path privateTempDir(String prefix) throws IOException {
        try {
            return Files.createTempDirectory(prefix, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
        } catch (UnsupportedOperationException e) { // not a POSIX file system
            return Files.createTempDirectory(prefix);
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a leftover file in the temp directory is harmless
            }
        }
    }
}
