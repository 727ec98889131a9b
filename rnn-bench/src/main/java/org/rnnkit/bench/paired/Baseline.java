package org.rnnkit.bench.paired;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.rnnkit.bench.Contender;
import org.rnnkit.bench.layer.Rnnkit;
import org.rnnkit.tck.Tolerance;

/**
 * Contenders {@code before:NAME[:T]}: rnnkit backend {@code NAME} (with {@code T} threads) of an older build
 * of rnnkit, running in this JVM beside the current build, so that a paired run
 * ({@code contenders=native+before:native}) compares old and new code call by call, in the same phases
 * of the machine. The older build is a directory of jars named by the system property {@value #PROPERTY},
 * made by {@code scripts/ab-baseline.sh COMMIT DIR}: {@code rnn-api.jar}, {@code rnn-cpu-scalar.jar},
 * {@code rnn-cpu-vector.jar}, {@code rnn-native-jni.jar} and {@code rnn-bench.jar} of that commit. The
 * JMH fork needs the property: {@code -jvmArgsPrepend -Drnnkit.bench.baseline=DIR} ({@code -jvmArgsAppend}
 * would replace the benchmark's own fork options: heap, vector module).
 *
 * <p>How: a {@link BaselineLoader} over those jars defines every {@code org.rnnkit} class and resource itself,
 * from the jars only (a class missing there is missing, not taken from the current build), and leaves
 * everything else (the JDK, JMH, {@code org.bytedeco}'s OpenBLAS) to this class's loader. The old
 * {@code org.rnnkit.bench.layer.Rnnkit} makes the contender exactly as the current one does, with the old
 * layer, backend and scenario code. One class is shared: {@link Contender} comes from the current build, so
 * the old contender is a {@code Contender} here and {@link Alternation} calls it as it calls the current
 * ones, with no wrapper or reflective call on the measured path that only one side would pay for. (The
 * interface has not changed since the paired benchmark came, 87fa689; an older baseline has no
 * {@code Rnnkit} and fails at set-up.)
 *
 * <p>The old native backend loads its own {@code librnnkit.so}: its {@code NativeLoader} copies the
 * library bundled in the old jar into a fresh temporary directory, and the JVM binds a class's JNI methods
 * only in the libraries its class loader loaded; the library's other symbols are hidden
 * ({@code -fvisibility=hidden}), so the two copies cannot bind to each other. Both use the one OpenBLAS
 * mapped in the process (the second {@code NativeLoader} finds it already loaded). Set-up prints, per
 * contender, the baseline's commit, the class loader of the old contender, how many classes the baseline
 * loader defined and how many {@code librnnkit.so} and OpenBLAS files the process has mapped, and checks the old
 * contender's result against the current build's same backend (golden tolerance; it says whether the bits
 * are identical).
 *
 * <p>Thread safety: {@link #contender} is safe for concurrent use; the contenders are not thread-safe.
 */
final class Baseline {
    /** The system property naming the baseline directory. */
    static final String PROPERTY = "rnnkit.bench.baseline";
    /** The contender name's prefix. */
    static final String PREFIX = "before:";
    /** The jars the directory must hold (what {@code scripts/ab-baseline.sh} copies). */
    static final List<String> JARS = List.of("rnn-api.jar", "rnn-tck.jar", "rnn-cpu-scalar.jar", "rnn-cpu-vector.jar",
            "rnn-native-jni.jar", "rnn-bench.jar");

    /** One loader per directory and JVM: the old classes, and the old librnnkit.so, are loaded once. */
    private static final Map<Path, BaselineLoader> LOADERS = new HashMap<>();

    private Baseline() {}

