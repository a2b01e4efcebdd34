package io.routingreplay.operators.assembly;

/** Which clock the assembler's timeout runs on. */
public enum TimeoutClock {
    /** Wall-clock time on the task manager: a request times out T ms after its last event arrived. */
    PROCESSING,
    /** Event time: T ms after the last event's timestamp, once the watermark passes it. */
    EVENT;

    public static TimeoutClock parse(String s) {
        for (TimeoutClock c : values()) {
            if (c.name().equalsIgnoreCase(s)) {
                return c;
            }
        }
        throw new IllegalArgumentException("timeout clock must be 'processing' or 'event', got '" + s + "'");
    }
}
