package org.rnnkit.torch;

import java.math.BigInteger;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A restricted unpickler for what {@code torch.save} writes (pickle protocols 2 to 5). It executes nothing: the
 * result is a tree of plain data ({@link String}, {@link Long}, {@link BigInteger}, {@link Double},
 * {@link Boolean}, {@link #NONE}, {@link Tuple}, {@link PyList}, {@link PyDict}) plus the few objects it models
 * ({@link StorageRef}, {@link TensorRef}, {@link ModuleObj}). {@code GLOBAL}/{@code STACK_GLOBAL} resolve only
 * to {@link #ALLOWED}; any other name is refused at once, naming it, before a {@code REDUCE} could use it.
 *
 * <p>Every length, count and index read from the input is checked against what is left of it before use, so
 * the memory it builds is bounded by a small multiple of the input's size. Not thread-safe: one instance per
 * pickle.
 */
final class Pickle {
    /** Python's None (Java null cannot sit in the collections used here). */
    static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    /** Modules whose {@code __dict__} is read as configuration. */
    static final Set<String> MODULES = Set.of("torch.nn.modules.rnn.LSTM", "torch.nn.modules.rnn.GRU",
            "torch.nn.modules.rnn.RNN");

    /** Storage types and their element sizes: known so that sizes can be checked; only float32 becomes values. */
    static final Map<String, Integer> STORAGES = Map.ofEntries(Map.entry("torch.FloatStorage", 4),
            Map.entry("torch.DoubleStorage", 8), Map.entry("torch.HalfStorage", 2), Map.entry("torch.BFloat16Storage", 2),
            Map.entry("torch.LongStorage", 8), Map.entry("torch.IntStorage", 4), Map.entry("torch.ShortStorage", 2),
            Map.entry("torch.CharStorage", 1), Map.entry("torch.ByteStorage", 1), Map.entry("torch.BoolStorage", 1));

    /**
     * Every global a file may name. Each is modelled as data, none is looked up or run: the dict types build a
     * {@link PyDict}, {@code set} a {@link PyList} of its items, the rebuild functions a {@link TensorRef}, the
     * module classes a {@link ModuleObj}, the storage types name a {@link StorageRef}'s element type.
     */
    static final Set<String> ALLOWED;

    static {
        Set<String> s = new java.util.HashSet<>(List.of("collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                "torch._utils._rebuild_parameter", "torch.nn.parameter.Parameter", "__builtin__.set", "builtins.set"));
        s.addAll(MODULES);
        s.addAll(STORAGES.keySet());
        ALLOWED = Set.copyOf(s);
    }

    record Global(String name) {}

    /** An immutable Python tuple. */
    record Tuple(List<Object> items) {}

    /** A mutable Python list (identity semantics: never hashed or compared by content). */
    static final class PyList extends ArrayList<Object> {
        @Override
        public boolean equals(Object o) {
            return this == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }
    }

    /** A Python dict or OrderedDict; keys are strings, numbers, booleans or None only. */
    static final class PyDict extends LinkedHashMap<Object, Object> {
        @Override
        public boolean equals(Object o) {
            return this == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }
    }

    /** {@code ('storage', type, key, location, numel[, view])}: a storage the container holds under {@code key}. */
    record StorageRef(String type, String key, long numel) {}

    /** {@code _rebuild_tensor_v2(storage, offset, size, stride, ...)}, checked when resolved. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    /** An allow-listed {@code nn.Module} made by {@code NEWOBJ}, its {@code __dict__} set by {@code BUILD}. */
    static final class ModuleObj {
        final String type;
        PyDict state;

        ModuleObj(String type) {
            this.type = type;
        }
    }

    private final byte[] b;
    private final String source;
    private int p;
    private final int end;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    /** Every storage the pickle names, in order. */
    final List<StorageRef> storages = new ArrayList<>();
    /** Every tensor it rebuilds, to be resolved once the storages are read. */
    final List<TensorRef> tensors = new ArrayList<>();

    Pickle(byte[] bytes, int from, int to, String source) {
        this.b = bytes;
        this.p = from;
        this.end = to;
        this.source = source;
    }

    /** The position just after the {@code STOP} of the last {@link #load()}. */
    int position() {
        return p;
    }

    Object load() throws TorchFormatException {
        while (true) {
            if (p >= end) {
                throw fail("expected a pickle opcode, got the end of the data (truncated; no STOP)");
            }
            int at = p, op = b[p++] & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v < 2 || v > 5) {
                        throw fail("expected pickle protocol 2 to 5, got " + v);
                    }
                }
                case 0x95 -> { // FRAME: a length hint only
                    long n = i64();
                    if (n < 0 || n > end - p) {
                        throw fail("FRAME: expected at most " + (end - p) + " bytes, got " + n);
                    }
                }
                case '}' -> push(new PyDict());
                case ']' -> push(new PyList());
                case ')' -> push(new Tuple(List.of()));
                case '(' -> marks.add(stack.size());
                case 'X' -> push(utf8(u32()));
                case 0x8c -> push(utf8(u8()));
                case 0x8d -> push(utf8(i64()));
                case 'J' -> push((long) i32());
                case 'K' -> push((long) u8());
                case 'M' -> push((long) u16());
                case 0x8a -> { // LONG1: little-endian two's complement
                    int n = u8();
                    need(n);
                    byte[] be = new byte[Math.max(n, 1)];
                    for (int i = 0; i < n; i++) {
                        be[n - 1 - i] = b[p + i];
                    }
                    p += n;
                    BigInteger v = n == 0 ? BigInteger.ZERO : new BigInteger(be);
                    push(v.bitLength() < 64 ? (Object) v.longValue() : v);
                }
                case 'G' -> push(Double.longBitsToDouble(beI64()));
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'N' -> push(NONE);
                case 0x85 -> push(new Tuple(List.of(pop())));
                case 0x86 -> {
                    Object y = pop(), x = pop();
                    push(new Tuple(List.of(x, y)));
                }
                case 0x87 -> {
                    Object z = pop(), y = pop(), x = pop();
                    push(new Tuple(List.of(x, y, z)));
                }
                case 't' -> push(new Tuple(List.copyOf(popMark())));
                case 'c' -> push(global(line() + "." + line()));
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop(), module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw fail("STACK_GLOBAL: expected two strings, got " + kind(module) + " and " + kind(name));
                    }
                    push(global(m + "." + n));
                }
                case 'R' -> {
                    Object args = pop(), f = pop();
                    push(reduce(f, args));
                }
                case 0x81 -> { // NEWOBJ
                    Object args = pop(), cls = pop();
                    if (!(cls instanceof Global g) || !MODULES.contains(g.name)) {
                        throw fail("NEWOBJ: expected one of the module classes " + new java.util.TreeSet<>(MODULES)
                                + ", got " + kind(cls));
                    }
                    if (!(args instanceof Tuple t) || !t.items.isEmpty()) {
                        throw fail("NEWOBJ " + g.name + ": expected no arguments, got " + kind(args));
                    }
                    push(new ModuleObj(g.name));
                }
                case 'b' -> { // BUILD
                    Object state = pop(), obj = peek();
                    if (obj instanceof ModuleObj m && state instanceof PyDict d && m.state == null) {
                        m.state = d;
                    } else if (obj instanceof PyDict && state instanceof PyDict) {
                        // an OrderedDict's instance attributes (state_dict's _metadata): not needed, dropped
                    } else {
                        throw fail("BUILD: expected a module or dict and a dict of attributes, got " + kind(obj) + " and "
                                + kind(state));
                    }
                }
                case 's' -> {
                    Object v = pop(), k = pop();
                    put(peek(), k, v);
                }
                case 'u' -> {
                    List<Object> items = popMark();
                    if (items.size() % 2 != 0) {
                        throw fail("SETITEMS: expected key-value pairs, got " + items.size() + " items");
                    }
                    Object d = peek();
                    for (int i = 0; i < items.size(); i += 2) {
                        put(d, items.get(i), items.get(i + 1));
                    }
                }
                case 'a' -> {
                    Object v = pop();
                    list(peek(), "APPEND").add(v);
                }
                case 'e' -> {
                    List<Object> items = popMark();
                    list(peek(), "APPENDS").addAll(items);
                }
                case 'q' -> memo.put((long) u8(), peek());
                case 'r' -> memo.put(u32(), peek());
                case 0x94 -> memo.put((long) memo.size(), peek());
                case 'h' -> push(get(u8()));
                case 'j' -> push(get(u32()));
                case 'Q' -> push(persistentId(pop()));
                case '.' -> {
                    Object v = pop();
                    if (!stack.isEmpty() || !marks.isEmpty()) {
                        throw fail("STOP: expected one object on the stack, got " + (stack.size() + 1)
                                + (marks.isEmpty() ? "" : " and an open MARK"));
                    }
                    return v;
                }
                default -> throw fail(String.format("opcode 0x%02x at offset %d: not one torch.save writes;"
                        + " refused", op, at));
            }
        }
    }

    private Global global(String name) throws TorchFormatException {
        if (!ALLOWED.contains(name)) {
            throw fail("global '" + TorchZip.printable(name) + "' is not on the allow-list of names this reader models as"
                    + " data; refused (a pickle can name any Python function, and this reader runs none)");
        }
        return new Global(name);
    }

    private Object reduce(Object f, Object args) throws TorchFormatException {
        if (!(f instanceof Global g)) {
            throw fail("REDUCE: expected an allow-listed global, got " + kind(f));
        }
        if (!(args instanceof Tuple t)) {
            throw fail("REDUCE " + g.name + ": expected an argument tuple, got " + kind(args));
        }
        List<Object> a = t.items;
        switch (g.name) {
            case "collections.OrderedDict" -> {
                if (!a.isEmpty()) {
                    throw fail("OrderedDict: expected no arguments, got " + a.size());
                }
                return new PyDict();
            }
            case "__builtin__.set", "builtins.set" -> {
                PyList items = new PyList();
                if (a.size() == 1 && a.get(0) instanceof PyList l) {
                    items.addAll(l);
                } else if (!a.isEmpty()) {
                    throw fail("set: expected a list, got " + a.size() + " arguments");
                }
                return items;
            }
            case "torch._utils._rebuild_tensor_v2" -> {
                if (a.size() < 4 || !(a.get(0) instanceof StorageRef s)) {
                    throw fail("_rebuild_tensor_v2: expected (storage, offset, size, stride, ...), got "
                            + a.size() + " arguments" + (a.isEmpty() ? "" : ", the first " + kind(a.get(0))));
                }
                long offset = integer(a.get(1), "_rebuild_tensor_v2 offset");
                long[] size = ints(a.get(2), "_rebuild_tensor_v2 size"), stride = ints(a.get(3), "_rebuild_tensor_v2 stride");
                if (size.length != stride.length) {
                    throw fail("_rebuild_tensor_v2: expected as many strides as sizes, got " + stride.length + " and "
                            + size.length);
                }
                TensorRef r = new TensorRef(s, offset, size, stride);
                tensors.add(r);
                return r;
            }
            case "torch._utils._rebuild_parameter", "torch.nn.parameter.Parameter" -> {
                if (a.isEmpty() || !(a.get(0) instanceof TensorRef r)) {
                    throw fail(g.name + ": expected a tensor first, got " + (a.isEmpty() ? "nothing" : kind(a.get(0))));
                }
                return r; // requires_grad and hooks do not matter for inference
            }
            default -> throw fail("REDUCE: " + g.name + " cannot be called; it names a type or a class");
        }
    }

    private StorageRef persistentId(Object pid) throws TorchFormatException {
        if (!(pid instanceof Tuple t) || t.items.size() < 5 || !"storage".equals(t.items.get(0))) {
            throw fail("persistent id: expected ('storage', type, key, location, numel), got " + kind(pid));
        }
        List<Object> a = t.items;
        if (!(a.get(1) instanceof Global g) || !STORAGES.containsKey(g.name)) {
            throw fail("persistent id: expected a storage type, got " + kind(a.get(1)));
        }
        if (!(a.get(2) instanceof String key) || key.isEmpty() || key.length() > 64) {
            throw fail("persistent id: expected a storage key string, got " + kind(a.get(2)));
        }
        long numel = integer(a.get(4), "persistent id numel");
        if (numel < 0) {
            throw fail("storage " + key + ": expected a non-negative element count, got " + numel);
        }
        StorageRef r = new StorageRef(g.name, key, numel);
        storages.add(r);
        return r;
    }

    long integer(Object o, String what) throws TorchFormatException {
        if (o instanceof Long l) {
            return l;
        }
        throw fail(what + ": expected an integer, got " + kind(o));
    }

    private long[] ints(Object o, String what) throws TorchFormatException {
        if (!(o instanceof Tuple t)) {
            throw fail(what + ": expected a tuple of integers, got " + kind(o));
        }
        long[] out = new long[t.items.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = integer(t.items.get(i), what + "[" + i + "]");
        }
        return out;
    }

    private void put(Object d, Object k, Object v) throws TorchFormatException {
        if (!(d instanceof PyDict dict)) {
            throw fail("SETITEM: expected a dict, got " + kind(d));
        }
        // keys are hashed: only immutable scalars, so no hostile structure is ever hashed or compared deeply
        if (!(k instanceof String || k instanceof Long || k instanceof Boolean || k == NONE || k instanceof Double
                || k instanceof BigInteger)) {
            throw fail("SETITEM: expected a string or number key, got " + kind(k));
        }
        dict.put(k, v);
    }

    private PyList list(Object o, String op) throws TorchFormatException {
        if (o instanceof PyList l) {
            return l;
        }
        throw fail(op + ": expected a list, got " + kind(o));
    }

    private Object get(long i) throws TorchFormatException {
        Object v = memo.get(i);
        if (v == null) {
            throw fail("BINGET " + i + ": expected a memoized object, got none");
        }
        return v;
    }

    static String kind(Object o) {
        if (o == null) {
            return "nothing";
        }
        if (o instanceof Global g) {
            return "global " + g.name;
        }
        if (o instanceof String s) {
            return "string '" + TorchZip.printable(s.length() > 40 ? s.substring(0, 40) + "..." : s) + "'";
        }
        if (o instanceof Long || o instanceof Boolean || o instanceof Double || o instanceof BigInteger || o == NONE) {
            return String.valueOf(o);
        }
        if (o instanceof Tuple t) {
            return "a tuple of " + t.items.size();
        }
        if (o instanceof PyList l) {
            return "a list of " + l.size();
        }
        if (o instanceof PyDict d) {
            return "a dict of " + d.size();
        }
        if (o instanceof TensorRef) {
            return "a tensor";
        }
        if (o instanceof StorageRef) {
            return "a storage";
        }
        if (o instanceof ModuleObj m) {
            return "module " + m.type;
        }
        return o.getClass().getSimpleName();
    }

    private void push(Object o) {
        stack.add(o);
    }

    private Object pop() throws TorchFormatException {
        int floor = marks.isEmpty() ? 0 : marks.getLast();
        if (stack.size() <= floor) {
            throw fail("expected an object on the stack at offset " + (p - 1) + ", got " + (stack.isEmpty() ? "an empty"
                    + " stack" : "a MARK"));
        }
        return stack.removeLast();
    }

    private Object peek() throws TorchFormatException {
        int floor = marks.isEmpty() ? 0 : marks.getLast();
        if (stack.size() <= floor) {
            throw fail("expected an object on the stack at offset " + (p - 1) + ", got none");
        }
        return stack.getLast();
    }

    private List<Object> popMark() throws TorchFormatException {
        if (marks.isEmpty()) {
            throw fail("expected a MARK before offset " + (p - 1) + ", got none");
        }
        int m = marks.removeLast();
        List<Object> tail = stack.subList(m, stack.size());
        List<Object> out = new ArrayList<>(tail);
        tail.clear();
        return out;
    }

    private void need(long n) throws TorchFormatException {
        if (n < 0 || n > end - p) {
            throw fail("expected " + n + " more bytes at offset " + p + ", got " + (end - p) + " (truncated)");
        }
    }

    private int u8() throws TorchFormatException {
        need(1);
        return b[p++] & 0xff;
    }

    private int u16() throws TorchFormatException {
        need(2);
        int v = (b[p] & 0xff) | (b[p + 1] & 0xff) << 8;
        p += 2;
        return v;
    }

    private int i32() throws TorchFormatException {
        need(4);
        int v = (b[p] & 0xff) | (b[p + 1] & 0xff) << 8 | (b[p + 2] & 0xff) << 16 | (b[p + 3]) << 24;
        p += 4;
        return v;
    }

    private long u32() throws TorchFormatException {
        return i32() & 0xffffffffL;
    }

    private long i64() throws TorchFormatException {
        long lo = u32(), hi = u32();
        return lo | hi << 32;
    }

    private long beI64() throws TorchFormatException {
        need(8);
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = v << 8 | (b[p++] & 0xff);
        }
        return v;
    }

    private String utf8(long n) throws TorchFormatException {
        need(n);
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(b, p, (int) n)).toString();
            p += (int) n;
            return s;
        } catch (CharacterCodingException e) {
            throw fail("string at offset " + p + ": expected UTF-8, got invalid bytes");
        }
    }

    /** A GLOBAL operand: text up to a newline, ASCII. */
    private String line() throws TorchFormatException {
        int s = p;
        while (p < end && b[p] != '\n') {
            if (p - s > 256 || b[p] < 0x20 || b[p] > 0x7e) {
                throw fail("GLOBAL: expected a printable ASCII name of at most 256 characters, got another form");
            }
            p++;
        }
        if (p >= end) {
            throw fail("GLOBAL: expected a newline-terminated name, got the end of the data");
        }
        return new String(b, s, p++ - s, StandardCharsets.US_ASCII);
    }

    private TorchFormatException fail(String msg) {
        return new TorchFormatException(source, "pickle: " + msg);
    }
}
