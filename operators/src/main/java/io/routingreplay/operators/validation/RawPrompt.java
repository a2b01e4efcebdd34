package io.routingreplay.operators.validation;

import java.util.Arrays;

/**
 * One record of the prompts topic exactly as it arrived: the bytes are not decoded yet, so no payload can make the
 * Kafka source throw (which would restart the job); the validator decodes and answers bad ones with a dead letter.
 * A Flink POJO (public fields, no-arg constructor) so it is serialised without Kryo.
 */
public class RawPrompt {
    /** The record value; null for a tombstone. */
    public byte[] value;
    public String topic;
    public int partition = -1;
    public long offset = -1;

    public RawPrompt() {
    }

    public RawPrompt(byte[] value, String topic, int partition, long offset) {
        this.value = value;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
    }

    /** A record that did not come from Kafka (tests, the offline path). */
    public static RawPrompt of(byte[] value) {
        return new RawPrompt(value, null, -1, -1);
    }

    /** Where it came from, for messages: {@code prompts/0@42}. */
    public String origin() {
        return topic == null ? "(not from Kafka)" : topic + "/" + partition + "@" + offset;
    }

    @Override
    public String toString() {
        return "RawPrompt{" + origin() + ", " + (value == null ? "null" : value.length + " bytes") + "}";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RawPrompt r && Arrays.equals(value, r.value) && java.util.Objects.equals(topic, r.topic)
                && partition == r.partition && offset == r.offset;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(value) * 31 + Long.hashCode(offset);
    }
}
