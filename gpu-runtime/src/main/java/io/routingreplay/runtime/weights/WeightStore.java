package io.routingreplay.runtime.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * All tensors of a checkpoint folder: {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json}, or (as a last resort) every {@code *.safetensors} in the folder.
 */
public final class WeightStore {
    private final Path dir;
    private final Map<String, TensorView> tensors = new HashMap<>();

    private WeightStore(Path dir) {
        this.dir = dir;
    }

    public static WeightStore open(Path dir) {
        WeightStore store = new WeightStore(dir);
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        Set<Path> files = new LinkedHashSet<>();
        if (Files.isRegularFile(index)) {
            try {
                JsonNode map = new ObjectMapper().readTree(index.toFile()).get("weight_map");
                if (map == null) {
                    throw new IllegalArgumentException(index + " has no weight_map");
                }
                map.fields().forEachRemaining(e -> files.add(dir.resolve(e.getValue().asText())));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + index + ": " + e.getMessage(), e);
            }
            for (Path f : files) {
                if (!Files.isRegularFile(f)) {
                    throw new IllegalArgumentException("shard " + f.getFileName() + " named by " + index.getFileName()
                            + " is missing from " + dir);
                }
            }
        } else if (Files.isRegularFile(single)) {
            files.add(single);
        } else {
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().forEach(files::add);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
            }
            if (files.isEmpty()) {
                throw new IllegalArgumentException("no model.safetensors, model.safetensors.index.json or *.safetensors in " + dir);
            }
        }
        for (Path f : files) {
            store.tensors.putAll(new SafetensorsFile(f).tensors());
        }
        return store;
    }

    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    /** The named tensor; fails with a message naming it and the folder when the checkpoint lacks it. */
    public TensorView get(String name) {
        TensorView t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("checkpoint " + dir + " has no tensor '" + name + "'");
        }
        return t;
    }

    public Set<String> names() {
        return Collections.unmodifiableSet(tensors.keySet());
    }
}
