package org.rnnkit.cli;

import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.rnnkit.io.Untrusted;

/**
 * The seq2seq demo's task: a date written in one of seven everyday formats ("March 7, 2021", "07.03.2021",
 * "Sunday, March 7, 2021", ...) to ISO 8601 ("2021-03-07"), character by character. Generated, not
 * shipped: any number of pairs, the same for a seed on every machine (java.time's English names). A fair
 * test of an encoder-decoder: the model must read month names and numbers, keep day-month-year orders of
 * different formats apart ("/" is month/day/year, "." is day.month.year) and write the fields in another
 * order, all from the encoder's final state; no format is a copy of the target.
 *
 * <p>Thread safety: immutable.
 */
final class DateTask {
    /** Days from 1950-01-01 to 2049-12-31. */
    static final long FIRST = LocalDate.of(1950, 1, 1).toEpochDay(), DAYS = LocalDate.of(2050, 1, 1).toEpochDay() - FIRST;
    static final List<DateTimeFormatter> FORMATS = List.of(
            DateTimeFormatter.ofPattern("d MMMM yyyy", Locale.ENGLISH),
            DateTimeFormatter.ofPattern("MMMM d, yyyy", Locale.ENGLISH),
            DateTimeFormatter.ofPattern("d MMM yyyy", Locale.ENGLISH),
            DateTimeFormatter.ofPattern("MM/dd/yyyy", Locale.ENGLISH),
            DateTimeFormatter.ofPattern("dd.MM.yyyy", Locale.ENGLISH),
            DateTimeFormatter.ofPattern("yyyyMMdd", Locale.ENGLISH),
            DateTimeFormatter.ofPattern("EEEE, MMMM d, yyyy", Locale.ENGLISH));
    /** Target tokens: 0 BOS, 1 END, then these characters. */
    static final String TARGET_CHARS = "-0123456789";
    static final int BOS = 0, END = 1, TARGET_LEN = 11; // 10 characters and END
    /** Every character any format writes, sorted: the source's one-hot classes. */
    static final String SOURCE_CHARS = sourceChars();

    private DateTask() {}

    private static String sourceChars() {
        TreeSet<Character> cs = new TreeSet<>();
        for (long d = FIRST; d < FIRST + 800; d++) { // every month and weekday name, and every digit
            for (DateTimeFormatter f : FORMATS) {
                for (char ch : LocalDate.ofEpochDay(d).format(f).toCharArray()) {
                    cs.add(ch);
                }
            }
        }
        StringBuilder sb = new StringBuilder();
        cs.forEach(sb::append);
        return sb.toString();
    }

    /** A pair: the written date and its ISO form. */
    record Pair(String source, String target) {}

    static Pair draw(SplittableRandom rnd) {
        LocalDate d = LocalDate.ofEpochDay(FIRST + rnd.nextLong(DAYS));
        return new Pair(d.format(FORMATS.get(rnd.nextInt(FORMATS.size()))), d.toString());
    }

    /** Target tokens of an ISO date, END last. */
    static int[] targetTokens(String iso) {
        int[] t = new int[TARGET_LEN];
        for (int i = 0; i < iso.length(); i++) {
            t[i] = 2 + TARGET_CHARS.indexOf(iso.charAt(i));
        }
        t[TARGET_LEN - 1] = END;
        return t;
    }

    /** The text of target tokens up to END. */
    static String text(int[] tokens) {
        StringBuilder sb = new StringBuilder();
        for (int t : tokens) {
            if (t == END) {
                break;
            }
            sb.append(t >= 2 && t - 2 < TARGET_CHARS.length() ? TARGET_CHARS.charAt(t - 2) : '?');
        }
        return sb.toString();
    }

    /**
     * One-hot sources {@code (Ts, B, |SOURCE_CHARS|)}, time-major, padded to the longest; {@code lengths}
     * receives each row's length.
     *
     * @throws IllegalArgumentException naming a character the task's vocabulary lacks
     */
    static org.rnnkit.tensor.Tensor sources(List<String> texts, int[] lengths) {
        int batch = texts.size(), width = SOURCE_CHARS.length(), ts = 1;
        for (String s : texts) {
            ts = Math.max(ts, s.length());
        }
        org.rnnkit.tensor.Tensor x = org.rnnkit.tensor.Tensor.zeros(ts, batch, width);
        for (int b = 0; b < batch; b++) {
            String s = texts.get(b);
            if (s.isEmpty()) {
                throw new IllegalArgumentException("input: expected a date, got an empty text");
            }
            lengths[b] = s.length();
            for (int t = 0; t < s.length(); t++) {
                int c = SOURCE_CHARS.indexOf(s.charAt(t));
                if (c < 0) {
                    throw new IllegalArgumentException("input " + Untrusted.quote(s) + ": character "
                            + Untrusted.quote(String.valueOf(s.charAt(t))) + " is not in the model's vocabulary");
                }
                x.data()[(t * batch + b) * width + c] = 1f;
            }
        }
        return x;
    }
}
