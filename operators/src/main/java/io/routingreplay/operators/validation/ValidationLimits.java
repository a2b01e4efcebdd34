package io.routingreplay.operators.validation;

import org.apache.flink.configuration.ReadableConfig;

import java.io.Serializable;
import java.time.Duration;

/** The per-request caps of {@link LimitOptions}, checked once. */
public record ValidationLimits(int maxPromptTokens, int maxNewTokens, int maxRequestBytes, int deadLetterRawBytes,
                               Duration dedupTtl, InputFormat inputFormat, int maxRecordBytes)
        implements Serializable {

    /** Smallest kafka.max-record-bytes: room for a dead letter with its reason, rid and a few bytes of the record. */
    public static final int MIN_RECORD_BYTES = 4096;

    public ValidationLimits {
        require(maxPromptTokens >= 1, LimitOptions.MAX_PROMPT_TOKENS.key() + " must be >= 1, got " + maxPromptTokens);
        require(maxNewTokens >= 1, LimitOptions.MAX_NEW_TOKENS.key() + " must be >= 1, got " + maxNewTokens);
        require(maxRequestBytes >= 64, LimitOptions.MAX_REQUEST_BYTES.key() + " must be >= 64, got " + maxRequestBytes);
        require(deadLetterRawBytes >= 0, LimitOptions.DEAD_LETTER_RAW_BYTES.key() + " must be >= 0");
        require(dedupTtl != null && !dedupTtl.isNegative() && !dedupTtl.isZero(),
                LimitOptions.DEDUP_TTL.key() + " must be a positive duration, e.g. 24 h");
        require(inputFormat != null, LimitOptions.INPUT_FORMAT.key() + " must be set");
        require(maxRecordBytes >= MIN_RECORD_BYTES, LimitOptions.MAX_RECORD_BYTES.key() + " must be >= "
                + MIN_RECORD_BYTES + " (room for a dead letter), got " + maxRecordBytes);
    }

    public static ValidationLimits from(ReadableConfig conf) {
        return new ValidationLimits(conf.get(LimitOptions.MAX_PROMPT_TOKENS), conf.get(LimitOptions.MAX_NEW_TOKENS),
                conf.get(LimitOptions.MAX_REQUEST_BYTES), conf.get(LimitOptions.DEAD_LETTER_RAW_BYTES),
                conf.get(LimitOptions.DEDUP_TTL), InputFormat.parse(conf.get(LimitOptions.INPUT_FORMAT)),
                conf.get(LimitOptions.MAX_RECORD_BYTES));
    }

    public static ValidationLimits defaults() {
        return from(new org.apache.flink.configuration.Configuration());
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("invalid limits: " + message);
        }
    }
}
