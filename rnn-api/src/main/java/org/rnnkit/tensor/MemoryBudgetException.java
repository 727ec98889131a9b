package org.rnnkit.tensor;

/**
 * Thrown before an allocation that would exceed the {@link MemoryBudget}: the message says what needed how
 * much, the budget, and how to raise it. An {@link IllegalArgumentException} because the argument (an
 * input's shape, a model's sizes, a file) is what is too large for the configured budget.
 *
 * <p>Thread safety: immutable.
 */
public final class MemoryBudgetException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final long needed, budget;

    public MemoryBudgetException(String message, long needed, long budget) {
        super(message);
        this.needed = needed;
        this.budget = budget;
    }

    /** Bytes the refused allocation would have needed ({@code Long.MAX_VALUE} when that overflows). */
    public long needed() {
        return needed;
    }

    /** The budget in bytes at the time. */
    public long budget() {
        return budget;
    }
}
