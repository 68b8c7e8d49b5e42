package io.vipfarm.deploy;

import java.util.Locale;

/** Which parts of vipfarm one process runs. */
public enum Role {
  /** Everything in one process: the default for a single machine. */
  ALL,
  /** policy-service, allocation-service, event log and gateway, as a Hazelcast data member. */
  CONTROL,
  /** The host agent only. */
  AGENT;

  public boolean runsControlPlane() {
    return this != AGENT;
  }

  public boolean runsAgent() {
    return this != CONTROL;
  }

  public static Role parse(String text) {
    try {
      return valueOf(text.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new UsageException("--role must be one of all, control, agent (got '" + text + "')");
    }
  }
}
