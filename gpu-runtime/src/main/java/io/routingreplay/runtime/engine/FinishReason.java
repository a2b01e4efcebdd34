package io.routingreplay.runtime.engine;

/** Why a request stopped generating; {@link #wire()} is the spelling in JSON and Avro. */
public enum FinishReason {
    /** An EOS or stop token was sampled (it is part of the output). */
    STOP("stop"),
    /** max_new_tokens, or the model's max_position_embeddings, was reached. */
    LENGTH("length"),
    /** The request was aborted by its owner. */
    ABORT("abort");

    private final String wire;

    FinishReason(String wire) {
        this.wire = wire;
    }

    public String wire() {
        return wire;
    }

    public static FinishReason fromWire(String s) {
        for (FinishReason f : values()) {
            if (f.wire.equals(s)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown finish reason '" + s + "'");
    }
}
