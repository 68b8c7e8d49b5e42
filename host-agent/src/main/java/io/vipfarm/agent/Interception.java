package io.vipfarm.agent;

import java.util.Locale;

/**
 * The enforcement path a host uses, and why.
 *
 * @param mode {@link #KERNEL} or {@link #PRELOAD}
 * @param reason why this path was chosen; for a fallback from the kernel path, what was missing
 */
public record Interception(String mode, String reason) {
  /** Cgroup socket-address hooks (BPF), with the LD_PRELOAD shim still answering name resolution. */
  public static final String KERNEL = "kernel";
  /** The LD_PRELOAD shim only. */
  public static final String PRELOAD = "preload";
  /** Kernel where the host supports it, else preload. */
  public static final String AUTO = "auto";

  /** Whether the kernel path answered its probe, and what was missing when not. */
  public record Probe(boolean works, String problem) {
    public static Probe ok() {
      return new Probe(true, null);
    }

    public static Probe missing(String problem) {
      return new Probe(false, problem);
    }
  }

  /** Thrown when {@code --interception kernel} was asked for on a host without the kernel path. */
  public static final class UnavailableException extends RuntimeException {
    UnavailableException(String message) {
      super(message);
    }
  }

  /** The requested mode as given on the command line, checked. */
  public static String parseRequest(String requested) {
    String mode = requested == null ? AUTO : requested.toLowerCase(Locale.ROOT);
    if (!mode.equals(AUTO) && !mode.equals(KERNEL) && !mode.equals(PRELOAD)) {
      throw new IllegalArgumentException("interception must be auto, kernel or preload (got '" + requested + "')");
    }
    return mode;
  }

  /**
   * The path to enforce with. {@code probe} is asked only when the kernel path is a candidate (it runs a
   * program). An explicit {@code kernel} on a host without it is refused rather than silently weakened:
   * whoever asked for it relies on the boundary.
   *
   * @throws UnavailableException for {@code kernel} when the probe fails
   */
  public static Interception choose(String requested, java.util.function.Supplier<Probe> probe) {
    String mode = parseRequest(requested);
    if (mode.equals(PRELOAD)) {
      return new Interception(PRELOAD, "preload requested (--interception preload)");
    }
    Probe result = probe.get();
    if (result.works()) {
      return new Interception(KERNEL, mode.equals(AUTO) ? "the kernel path works on this host"
          : "kernel requested (--interception kernel)");
    }
    if (mode.equals(KERNEL)) {
      throw new UnavailableException("--interception kernel: the kernel path does not work on this host: "
          + result.problem());
    }
    return new Interception(PRELOAD, "fell back to preload: " + result.problem());
  }

  public boolean kernel() {
    return KERNEL.equals(mode);
  }
}
