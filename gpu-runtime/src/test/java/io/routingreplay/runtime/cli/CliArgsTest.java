package io.routingreplay.runtime.cli;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CliArgsTest {
    private static final Set<String> VALUES = Set.of("model", "batch", "threads");
    private static final Set<String> FLAGS = Set.of("follow");

    private static CliArgs parse(String... args) {
        return new CliArgs("cmd", List.of(args), VALUES, FLAGS);
    }

    @Test
    void readsSpaceAndEqualsFormsAndFlags() {
        CliArgs a = parse("--model", "m", "--batch=1,32", "--follow");
        assertEquals("m", a.required("model"));
        assertArrayEquals(new int[]{1, 32}, a.positiveInts("batch", null));
        assertTrue(a.flag("follow"));
        assertEquals(4, a.positiveInt("threads", 4));
    }

    @Test
    void mistakesNameTheOption() {
        assertEquals("unknown option --modle for 'cmd'", assertThrows(UsageException.class,
                () -> parse("--modle", "m")).getMessage());
        assertEquals("--model needs a value", assertThrows(UsageException.class, () -> parse("--model")).getMessage());
        assertEquals("--model given twice", assertThrows(UsageException.class,
                () -> parse("--model", "a", "--model", "b")).getMessage());
        assertEquals("--follow takes no value", assertThrows(UsageException.class,
                () -> parse("--follow=yes")).getMessage());
        assertEquals("unexpected argument 'extra' for 'cmd'", assertThrows(UsageException.class,
                () -> parse("extra")).getMessage());
        assertEquals("'cmd' needs --model", assertThrows(UsageException.class,
                () -> parse().required("model")).getMessage());
        assertEquals("--threads must be a positive integer, got '0'", assertThrows(UsageException.class,
                () -> parse("--threads", "0").positiveInt("threads", 1)).getMessage());
        assertEquals("--batch must be positive integers separated by commas, got '1,x'", assertThrows(
                UsageException.class, () -> parse("--batch", "1,x").positiveInts("batch", null)).getMessage());
    }
}
