package io.routingreplay.operators.validation;

import io.routingreplay.schemas.InferenceRequest;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

class ValidatedPromptTest {

    /** It crosses the network between validation and the duplicate filter: as a POJO with an Avro field, not Kryo. */
    @Test
    void isSerialisedAsAPojoWithTheRequestAsAvro() {
        PojoTypeInfo<ValidatedPrompt> t = assertInstanceOf(PojoTypeInfo.class,
                TypeInformation.of(ValidatedPrompt.class));
        assertEquals(new AvroTypeInfo<>(InferenceRequest.class),
                t.getTypeAt(t.getFieldIndex("request")));
    }
}
