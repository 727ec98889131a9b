package org.rnnkit.tests.shape;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.rnnkit.nn.RecurrentLayer;

/**
 * The shape of rnn-api that issue 21 ("API 2") promised, kept by the build: the user API never shows an SPI
 * (or internal) type, the SPI takes at most 8 parameters per method, and rnnkit's packages form no cycle.
 * Read from the compiled classes and module descriptor of rnn-api, so a change that breaks a promise
 * fails here with the member that breaks it.
 */
class ApiShapeTest {
    private static final String SPI = "org.rnnkit.spi", INTERNAL = "org.rnnkit.internal";
    /** What a backend author may have to read; more parameters make a call site a puzzle. */
    private static final int MAX_SPI_PARAMETERS = 8;

    private static Path classes;
    private static ModuleDescriptor module;
    private static List<Class<?>> all;

    @BeforeAll
    static void readRnnApi() throws IOException, URISyntaxException, ClassNotFoundException {
        classes = Path.of(RecurrentLayer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        all = new ArrayList<>();
        try (FileSystem jar = Files.isDirectory(classes) ? null : FileSystems.newFileSystem(classes)) {
            Path root = jar == null ? classes : jar.getPath("/");
            try (InputStream in = Files.newInputStream(root.resolve("module-info.class"))) {
                module = ModuleDescriptor.read(in);
            }
            List<String> names;
            try (Stream<Path> files = Files.walk(root)) {
                names = files.map(p -> root.relativize(p).toString().replace('\\', '/'))
                        .filter(n -> n.startsWith("org/rnnkit/") && n.endsWith(".class"))
                        .map(n -> n.substring(0, n.length() - 6).replace('/', '.')).sorted().toList();
            }
            for (String n : names) {
                all.add(Class.forName(n, false, ApiShapeTest.class.getClassLoader()));
            }
        }
        assertTrue(all.size() > 40, "rnn-api's classes at " + classes + ": " + all.size());
    }

    /** Exported packages other than the SPI: what a user of layers meets. */
    private static Set<String> userPackages() {
        Set<String> p = new TreeSet<>();
        module.exports().stream().filter(e -> !e.isQualified()).forEach(e -> p.add(e.source()));
        p.remove(SPI);
        return p;
    }

    @Test
    void theModuleExportsTheUserApiAndTheSpiButNothingInternal() {
        Set<String> exported = new TreeSet<>();
        List<String> leaks = new ArrayList<>();
        for (ModuleDescriptor.Exports e : module.exports()) {
            exported.add(e.source());
            // an internal package may be shared with rnnkit's own modules only (the TCK reads the JSON reader)
            if (e.source().startsWith(INTERNAL)
                    && (!e.isQualified() || e.targets().stream().anyMatch(t -> !t.startsWith("org.rnnkit.")))) {
                leaks.add(e.toString());
            }
        }
        assertTrue(exported.contains(SPI), exported.toString());
        assertEquals(List.of(), leaks, "internal packages exported beyond rnnkit's modules");
    }

    @Test
    void noPublicSignatureOutsideTheSpiMentionsAnSpiOrInternalType() {
        Set<String> user = userPackages();
        List<String> leaks = new ArrayList<>();
        for (Class<?> c : all) {
            if (!user.contains(c.getPackageName()) || !visible(c)) {
                continue;
            }
            check(leaks, c.getName() + " extends", c.getGenericSuperclass());
            for (Type t : c.getGenericInterfaces()) {
                check(leaks, c.getName() + " implements", t);
            }
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                if (visible(k.getModifiers())) {
                    checkExecutable(leaks, c.getName() + ".<init>", k);
                }
            }
            for (Method m : c.getDeclaredMethods()) {
                if (visible(m.getModifiers()) && !m.isSynthetic()) {
                    checkExecutable(leaks, c.getName() + "." + m.getName(), m);
                    check(leaks, c.getName() + "." + m.getName() + " returns", m.getGenericReturnType());
                }
            }
            for (Field f : c.getDeclaredFields()) {
                if (visible(f.getModifiers())) {
                    check(leaks, c.getName() + "." + f.getName(), f.getGenericType());
                }
            }
        }
        assertEquals(List.of(), leaks, "user API signatures that mention SPI or internal types");
    }

