package io.routingreplay.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Renders a kustomization the way {@code kubectl kustomize} does, for the subset this repository uses:
 * {@code resources} (files, or folders holding a kustomization) and {@code patches} given by {@code path}, each a
 * strategic-merge patch whose apiVersion, kind and metadata.name pick its target (see {@link StrategicMerge}).
 * Any other kustomization field fails the render, so the overlays cannot drift into features these tests would
 * silently skip. (kustomize itself is not installed where the tests run.)
 */
final class Kustomize {

    private static final Set<String> SUPPORTED = Set.of("apiVersion", "kind", "resources", "patches");

    static List<ObjectNode> render(Path dir) {
        Path file = dir.resolve("kustomization.yaml");
        ObjectNode k = YamlDocs.readOne(file);
        for (Iterator<String> it = k.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!SUPPORTED.contains(field)) {
                throw new IllegalArgumentException(file + ": field '" + field
                        + "' is not supported by the test renderer; extend Kustomize (and its test) first");
            }
        }
        List<ObjectNode> out = new ArrayList<>();
        for (JsonNode r : k.path("resources")) {
            Path p = dir.resolve(r.asText()).normalize();
            out.addAll(Files.isDirectory(p) ? render(p) : YamlDocs.read(p));
        }
        for (JsonNode patchRef : k.path("patches")) {
            if (!patchRef.has("path") || patchRef.size() != 1) {
                throw new IllegalArgumentException(file + ": only '- path: FILE' patches are supported, got "
                        + patchRef);
            }
            for (ObjectNode patch : YamlDocs.read(dir.resolve(patchRef.get("path").asText()))) {
                target(out, patch, file).ifPresentOrElse(t -> StrategicMerge.merge(t, patch), () -> {
                    throw new IllegalArgumentException(file + ": patch for " + id(patch) + " matches no resource");
                });
            }
        }
        return out;
    }

    private static java.util.Optional<ObjectNode> target(List<ObjectNode> resources, ObjectNode patch, Path file) {
        List<ObjectNode> hits = resources.stream().filter(r -> id(r).equals(id(patch))).toList();
        if (hits.size() > 1) {
            throw new IllegalArgumentException(file + ": patch for " + id(patch) + " matches several resources");
        }
        return hits.stream().findFirst();
    }

    static String id(ObjectNode r) {
        return r.path("apiVersion").asText() + "/" + r.path("kind").asText() + "/"
                + r.path("metadata").path("name").asText();
    }

    private Kustomize() {
    }
}
