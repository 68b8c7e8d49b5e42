package io.vipfarm.deploy.bridge;

import io.vertx.core.json.JsonObject;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.Set;

/**
 * What an agent connected through the bridge may do, decided from the host id in its client certificate
 * alone: it acts only for its own host (design.md §8). Everything not listed is refused: publishing,
 * pool and policy administration, other hosts' leases, sessions, events and agent addresses.
 */
public final class AgentPermissions {
  /** Prefix of the event bus's reply addresses; the bridge itself accepts only replies it is waiting for. */
  static final String REPLY_PREFIX = "__vertx.reply.";

  /** Events an agent emits about its own host. */
  static final Set<String> AGENT_EVENTS = Set.of(VipfarmEvent.SESSION_STARTED, VipfarmEvent.SESSION_ENDED,
      VipfarmEvent.LEASE_GRANTED, VipfarmEvent.LEASE_RENEWED, VipfarmEvent.LEASE_RELEASED,
      VipfarmEvent.LEASE_EXPIRED, VipfarmEvent.HOST_JOINED, VipfarmEvent.HOST_LEFT, VipfarmEvent.POOL_EXHAUSTED);

  /** A frame an agent sent, as the bridge names it. */
  public enum Kind { SEND, PUBLISH, REGISTER, UNREGISTER, PING }

  /** Allowed, or refused with the reason (logged on the control member, never sent to the agent). */
  public record Verdict(boolean allowed, String reason) {
    static final Verdict ALLOW = new Verdict(true, null);

    static Verdict deny(String reason) {
      return new Verdict(false, reason);
    }
  }

  private AgentPermissions() {}

  /**
   * @param hostId the host id of the agent's certificate
   * @param replyAddress the frame's reply address: a request has one, a reply or a one-way send has none
   * @param action the frame's action header, or null
   * @param body the frame's JSON body, or null
   */
  public static Verdict check(String hostId, Kind kind, String address, String replyAddress, String action,
      JsonObject body) {
    if (kind == Kind.PING) {
      return Verdict.ALLOW;
    }
    if (address == null) {
      return Verdict.deny("no address");
    }
    return switch (kind) {
      case REGISTER, UNREGISTER -> address.equals(Addresses.agent(hostId)) || address.equals(Addresses.POLICY_CHANGES)
          ? Verdict.ALLOW : Verdict.deny("may listen only on its own agent address and policy changes, not " + address);
      case PUBLISH -> Verdict.deny("agents may not publish (" + address + ")");
      case SEND -> send(hostId, address, replyAddress, action, body);
      case PING -> Verdict.ALLOW;
    };
  }

  private static Verdict send(String hostId, String address, String replyAddress, String action, JsonObject body) {
    if (address.startsWith(REPLY_PREFIX)) {
      // the agent answering a request for its sessions; the bridge drops replies it is not waiting for
      return replyAddress == null ? Verdict.ALLOW : Verdict.deny("a reply cannot expect a reply");
    }
    return switch (address) {
      case Addresses.ALLOCATION -> allocation(hostId, action, body);
      case Addresses.POLICY -> PolicyService.Actions.EFFECTIVE.equals(action)
          ? ownHost(hostId, body == null ? null : body.getValue("host"), "policy for")
          : Verdict.deny("policy action '" + action + "' is not an agent's");
      case Addresses.EVENTS_SUBMIT -> event(hostId, body);
      default -> Verdict.deny("address " + address + " is not open to agents");
    };
  }

  private static Verdict allocation(String hostId, String action, JsonObject body) {
    if (action == null) {
      return Verdict.deny("allocation request without an action");
    }
    return switch (action) {
      case AllocationService.Actions.ACQUIRE, AllocationService.Actions.RENEW, AllocationService.Actions.RELEASE -> {
        Object key = body == null ? null : body.getValue("key");
        yield ownHost(hostId, key instanceof JsonObject k ? k.getValue("hostId") : null, action + " of a lease of");
      }
      case AllocationService.Actions.LEASES -> ownHost(hostId, body == null ? null : body.getValue("host"), "leases of");
      default -> Verdict.deny("allocation action '" + action + "' is not an agent's");
    };
  }

  private static Verdict event(String hostId, JsonObject body) {
    if (body == null) {
      return Verdict.deny("an event needs a body");
    }
    Object type = body.getValue("type");
    if (!(type instanceof String t) || !AGENT_EVENTS.contains(t)) {
      return Verdict.deny("event type '" + type + "' is not an agent's");
    }
    return ownHost(hostId, body.getValue("hostId"), t + " event of");
  }

  private static Verdict ownHost(String hostId, Object claimed, String what) {
    return hostId.equals(claimed) ? Verdict.ALLOW : Verdict.deny(what + " host '" + claimed + "' by agent '" + hostId + "'");
  }
}
