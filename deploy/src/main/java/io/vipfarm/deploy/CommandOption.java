package io.vipfarm.deploy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** One {@code --name value} (or {@code --name=value}) of a vipfarm command line. */
record CommandOption(String name, String value) {

  /**
   * Splits {@code args} into options, in order. Every option takes a value; a bare word or a missing
   * value is a {@link UsageException}. Which names exist is the caller's business.
   */
  static List<CommandOption> parse(List<String> args) {
    return parse(args, Set.of());
  }

  /** As {@link #parse(List)}, where the names in {@code flags} may also stand alone (meaning {@code true}). */
  static List<CommandOption> parse(List<String> args, Set<String> flags) {
    List<CommandOption> options = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String name = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        name = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      if (!name.startsWith("--")) {
        throw new UsageException("unexpected argument '" + arg + "'");
      }
      if (value == null && flags.contains(name)
          && (i + 1 >= args.size() || !List.of("true", "false").contains(args.get(i + 1)))) {
        value = "true";
      }
      if (value == null) {
        if (i + 1 >= args.size()) {
          throw new UsageException(name + " needs a value");
        }
        value = args.get(++i);
      }
      options.add(new CommandOption(name, value));
    }
    return options;
  }
}
