package io.routingreplay.k8s;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The configuration keys the job declares ({@code ConfigOptions.key("...")} in job/ and operators/ sources), read
 * from the sources so this test-only module does not have to build and load the job.
 */
final class JobOptionKeys {

    private static final Pattern KEY = Pattern.compile("ConfigOptions\\s*\\.key\\(\\s*\"([^\"]+)\"\\s*\\)");

    static Set<String> declared() {
        Set<String> keys = new TreeSet<>();
        for (String module : new String[] {"job", "operators"}) {
            Path src = RepoFiles.ROOT.resolve(module).resolve("src/main/java");
            if (!Files.isDirectory(src)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(src)) {
                files.filter(p -> p.toString().endsWith(".java")).forEach(p -> {
                    Matcher m = KEY.matcher(RepoFiles.read(p));
                    while (m.find()) {
                        keys.add(m.group(1));
                    }
                });
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return keys;
    }

    /** First segments of the declared keys ("kafka", "topics", ...): a setting under one of these is the job's. */
    static Set<String> prefixes(Set<String> declared) {
        Set<String> out = new TreeSet<>();
        declared.forEach(k -> out.add(k.substring(0, k.indexOf('.') < 0 ? k.length() : k.indexOf('.'))));
        return out;
    }

    private JobOptionKeys() {
    }
}
