package io.routingreplay.operators.validation;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.time.Duration;

/** The caps a deployment puts on one request, and how validation answers. Bad values are refused at job start. */
public final class LimitOptions {

    public static final ConfigOption<Integer> MAX_PROMPT_TOKENS = ConfigOptions.key("limits.max-prompt-tokens")
            .intType().defaultValue(8192)
            .withDescription("Most prompt tokens a request may have (after tokenising its text); longer prompts are "
                    + "dead-lettered. The model's max_position_embeddings applies on top.");

    public static final ConfigOption<Integer> MAX_NEW_TOKENS = ConfigOptions.key("limits.max-new-tokens")
            .intType().defaultValue(4096)
            .withDescription("Largest max_new_tokens a request may ask for.");

    public static final ConfigOption<Integer> MAX_REQUEST_BYTES = ConfigOptions.key("limits.max-request-bytes")
            .intType().defaultValue(256 * 1024)
            .withDescription("Largest prompt record, in bytes, the job reads; bigger ones are dead-lettered unread.");

    /**
     * The largest Kafka record the job writes. Validation refuses a request whose result could exceed it, the
     * result and dead-letter sinks keep every record under it, and the sinks' producers get it as
     * {@code max.request.size}. Kept here, not in the job's options, because validation needs it.
     */
    public static final ConfigOption<Integer> MAX_RECORD_BYTES = ConfigOptions.key("kafka.max-record-bytes")
            .intType().defaultValue(16 * 1024 * 1024)
            .withDescription("Largest record the job writes to Kafka (max.request.size of its producers): a whole "
                    + "routing record (e.g. 48 MoE layers × top-8 × 4,000 tokens ≈ 1.5 MB) exceeds Kafka's 1 MB "
                    + "default. A request whose result could be larger is dead-lettered at validation, and a "
                    + "record that still would be is dead-lettered before the sink. The topics' max.message.bytes "
                    + "(and the brokers' message.max.bytes) must allow it too.");

    public static final ConfigOption<Integer> MAX_IN_FLIGHT_PER_SUBTASK = ConfigOptions
            .key("limits.max-in-flight-per-subtask")
            .intType().defaultValue(256)
            .withDescription("Most requests one inference subtask holds admitted but unfinished; beyond it the "
                    + "operator stops taking input (backpressure) instead of growing its state.");

    public static final ConfigOption<Duration> DEDUP_TTL = ConfigOptions.key("validation.dedup-ttl")
            .durationType().defaultValue(Duration.ofHours(24))
            .withDescription("How long an accepted rid is remembered: a second request with the same rid within "
                    + "this time is dead-lettered instead of answered twice.");

    public static final ConfigOption<Integer> DEAD_LETTER_RAW_BYTES = ConfigOptions
            .key("validation.dead-letter-raw-bytes")
            .intType().defaultValue(64 * 1024)
            .withDescription("A dead letter keeps at most this many bytes of the original record, so an oversized "
                    + "request cannot make the dead-letter producer fail.");

    public static final ConfigOption<String> INPUT_FORMAT = ConfigOptions.key("validation.input-format")
            .stringType().defaultValue("auto")
            .withDescription("How prompt records are encoded: 'avro' (a PromptEvent in Avro single-object "
                    + "encoding: C3 01, the schema fingerprint, the record), 'json' (one request object, the generate "
                    + "request shape) or 'auto' (a record starting with '{' is JSON, which an Avro PromptEvent never "
                    + "does; anything else is read as Avro).");

    private LimitOptions() {
    }
}
