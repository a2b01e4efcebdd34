package io.routingreplay.runtime.engine;

/** A request the engine refuses; the message is a reason a person understands. Nothing else is affected. */
public class InvalidRequestException extends RuntimeException {
    public InvalidRequestException(String message) {
        super(message);
    }
}
