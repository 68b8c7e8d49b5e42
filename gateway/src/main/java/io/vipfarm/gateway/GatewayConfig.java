package io.vipfarm.gateway;

import java.util.Objects;

/**
 * Where the gateway listens and the bootstrap admin token that every mutation must present.
 *
 * @param bindHost interface to bind, e.g. {@code 127.0.0.1}
 * @param port TCP port; 0 picks a free one (read it back with {@link GatewayVerticle#actualPort()})
 * @param adminToken the bearer token of mutations; never blank, never printed
 */
public record GatewayConfig(String bindHost, int port, String adminToken) {

  public GatewayConfig {
    Objects.requireNonNull(bindHost, "bindHost");
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port must be within 0..65535, was " + port);
    }
    if (adminToken == null || adminToken.isBlank()) {
      throw new IllegalArgumentException("adminToken must not be blank");
    }
  }

  /** Keeps the token out of logs. */
  @Override
  public String toString() {
    return "GatewayConfig[bindHost=" + bindHost + ", port=" + port + ", adminToken=<redacted>]";
  }
}
