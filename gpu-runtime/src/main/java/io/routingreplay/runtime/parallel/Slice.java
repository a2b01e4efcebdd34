package io.routingreplay.runtime.parallel;

/** A contiguous range [from, to) of rows, columns, heads, experts or vocabulary ids one rank holds. */
public record Slice(int from, int to) {
    public Slice {
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("invalid slice [" + from + ", " + to + ")");
        }
    }

    /** Part {@code part} of {@code n} split into {@code parts} contiguous ranges whose sizes differ by at most one. */
    public static Slice part(int n, int part, int parts) {
        return new Slice((int) ((long) n * part / parts), (int) ((long) n * (part + 1) / parts));
    }

    public int size() {
        return to - from;
    }

    public boolean contains(int i) {
        return i >= from && i < to;
    }

    /** This range of units scaled to elements, {@code width} elements per unit (heads → rows of a projection). */
    public Slice times(int width) {
        return new Slice(from * width, to * width);
    }
}
