package io.routingreplay.runtime.backend;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A decorator built on ForwardingModelRunner must not fall back to a capability's default: every method of
 *  ModelRunner, the default ones included, is handed to the delegate. */
class ForwardingModelRunnerTest {

    @Test
    void everyModelRunnerMethodIsForwarded() {
        List<String> missing = new ArrayList<>();
        for (Method m : ModelRunner.class.getDeclaredMethods()) {
            if (m.isSynthetic() || java.lang.reflect.Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            try {
                ForwardingModelRunner.class.getDeclaredMethod(m.getName(), m.getParameterTypes());
            } catch (NoSuchMethodException e) {
                missing.add(m.getName());
            }
        }
        assertEquals(List.of(), missing, "ModelRunner methods ForwardingModelRunner does not forward");
    }
}
