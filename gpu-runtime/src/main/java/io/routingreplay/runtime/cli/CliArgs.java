package io.routingreplay.runtime.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code --name value} (or {@code --name=value}) options of one subcommand, checked against the names it
 * accepts. Every value is a string until a typed getter reads it; a bad value names its option.
 */
public final class CliArgs {
    private final String command;
    private final Map<String, String> values = new LinkedHashMap<>();

    /**
     * @param valueOptions names (without "--") that take a value
     * @param flags        names that take none
     */
    public CliArgs(String command, List<String> args, Set<String> valueOptions, Set<String> flags) {
        this.command = command;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new UsageException("unexpected argument '" + arg + "' for '" + command + "'");
            }
            String name = arg.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (flags.contains(name)) {
                if (value != null) {
                    throw new UsageException("--" + name + " takes no value");
                }
                value = "true";
            } else if (valueOptions.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.size()) {
                        throw new UsageException("--" + name + " needs a value");
                    }
                    value = args.get(++i);
                }
            } else {
                throw new UsageException("unknown option --" + name + " for '" + command + "'");
            }
            if (values.put(name, value) != null) {
                throw new UsageException("--" + name + " given twice");
            }
        }
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    public String required(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new UsageException("'" + command + "' needs --" + name);
        }
        return v;
    }

    public Path requiredPath(String name) {
        return Path.of(required(name));
    }

    public Path path(String name) {
        String v = values.get(name);
        return v == null ? null : Path.of(v);
    }

    public boolean flag(String name) {
        return values.containsKey(name);
    }

    public int positiveInt(String name, int fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n < 1) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a positive integer, got '" + v + "'");
        }
    }

    /** A comma-separated list of positive integers, e.g. {@code --batch 1,32}. */
    public int[] positiveInts(String name, int[] fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        String[] parts = v.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                out[i] = 0;
            }
            if (out[i] < 1) {
                throw new UsageException("--" + name + " must be positive integers separated by commas, got '" + v + "'");
            }
        }
        return out;
    }
}
