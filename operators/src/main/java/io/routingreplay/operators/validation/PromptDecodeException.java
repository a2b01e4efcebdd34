package io.routingreplay.operators.validation;

/**
 * The bytes are not a request: not JSON / not a PromptEvent, or a field has the wrong type. The message is the
 * dead-letter reason; {@link #rid()} is the request id when it could still be read.
 */
public final class PromptDecodeException extends Exception {
    private final String rid;

    public PromptDecodeException(String reason, String rid) {
        super(reason);
        this.rid = rid;
    }

    public String rid() {
        return rid;
    }
}
