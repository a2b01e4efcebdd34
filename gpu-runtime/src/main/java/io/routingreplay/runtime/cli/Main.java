package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.engine.InvalidRequestException;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * {@code routing-replay} command line: {@code generate}, {@code bench}, {@code verify}, {@code multi-turn},
 * {@code help}. Exit status:
 * 0 success, 1 failure, 2 usage error, 3 some input lines rejected (the rest completed), 4 some results did not
 * verify.
 */
public final class Main {
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;

    /** The subcommands this class runs, as listed in the top-level usage. */
    public static final String COMMANDS = """
              generate   run a JSONL file of requests offline; results with per-token expert routing
              bench      CPU/GPU tokens/s for prefill and decode
              verify     replay results on their recorded routing: logprobs, free-router share, structure
              multi-turn a multi-turn rollout in one engine: per turn, prefix-cache hits and routing bytes returned
              help       this text, or `help COMMAND` for one command's options
            """;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command line; never calls System.exit, so other launchers (the job's CLI) can delegate here. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.print(usage());
            return EXIT_USAGE;
        }
        String command = args[0];
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        if (rest.contains("--help") || rest.contains("-h")) {
            return help(List.of(command), out, err);
        }
        try {
            return switch (command) {
                case "generate" -> new GenerateCommand(err).run(rest);
                case "bench" -> new BenchCommand(out).run(rest);
                case "verify" -> new VerifyCommand(out).run(rest);
                case "multi-turn" -> new MultiTurnCommand(out, err).run(rest);
                case "help", "--help", "-h" -> help(rest, out, err);
                default -> throw new UsageException("unknown command '" + command + "'");
            };
        } catch (UsageException e) {
            err.println("error: " + e.getMessage());
            err.print(commandUsage(command).orElse(usage()));
            return EXIT_USAGE;
        } catch (IOException | RuntimeException e) {
            err.println("error: " + describe(e));
            if (System.getenv("ROUTING_REPLAY_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return EXIT_FAILURE;
        }
    }

    private static String describe(Exception e) {
        if (e instanceof InvalidRequestException || e instanceof IllegalArgumentException
                || e instanceof IllegalStateException) {
            return e.getMessage();
        }
        return e.getClass().getSimpleName() + ": " + e.getMessage()
                + " (set ROUTING_REPLAY_DEBUG=1 for the stack trace)";
    }

    private static int help(List<String> rest, PrintStream out, PrintStream err) {
        if (rest.isEmpty()) {
            out.print(usage());
            return 0;
        }
        var text = commandUsage(rest.get(0));
        if (text.isEmpty()) {
            err.println("error: unknown command '" + rest.get(0) + "'");
            err.print(usage());
            return EXIT_USAGE;
        }
        out.print(text.get());
        return 0;
    }

    private static Optional<String> commandUsage(String command) {
        return switch (command) {
            case "generate" -> Optional.of(GenerateCommand.USAGE);
            case "bench" -> Optional.of(BenchCommand.USAGE);
            case "verify" -> Optional.of(VerifyCommand.USAGE);
            case "multi-turn" -> Optional.of(MultiTurnCommand.USAGE);
            case "help", "--help", "-h" -> Optional.of(usage());
            default -> Optional.empty();
        };
    }

    private static String usage() {
        return "usage: routing-replay COMMAND [options]\n" + COMMANDS;
    }
}
