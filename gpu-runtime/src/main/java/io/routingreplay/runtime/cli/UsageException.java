package io.routingreplay.runtime.cli;

/** The command line is wrong; the message says what to change. Exits with status 2 and the command's usage. */
public class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
