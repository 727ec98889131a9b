package org.rnnkit.vector;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Runs the parts of a split on the calling thread and an executor. Every part owns its outputs and each
 * output is computed in one fixed order whoever runs it, so results are bit-identical for any thread
 * count and any schedule. The caller runs part 0, then any part no worker has started yet (so a busy or
 * shared executor never leaves it waiting for work that has not begun), then waits for the rest.
 *
 * <p>{@link #runLockstep} runs parts that must meet after every time step (a batch-1 recurrence split by
 * gate rows) with a spinning barrier: a part that no worker has picked up shortly after the call starts
 * is adopted by the caller, which then runs it step by step after its own, so nothing ever waits for
 * work that has not begun.
 *
 * <p>Single-threaded use ({@link #SERIAL}) allocates nothing; a split allocates a few small objects once
 * per parallel phase (never per time step).
 *
 * <p>Thread safety: immutable; safe for concurrent calls.
 */
final class VectorParallel {
    /** Everything on the calling thread. */
    static final VectorParallel SERIAL = new VectorParallel(null, 1);

    private final Executor executor;
    private final int threads;

    VectorParallel(Executor executor, int threads) {
        if (threads < 1 || (threads > 1 && executor == null)) {
            throw new IllegalArgumentException("threads: expected 1, or more with an executor; got " + threads);
        }
        this.executor = executor;
        this.threads = threads;
    }

    int threads() {
        return threads;
    }

    /** One part of a split: {@code part} of {@code parts}. */
    @FunctionalInterface
    interface Part {
        void run(int part, int parts);
    }

    /** Runs {@code body} for every part in {@code [0, parts)}; returns when all have finished. */
    void run(int parts, Part body) {
        if (parts <= 1 || executor == null) {
            for (int p = 0; p < parts; p++) {
                body.run(p, parts);
            }
            return;
        }
        Task[] tasks = new Task[parts - 1];
        for (int p = 1; p < parts; p++) {
            Task t = tasks[p - 1] = new Task(body, p, parts);
            try {
                executor.execute(t);
            } catch (RejectedExecutionException e) {
                // runs below on this thread
            }
        }
        Throwable error = null;
        try {
            body.run(0, parts);
        } catch (Throwable e) {
            error = e;
        }
        for (Task t : tasks) {
            t.run(); // a no-op when a worker has claimed it
        }
        for (Task t : tasks) {
            t.await();
            if (error == null) {
                error = t.error;
            } else if (t.error != null && t.error != error) {
                error.addSuppressed(t.error);
            }
        }
        if (error instanceof RuntimeException e) {
            throw e;
        }
        if (error instanceof Error e) {
            throw e;
        }
        if (error != null) {
            throw new IllegalStateException(error);
        }
    }

    /** One part of a lockstep split at one step. */
    @FunctionalInterface
    interface StepPart {
        void run(int part, int parts, int step);
    }

    /**
     * Runs {@code body(part, parts, step)} for every part at step 0, then every part at step 1, and so on:
     * within a step the parts run concurrently, and no part starts step {@code s+1} before every part has
     * finished step {@code s} (everything written before the barrier is visible after it).
     */
    void runLockstep(int parts, int steps, StepPart body) {
        if (parts <= 1 || executor == null) {
            for (int s = 0; s < steps; s++) {
                for (int p = 0; p < parts; p++) {
                    body.run(p, parts, s);
                }
            }
            return;
        }
        new Lockstep(parts, steps, body).run(executor);
    }

    /** The state of one lockstep run: who runs which part, the barrier, failures. */
    private static final class Lockstep {
        /** How long the caller waits for workers to pick up their parts before adopting them. */
        private static final long PICK_UP_NANOS = 200_000;
        private static final int FREE = 0, WORKER = 1, CALLER = 2;

        private final int parts, steps;
        private final StepPart body;
        private final AtomicIntegerArray owner;
        private final AtomicInteger arrived = new AtomicInteger();
        private final CountDownLatch workersDone;
        private volatile int phase;
        private volatile int parties; // set once before go
        private volatile boolean go, failed;
        private volatile Throwable error;

        Lockstep(int parts, int steps, StepPart body) {
            this.parts = parts;
            this.steps = steps;
            this.body = body;
            this.owner = new AtomicIntegerArray(parts);
            this.workersDone = new CountDownLatch(parts - 1);
        }

        void run(Executor executor) {
            for (int p = 1; p < parts; p++) {
                int part = p;
                try {
                    executor.execute(() -> worker(part));
                } catch (RejectedExecutionException e) {
                    adopt(part);
                }
            }
            long deadline = System.nanoTime() + PICK_UP_NANOS;
            int workers = 0;
            for (int p = 1; p < parts; p++) {
                while (owner.get(p) == FREE && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                if (owner.get(p) == FREE) {
                    adopt(p); // fails only if a worker has just taken it
                }
                if (owner.get(p) == WORKER) {
                    workers++;
                }
            }
            parties = 1 + workers;
            go = true;
            try {
                for (int s = 0; s < steps && !failed; s++) {
                    body.run(0, parts, s);
                    for (int p = 1; p < parts; p++) {
                        if (owner.get(p) == CALLER) {
                            body.run(p, parts, s);
                        }
                    }
                    await();
                }
            } catch (Throwable e) {
                fail(e);
            }
            awaitWorkers();
            Throwable e = error;
            if (e instanceof RuntimeException r) {
                throw r;
            }
            if (e instanceof Error r) {
                throw r;
            }
            if (e != null) {
                throw new IllegalStateException(e);
            }
        }

        /** The caller takes part {@code p} unless a worker already has it; a worker then finds it taken. */
        private boolean adopt(int p) {
            if (owner.compareAndSet(p, FREE, CALLER)) {
                workersDone.countDown();
                return true;
            }
            return false;
        }

        private void worker(int p) {
            if (!owner.compareAndSet(p, FREE, WORKER)) {
                return; // adopted by the caller (and counted down there)
            }
            try {
                while (!go) {
                    Thread.onSpinWait();
                }
                for (int s = 0; s < steps && !failed; s++) {
                    body.run(p, parts, s);
                    await();
                }
            } catch (Throwable e) {
                fail(e);
            } finally {
                workersDone.countDown();
            }
        }

        private void fail(Throwable e) {
            if (error == null) {
                error = e;
            }
            failed = true;
        }

        /** The barrier: the last to arrive opens the next phase; the others spin, then yield. */
        private void await() {
            int ph = phase;
            if (arrived.incrementAndGet() == parties) {
                arrived.set(0);
                phase = ph + 1;
                return;
            }
            // spin about 10-30 us (a step's work), then give the core away: with more parts than free cores
            // the part being waited for may need this one
            for (int spins = 0; phase == ph && !failed; spins++) {
                if (spins < 500) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }

        private void awaitWorkers() {
            boolean interrupted = false;
            while (true) {
                try {
                    workersDone.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // workers write into the caller's arrays: they must finish first
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Splits {@code [0, n)} into {@code parts} near-equal ranges; the start of range {@code part}. */
    static int split(int n, int part, int parts) {
        return (int) ((long) n * part / parts);
    }

    /** As {@link #split}, with starts on multiples of {@code unit} (except the end, {@code n}). */
    static int split(int n, int part, int parts, int unit) {
        if (part >= parts) {
            return n;
        }
        int units = (n + unit - 1) / unit;
        return Math.min(n, split(units, part, parts) * unit);
    }

    private static final class Task implements Runnable {
        private final Part body;
        private final int part, parts;
        private final AtomicBoolean claimed = new AtomicBoolean();
        private final CountDownLatch done = new CountDownLatch(1);
        private Throwable error; // written before done.countDown(), read after await()

        Task(Part body, int part, int parts) {
            this.body = body;
            this.part = part;
            this.parts = parts;
        }

        @Override
        public void run() {
            if (!claimed.compareAndSet(false, true)) {
                return;
            }
            try {
                body.run(part, parts);
            } catch (Throwable e) {
                error = e;
            } finally {
                done.countDown();
            }
        }

        void await() {
            boolean interrupted = false;
            while (true) {
                try {
                    done.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // the part must finish: it writes into the caller's arrays
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
