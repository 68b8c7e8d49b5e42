package io.vipfarm.agent;

import java.time.Duration;

/**
 * How long the agent waits and how often it looks at its leases.
 *
 * @param requestTimeout how long a request to the policy or allocation service may take
 * @param renewalInterval how often the agent checks for leases due for renewal
 * @param stopTimeout how long stopping may take to end the sessions and release their leases
 */
public record AgentTimings(Duration requestTimeout, Duration renewalInterval, Duration stopTimeout) {
  public static final AgentTimings DEFAULT =
      new AgentTimings(Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofSeconds(15));

  public AgentTimings {
    if (requestTimeout.isNegative() || requestTimeout.isZero()
        || renewalInterval.isNegative() || renewalInterval.isZero()
        || stopTimeout.isNegative() || stopTimeout.isZero()) {
      throw new IllegalArgumentException("timings must be positive: " + requestTimeout + ", " + renewalInterval
          + ", " + stopTimeout);
    }
  }
}
