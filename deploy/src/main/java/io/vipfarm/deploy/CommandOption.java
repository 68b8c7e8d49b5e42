package io.vipfarm.deploy;

import java.util.ArrayList;
import java.util.List;

/** One {@code --name value} (or {@code --name=value}) of a vipfarm command line. */
record CommandOption(String name, String value) {

  /**
   * Splits {@code args} into options, in order. Every option takes a value; a bare word or a missing
   * value is a {@link UsageException}. Which names exist is the caller's business.
   */
  static List<CommandOption> parse(List<String> args) {
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