    @Test
    void noSpiMethodTakesMoreThanEightParameters() {
        List<String> walls = new ArrayList<>();
        for (Class<?> c : all) {
            if (!c.getPackageName().equals(SPI) || !visible(c)) {
                continue;
            }
            List<Executable> members = new ArrayList<>(List.of(c.getDeclaredMethods()));
            members.addAll(List.of(c.getDeclaredConstructors()));
            for (Executable e : members) {
                if (visible(e.getModifiers()) && e.getParameterCount() > MAX_SPI_PARAMETERS) {
                    walls.add(c.getSimpleName() + "." + e.getName() + ": " + e.getParameterCount() + " parameters");
                }
            }
        }
        assertEquals(List.of(), walls, "SPI methods with more than " + MAX_SPI_PARAMETERS + " parameters");
    }

    @Test
    void rnnkitsPackagesFormNoCycle() {
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("no jdeps in this JDK"));
        StringWriter out = new StringWriter(), err = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out), new PrintWriter(err), "-verbose:package", classes.toString());
        assertEquals(0, rc, err.toString());
        Map<String, Set<String>> edges = new TreeMap<>();
        for (String line : out.toString().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3 && f[1].equals("->") && f[0].startsWith("org.rnnkit") && f[2].startsWith("org.rnnkit")
                    && !f[0].equals(f[2])) {
                edges.computeIfAbsent(f[0], k -> new TreeSet<>()).add(f[2]);
            }
        }
        assertTrue(edges.size() >= 5, "jdeps found too few package edges:\n" + out);
        List<String> cycle = findCycle(edges);
        assertEquals(List.of(), cycle, "a package cycle in rnn-api (jdeps -verbose:package): " + edges);
    }

    /** A cycle as the list of its packages, or an empty list: depth-first search with colours. */
    private static List<String> findCycle(Map<String, Set<String>> edges) {
        Map<String, Integer> colour = new TreeMap<>(); // absent: new; 1: on the path; 2: done
        List<String> path = new ArrayList<>();
        for (String start : edges.keySet()) {
            List<String> c = visit(start, edges, colour, path);
            if (!c.isEmpty()) {
                return c;
            }
        }
        return List.of();
    }

    private static List<String> visit(String p, Map<String, Set<String>> edges, Map<String, Integer> colour,
            List<String> path) {
        Integer state = colour.get(p);
        if (state != null) {
            return state == 1 ? new ArrayList<>(path.subList(path.indexOf(p), path.size())) : List.of();
        }
        colour.put(p, 1);
        path.add(p);
        for (String q : edges.getOrDefault(p, Set.of())) {
            List<String> c = visit(q, edges, colour, path);
            if (!c.isEmpty()) {
                return c;
            }
        }
        path.remove(path.size() - 1);
        colour.put(p, 2);
        return List.of();
    }

    private static void checkExecutable(List<String> leaks, String where, Executable e) {
        for (Type t : e.getGenericParameterTypes()) {
            check(leaks, where + " parameter", t);
        }
        for (Type t : e.getGenericExceptionTypes()) {
            check(leaks, where + " throws", t);
        }
    }

    private static void check(List<String> leaks, String where, Type t) {
        if (t instanceof Class<?> c) {
            Class<?> base = c;
            while (base.isArray()) {
                base = base.getComponentType();
            }
            String pkg = base.getPackageName();
            if (pkg.equals(SPI) || pkg.startsWith(INTERNAL)) {
                leaks.add(where + ": " + base.getName());
            }
        } else if (t instanceof ParameterizedType p) {
            check(leaks, where, p.getRawType());
            for (Type a : p.getActualTypeArguments()) {
                check(leaks, where, a);
            }
        } else if (t instanceof GenericArrayType g) {
            check(leaks, where, g.getGenericComponentType());
        } else if (t instanceof WildcardType w) {
            for (Type b : w.getUpperBounds()) {
                check(leaks, where, b);
            }
            for (Type b : w.getLowerBounds()) {
                check(leaks, where, b);
            }
        } else if (t instanceof TypeVariable<?> v) {
            for (Type b : v.getBounds()) {
                check(leaks, where, b);
            }
        }
    }

    /** Public, or protected in a class that can be subclassed from outside. */
    private static boolean visible(int modifiers) {
        return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
    }

    /** A public type whose enclosing types are public too. */
    private static boolean visible(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            if (!Modifier.isPublic(k.getModifiers())) {
                return false;
            }
        }
        return !c.isAnonymousClass() && !c.isSynthetic();
    }
}