    /**
     * The old build's contender for {@code backend} ({@code NAME} or {@code NAME:THREADS}, as the old
     * {@code Rnnkit} parses it) on {@code scenario}: its forward pass, or its training step if {@code train}.
     */
    static Contender contender(String scenario, String backend, boolean train) throws Exception {
        BaselineLoader loader = loader();
        Class<?> rnnkit;
        Method make;
        try {
            rnnkit = Class.forName("org.rnnkit.bench.layer.Rnnkit", true, loader);
            make = rnnkit.getMethod(train ? "training" : "forward", String.class, String.class);
        } catch (ClassNotFoundException | NoSuchMethodException e) {
            throw new IllegalStateException(PROPERTY + "=" + loader.dir + ": rnn-bench.jar has no org.rnnkit.bench.layer"
                    + ".Rnnkit." + (train ? "training" : "forward") + "(String, String) (a baseline older than the "
                    + "paired benchmark?)", e);
        }
        Contender before;
        try {
            before = (Contender) make.invoke(null, scenario, backend);
        } catch (InvocationTargetException e) {
            // the old code's own exception (unknown or unusable backend, mismatch with old scalar), unwrapped
            Throwable cause = e.getCause();
            if (cause instanceof Exception exception) {
                throw exception;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw e;
        }
        try {
            check(scenario, backend, train, before, loader);
        } catch (Exception | Error e) {
            before.close();
            throw e;
        }
        return before;
    }

    /**
     * Proves at set-up that {@code before} is the old code and computes what the current build computes:
     * one call of each, compared within the golden tolerance (the two builds make the same layer from the
     * same seed); prints one line saying what ran.
     */
    private static void check(String scenario, String backend, boolean train, Contender before,
            BaselineLoader loader) throws Exception {
        String name = PREFIX + backend;
        if (before.getClass().getClassLoader() != loader) {
            throw new IllegalStateException(name + ": the contender's class " + before.getClass().getName()
                    + " comes from " + before.getClass().getClassLoader() + ", not from the baseline's loader");
        }
        Map<String, float[]> old;
        try {
            old = tensors(before.call());
        } catch (LinkageError e) {
            throw new IllegalStateException(name + ": the baseline's classes do not link with this build's "
                    + Contender.class.getName() + " (changed since the baseline?)", e);
        }
        Map<String, float[]> now;
        try (Contender current = train ? Rnnkit.training(scenario, backend) : Rnnkit.forward(scenario, backend)) {
            now = tensors(current.call());
        }
        if (!old.keySet().equals(now.keySet())) {
            throw new IllegalStateException(name + " returns " + old.keySet() + " on " + scenario + ", " + backend
                    + " of this build " + now.keySet());
        }
        // The older build must compute the same function as this one before their times compare: the golden
        // cases' own bounds (forward, or gradients for a training step), which two correct float32
        // evaluations differing in summation order stay within; whether the bits are identical is reported.
        Tolerance tolerance = train ? Tolerance.GRADIENT : Tolerance.FORWARD;
        double worst = 0;
        boolean identical = true;
        for (Map.Entry<String, float[]> e : now.entrySet()) {
            float[] got = old.get(e.getKey()), expected = e.getValue();
            Tolerance.Check c = tolerance.compare(e.getKey(), got, expected);
            if (!c.passed()) {
                throw new IllegalStateException(name + " differs from " + backend + " of this build on " + scenario
                        + ": " + c);
            }
            worst = Math.max(worst, c.fraction());
            identical &= Arrays.equals(got, expected); // by bits (floatToIntBits): -0 and 0 differ
        }
        System.out.println(name + " on " + scenario + (train ? " (training)" : "") + ": rnnkit " + loader.describe()
                + "; contender " + before.getClass().getName() + " from class loader '"
                + before.getClass().getClassLoader().getName() + "', which defined " + loader.defined.get()
                + " classes; librnnkit.so mapped from " + mappedCopies("librnnkit.so") + " files, libopenblas.so.0 from "
                + mappedCopies("libopenblas.so.0") + "; "
                + String.join(", ", now.keySet()) + (identical ? " identical to " + backend + " of this build, bit for bit"
                        : String.format(" within the tolerance of %s of this build (worst %.3g of it), not identical",
                                backend, worst)));
    }

    /**
     * The float tensors of a call's result (either build's {@code LayerOutput} or {@code Gradients}, read by
     * reflection since the two builds' classes differ), by record component; a map component's entries
     * (the parameters' gradients) as {@code component.key}. Null components are left out.
     */
    static Map<String, float[]> tensors(Object result) throws ReflectiveOperationException {
        if (result == null || !result.getClass().isRecord()) {
            throw new IllegalStateException("a contender's call returned " + result + ", expected a LayerOutput or "
                    + "Gradients");
        }
        Map<String, float[]> out = new TreeMap<>();
        for (RecordComponent rc : result.getClass().getRecordComponents()) {
            Object value = rc.getAccessor().invoke(result);
            if (value instanceof Map<?, ?> map) {
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    putTensor(out, rc.getName() + "." + e.getKey(), e.getValue());
                }
            } else {
                putTensor(out, rc.getName(), value);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("a contender's call returned no tensor: " + result);
        }
        return out;
    }

    /** Adds {@code tensor.data()} if the value is a tensor (has a public {@code float[] data()}). */
    private static void putTensor(Map<String, float[]> out, String name, Object tensor) throws ReflectiveOperationException {
        if (tensor == null) {
            return;
        }
        Method data;
        try {
            data = tensor.getClass().getMethod("data");
        } catch (NoSuchMethodException e) {
            return; // not a tensor
        }
        if (data.getReturnType() == float[].class) {
            out.put(name, (float[]) data.invoke(tensor));
        }
    }

    /** How many distinct files named {@code library} this process has mapped (Linux), or "?" if unknown. */
    private static String mappedCopies(String library) {
        try {
            TreeSet<String> files = new TreeSet<>();
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int at = line.indexOf('/');
                // a path column ends in the name, or in "name (deleted)": NativeLoader deletes its copy once loaded
                if (at >= 0 && (line.endsWith("/" + library) || line.endsWith("/" + library + " (deleted)"))) {
                    files.add(line.substring(at));
                }
            }
            return Integer.toString(files.size());
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    /** The loader of the directory the property names, made on first use; fails naming the property. */
    private static synchronized BaselineLoader loader() throws IOException {
        String value = System.getProperty(PROPERTY, "").trim();
        if (value.isEmpty()) {
            throw new IllegalArgumentException("contenders: " + PREFIX + "NAME runs an older build of rnnkit from the "
                    + "directory -D" + PROPERTY + "=DIR names, and it is not set (make DIR with scripts/ab-baseline.sh "
                    + "COMMIT DIR; ./rnnkit jmh ... -jvmArgsPrepend -D" + PROPERTY + "=DIR)");
        }
        Path dir = Path.of(value).toAbsolutePath().normalize();
        List<String> missing = new ArrayList<>();
        for (String jar : JARS) {
            if (!Files.isRegularFile(dir.resolve(jar))) {
                missing.add(jar);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(PROPERTY + "=" + value + ": " + (Files.isDirectory(dir)
                    ? "missing " + String.join(", ", missing) : "no such directory") + " (make it with "
                    + "scripts/ab-baseline.sh COMMIT DIR)");
        }
        BaselineLoader loader = LOADERS.get(dir);
        if (loader == null) {
            URL[] urls = new URL[JARS.size()];
            for (int i = 0; i < urls.length; i++) {
                urls[i] = dir.resolve(JARS.get(i)).toUri().toURL();
            }
            loader = new BaselineLoader(dir, urls, Baseline.class.getClassLoader());
            LOADERS.put(dir, loader);
        }
        return loader;
    }

    /**
     * Defines {@code org.rnnkit} classes and resources from the baseline's jars only (the current build's
     * copies, in the parent, are never seen: not the classes, not the bundled {@code librnnkit.so}, not the
     * {@code META-INF/services} files that list the backends), except the shared {@link Contender}; every
     * other class and resource comes from the parent first, as usual.
     *
     * <p>Thread safety: parallel capable, as {@link URLClassLoader}.
     */
    static final class BaselineLoader extends URLClassLoader {
        static {
            ClassLoader.registerAsParallelCapable();
        }

        private static final String SHARED = Contender.class.getName();

        final Path dir;
        /** Classes defined from the baseline's jars so far. */
        final AtomicInteger defined = new AtomicInteger();

        BaselineLoader(Path dir, URL[] jars, ClassLoader parent) {
            super("rnnkit-baseline", jars, parent);
            this.dir = dir;
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.startsWith("org.rnnkit.") || name.equals(SHARED)) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    c = findClass(name); // ClassNotFoundException if the baseline has none: no fallback
                    defined.incrementAndGet();
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }

        @Override
        public URL getResource(String name) {
            return ours(name) ? findResource(name) : super.getResource(name);
        }

        @Override
        public Enumeration<URL> getResources(String name) throws IOException {
            return ours(name) ? findResources(name) : super.getResources(name);
        }

        private static boolean ours(String resource) {
            return resource.startsWith("org/rnnkit/") || resource.startsWith("META-INF/services/org.rnnkit.");
        }

        /** The commit, from the {@code baseline.properties} the script writes, and the directory. */
        String describe() {
            Properties p = new Properties();
            try (InputStream in = Files.newInputStream(dir.resolve("baseline.properties"))) {
                p.load(in);
            } catch (IOException e) {
                return "(no baseline.properties) from " + dir;
            }
            String commit = p.getProperty("commit", "?");
            return commit.substring(0, Math.min(7, commit.length())) + " from " + dir;
        }
    }
}
