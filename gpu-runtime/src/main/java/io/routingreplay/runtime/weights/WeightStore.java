package io.routingreplay.runtime.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * All tensors of a checkpoint folder: {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json}, or (as a last resort) every {@code *.safetensors} in the folder.
 * When config.json declares fp8 block quantization ({@link Fp8BlockQuantization}), each float8_e4m3fn weight is
 * handed out as the bf16 tensor it stands for (its {@code _scale_inv} folded in) and the scales are not listed, so
 * model loaders see an ordinary bf16 checkpoint; fp8 tensors without that declaration or without their scales, and
 * scales without an fp8 weight, are refused by name.
 */
public final class WeightStore {
    private static final String SCALE_SUFFIX = "_scale_inv";

    private final Path dir;
    private final Map<String, TensorView> tensors = new HashMap<>();
    private Optional<Fp8BlockQuantization> quantization = Optional.empty();

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
        Map<String, TensorView> stored = new HashMap<>();
        for (Path f : files) {
            stored.putAll(new SafetensorsFile(f).tensors());
        }
        store.quantization = Fp8BlockQuantization.read(dir);
        store.resolveQuantized(stored);
        return store;
    }

    /** Stored tensors → what loaders see: fp8 weights dequantized, their scales consumed. */
    private void resolveQuantized(Map<String, TensorView> stored) {
        Set<String> scalesUsed = new HashSet<>();
        for (TensorView t : stored.values()) {
            if (t.dtype != Dtype.F8_E4M3) {
                continue;
            }
            if (quantization.isEmpty()) {
                throw new IllegalArgumentException("checkpoint " + dir + ": tensor '" + t.name + "' is float8_e4m3fn"
                        + " but config.json declares no quantization_config; " + Fp8BlockQuantization.SUPPORTED);
            }
            TensorView scale = stored.get(t.name + SCALE_SUFFIX);
            if (scale == null) {
                throw new IllegalArgumentException("checkpoint " + dir + ": fp8 weight '" + t.name + "' has no block"
                        + " scales '" + t.name + SCALE_SUFFIX + "'");
            }
            Fp8BlockQuantization q = quantization.get();
            try {
                tensors.put(t.name, TensorView.dequantized(new BlockFp8Weight(t, scale, q.blockRows(), q.blockCols())));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("checkpoint " + dir + ": " + e.getMessage(), e);
            }
            scalesUsed.add(scale.name);
        }
        for (TensorView t : stored.values()) {
            if (t.dtype == Dtype.F8_E4M3 || scalesUsed.contains(t.name)) {
                continue;
            }
            if (t.name.endsWith(SCALE_SUFFIX)) {
                String weight = t.name.substring(0, t.name.length() - SCALE_SUFFIX.length());
                TensorView w = stored.get(weight);
                throw new IllegalArgumentException("checkpoint " + dir + ": '" + t.name + "' scales '" + weight
                        + "', which " + (w == null ? "the checkpoint does not have" : "is " + w.dtype
                        + ", not float8_e4m3fn"));
            }
            tensors.put(t.name, t);
        }
    }

    /** The fp8 block quantization config.json declares, if any (its weights are already dequantized here). */
    public Optional<Fp8BlockQuantization> quantization() {
        return quantization;
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
