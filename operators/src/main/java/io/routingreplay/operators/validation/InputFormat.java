package io.routingreplay.operators.validation;

import java.util.Locale;

/** How prompt records are encoded; see {@link LimitOptions#INPUT_FORMAT}. */
public enum InputFormat {
    AUTO, AVRO, JSON;

    public static InputFormat parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(LimitOptions.INPUT_FORMAT.key() + " must be auto, avro or json, got '"
                    + s + "'");
        }
    }
}
