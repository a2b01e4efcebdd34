package io.routingreplay.operators.recordsize;

/**
 * What Kafka counts against a producer's {@code max.request.size} for one record: the producer refuses a record when
 * its upper-bound estimate of the record batch holding it alone exceeds the limit (then the exactly-once sink's
 * transaction fails and the job restarts). This is that estimate for record format v2 with no headers: a batch
 * header of 61 bytes, at most 21 bytes of per-record fields (attributes, timestamp and offset deltas, length), the
 * key and value each with a varint length, and a varint header count. {@code KafkaRecordFramingTest} (job) checks it
 * against Kafka's own {@code AbstractRecords.estimateSizeInBytesUpperBound}.
 */
public final class KafkaRecordFraming {

    static final int RECORD_BATCH_OVERHEAD = 61;
    static final int MAX_RECORD_OVERHEAD = 21;

    private KafkaRecordFraming() {
    }

    /** Bytes the producer counts for a record with a {@code keyBytes} key (-1: null key) and a {@code valueBytes} value. */
    public static long recordBytes(long keyBytes, long valueBytes) {
        return RECORD_BATCH_OVERHEAD + MAX_RECORD_OVERHEAD + field(keyBytes) + field(valueBytes) + kafkaVarint(0);
    }

    private static long field(long n) {
        return n < 0 ? kafkaVarint(-1) : kafkaVarint(n) + n;
    }

    /** Kafka's varints are zig-zag over 32 bits, Avro's over 64: the same length for every int. */
    private static int kafkaVarint(long v) {
        return AvroSizes.varint(v);
    }
}
