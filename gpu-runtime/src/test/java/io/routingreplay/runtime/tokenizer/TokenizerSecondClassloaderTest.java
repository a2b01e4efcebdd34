package io.routingreplay.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.runtime.testing.Fixtures;
import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * What a Flink session cluster does on a restart: the job's classes, tokenizers library included, are loaded again
 * by a new classloader in the same JVM. The native library is then "already loaded in another classloader", and the
 * error says so, and how to deploy instead, rather than blaming the tokenizer file or the platform.
 */
class TokenizerSecondClassloaderTest {

    private static final Path QWEN = Fixtures.model("qwen3-moe-tiny");

    @Test
    void aSecondClassloaderLoadingTheNativeLibraryIsNamedAsTheCauseWithTheFix() throws Exception {
        TextTokenizer.load(QWEN).orElseThrow().close(); // this classloader loads the native library first
        try (URLClassLoader second = new URLClassLoader(classpath(), ClassLoader.getPlatformClassLoader())) {
            Class<?> again = Class.forName(TextTokenizer.class.getName(), true, second);
            InvocationTargetException e = assertThrows(InvocationTargetException.class,
                    () -> again.getMethod("load", Path.class).invoke(null, QWEN));
            Throwable t = e.getCause();
            assertEquals(TokenizerLoadException.class.getName(), t.getClass().getName(), String.valueOf(t));
            String m = t.getMessage();
            assertTrue(m.contains("is already loaded by another classloader in this JVM"), m);
            assertTrue(m.contains(TextTokenizer.ALREADY_LOADED), "the JVM's own words are kept: " + m);
            assertTrue(m.contains("in Flink's lib/ instead of the job jar"), m);
            assertFalse(m.contains("must match this OS/CPU"), m);
        }
    }

    /** This test's classpath (surefire's manifest-only jar included: its Class-Path is followed). */
    private static URL[] classpath() throws MalformedURLException {
        String[] entries = System.getProperty("java.class.path").split(File.pathSeparator);
        URL[] urls = new URL[entries.length];
        for (int i = 0; i < entries.length; i++) {
            urls[i] = Path.of(entries[i]).toUri().toURL();
        }
        return urls;
    }
}
