package io.routingreplay.job.kafka;

import io.routingreplay.operators.validation.RawPrompt;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Hands each prompt record on undecoded, with where it came from: decoding happens in validation, where a bad
 * record becomes a dead letter instead of an exception in the source (which would restart the job).
 */
public final class RawPromptDeserializer implements KafkaRecordDeserializationSchema<RawPrompt> {

    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<RawPrompt> out) {
        out.collect(new RawPrompt(record.value(), record.topic(), record.partition(), record.offset()));
    }

    @Override
    public TypeInformation<RawPrompt> getProducedType() {
        return TypeInformation.of(RawPrompt.class);
    }
}
