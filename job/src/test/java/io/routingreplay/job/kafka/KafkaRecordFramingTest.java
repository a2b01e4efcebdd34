package io.routingreplay.job.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.routingreplay.operators.recordsize.KafkaRecordFraming;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.Test;

/**
 * The size the job checks records against is the size Kafka's producer checks against {@code max.request.size}
 * (its own upper-bound estimate, {@code KafkaProducer.doSend}), for every key and value length class.
 */
class KafkaRecordFramingTest {

    @Test
    void equalsTheProducersOwnEstimate() {
        int[] keys = {-1, 0, 1, 63, 64, 127, 128, 8191, 8192, 20_000};
        int[] values = {0, 1, 63, 64, 8191, 8192, 1_048_575, 1_048_576, 16 << 20, (16 << 20) + 1};
        for (int v : values) {
            byte[] value = new byte[v];
            for (int k : keys) {
                int kafka = AbstractRecords.estimateSizeInBytesUpperBound(RecordBatch.CURRENT_MAGIC_VALUE,
                        CompressionType.NONE, k < 0 ? null : new byte[k], value, Record.EMPTY_HEADERS);
                assertEquals(kafka, KafkaRecordFraming.recordBytes(k, v), "key " + k + ", value " + v);
            }
        }
    }
}
