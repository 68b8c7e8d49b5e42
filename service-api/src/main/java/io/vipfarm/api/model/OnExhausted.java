package io.vipfarm.api.model;

import com.fasterxml.jackson.annotation.JsonProperty;

/** What a session gets when its VIP pool has no free address. */
public enum OnExhausted {
  /** The session's programs use the host's own address (the Windows default). */
  @JsonProperty("fallback-host-ip")
  FALLBACK_HOST_IP,
  /** The session gets no VIP; the start reports an error and a pool.exhausted event. */
  @JsonProperty("refuse")
  REFUSE;

  public String wireName() {
    return this == FALLBACK_HOST_IP ? "fallback-host-ip" : "refuse";
  }
}
