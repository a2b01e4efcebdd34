package io.routingreplay.operators.validation;

import io.routingreplay.schemas.InferenceRequest;

/**
 * An accepted request on its way from validation to the duplicate-rid filter, with the record's original bytes so
 * that a duplicate's dead letter can carry them like every other dead letter does. The bytes travel only this one
 * hop: the filter keeps no raw bytes in its keyed state (only where the first request came from) and passes the
 * request on without them, so the window and inference operators never hold them. Their size is bounded by
 * {@code limits.max-request-bytes}, since larger records were refused before. A Flink POJO, serialised without Kryo.
 */
public class ValidatedPrompt {
    public InferenceRequest request;
    /** The prompt record's value exactly as it arrived. */
    public byte[] raw;

    public ValidatedPrompt() {
    }

    public ValidatedPrompt(InferenceRequest request, byte[] raw) {
        this.request = request;
        this.raw = raw;
    }

    /** The key of the duplicate filter. */
    public static String rid(ValidatedPrompt p) {
        return p.request.getRid();
    }

    @Override
    public String toString() {
        return "ValidatedPrompt{" + request.getRid() + ", " + (raw == null ? "no" : raw.length) + " raw bytes}";
    }
}
