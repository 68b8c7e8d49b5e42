package io.vipfarm.gateway;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Where the gateway listens and how.
 *
 * @param bindHost interface to bind, e.g. {@code 127.0.0.1}
 * @param port TCP port; 0 picks a free one (read it back with {@link GatewayVerticle#actualPort()})
 * @param adminToken the bootstrap admin bearer token; never blank, never printed
 * @param tlsCert PEM certificate (chain) to serve HTTPS with, or null for plain HTTP; needs {@code tlsKey}
 * @param tlsKey PEM private key of {@code tlsCert}, or null
 * @param webhookAllow non-loopback webhook hosts allowed ({@code host}, {@code *.domain} or {@code *})
 * @param minClusterMembers /ready fails while the Hazelcast cluster has fewer members (the quorum)
 * @param webhookMaxAttempts attempts per webhook delivery before it counts as failed
 * @param webhookBackoffMs delay before the first retry; doubles per attempt
 */
public record GatewayConfig(String bindHost, int port, String adminToken, Path tlsCert, Path tlsKey,
    List<String> webhookAllow, int minClusterMembers, int webhookMaxAttempts, long webhookBackoffMs) {

  public GatewayConfig {
    Objects.requireNonNull(bindHost, "bindHost");
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port must be within 0..65535, was " + port);
    }
    if (adminToken == null || adminToken.isBlank()) {
      throw new IllegalArgumentException("adminToken must not be blank");
    }
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new IllegalArgumentException("TLS needs both a certificate and a key");
    }
    webhookAllow = List.copyOf(webhookAllow);
    if (minClusterMembers < 1 || webhookMaxAttempts < 1 || webhookBackoffMs < 1) {
      throw new IllegalArgumentException("minClusterMembers, webhookMaxAttempts and webhookBackoffMs must be positive");
    }
  }

  /** Plain HTTP, loopback webhooks only, a one-member quorum, 6 webhook attempts from 1 s apart. */
  public GatewayConfig(String bindHost, int port, String adminToken) {
    this(bindHost, port, adminToken, null, null, List.of(), 1, 6, 1_000);
  }

  public GatewayConfig withTls(Path cert, Path key) {
    return new GatewayConfig(bindHost, port, adminToken, cert, key, webhookAllow, minClusterMembers,
        webhookMaxAttempts, webhookBackoffMs);
  }

  public GatewayConfig withWebhooks(List<String> allow, int maxAttempts, long backoffMs) {
    return new GatewayConfig(bindHost, port, adminToken, tlsCert, tlsKey, allow, minClusterMembers, maxAttempts,
        backoffMs);
  }

  public GatewayConfig withMinClusterMembers(int members) {
    return new GatewayConfig(bindHost, port, adminToken, tlsCert, tlsKey, webhookAllow, members, webhookMaxAttempts,
        webhookBackoffMs);
  }

  public boolean tls() {
    return tlsCert != null;
  }

  /** Keeps the token out of logs. */
  @Override
  public String toString() {
    return "GatewayConfig[bindHost=" + bindHost + ", port=" + port + ", adminToken=<redacted>, tls=" + tls()
        + ", webhookAllow=" + webhookAllow + ", minClusterMembers=" + minClusterMembers + "]";
  }
}
