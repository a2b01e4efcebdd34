package io.routingreplay.runtime.tokenizer;

/** A tokenizer file exists but cannot be used; the message names the file and what to do about it. */
public class TokenizerLoadException extends RuntimeException {
    public TokenizerLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
