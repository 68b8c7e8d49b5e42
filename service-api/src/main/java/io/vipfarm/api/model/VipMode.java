package io.vipfarm.api.model;

import com.fasterxml.jackson.annotation.JsonProperty;

public enum VipMode {
  /** Every program of the session uses the session's VIP. */
  @JsonProperty("per-session")
  PER_SESSION,
  /** Only the listed programs use a VIP. */
  @JsonProperty("per-program")
  PER_PROGRAM;

  public String wireName() {
    return this == PER_SESSION ? "per-session" : "per-program";
  }
}
