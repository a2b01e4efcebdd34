package io.routingreplay.runtime.routing;

/**
 * Which part of a request's routing its result returns: routed positions {@code start .. num_tokens − 1}
 * ({@code routing_start}; a multi-turn trainer already holds the rows of the turns before, as with SGLang's
 * {@code routed_experts_start_len}), or none at all ({@code return_routing} false, e.g. evaluation traffic). Only
 * the record is cut: the engine routes every position either way (an MoE forward pass cannot skip it).
 *
 * @param start    the first routed position the record holds, 0 .. prompt length
 * @param returned false: the result holds no routing (and says so); {@code start} is then ignored
 */
public record RoutingSelection(int start, boolean returned) {

    /** Every routed position: the default. */
    public static final RoutingSelection ALL = new RoutingSelection(0, true);
    public static final boolean DEFAULT_RETURNED = true;
    public static final int DEFAULT_START = 0;

    /** Positions {@code start ..}. */
    public static RoutingSelection from(int start) {
        return new RoutingSelection(start, true);
    }

    /** No routing in the result. */
    public static RoutingSelection none() {
        return new RoutingSelection(0, false);
    }

    /**
     * A request routes at least every prompt position (its first output is sampled after the last prompt position
     * is routed), but how many outputs follow is not known at admission; so the largest start accepted is the
     * prompt length, where the record holds the routing of the generated tokens only (none when a single token
     * is generated).
     *
     * @return null when valid for a prompt of {@code promptLength} tokens, else a reason a person understands
     */
    public String validate(int promptLength) {
        if (start < 0) {
            return "routing_start must be >= 0, got " + start;
        }
        if (start > promptLength) {
            return "routing_start " + start + " is beyond the prompt: at most " + promptLength + " (the prompt "
                    + "length; positions after it depend on how many tokens are generated)";
        }
        return null;
    }
}
