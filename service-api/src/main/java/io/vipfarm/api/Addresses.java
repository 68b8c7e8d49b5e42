package io.vipfarm.api;

/**
 * Event-bus addresses and Service Discovery names shared by all vipfarm services.
 *
 * <p>Services talk request/reply over the clustered event bus with JSON bodies and an {@code action}
 * header (see {@link io.vipfarm.api.bus.EventBusClient}). We chose that over Vert.x service proxies
 * because proxies need code generation for every record, while a JSON body keeps the wire format
 * visible, versionable and usable unchanged by agents that reach the control plane through the TCP
 * event-bus bridge (which speaks JSON only). Callers never hard-code where a service runs: they look
 * the address up by {@link #POLICY_SERVICE}-style names in Service Discovery.
 */
public final class Addresses {
  private Addresses() {}

  /** Event-bus address of the policy service. */
  public static final String POLICY = "vipfarm.policy";
  /** Event-bus address of the allocation service. */
  public static final String ALLOCATION = "vipfarm.allocation";
  /** Prefix of each host agent's address; the host id follows. */
  public static final String AGENT_PREFIX = "vipfarm.agent.";
  /** Point-to-point: services submit events here; the event log numbers and stores them. */
  public static final String EVENTS_SUBMIT = "vipfarm.events.submit";
  /** Publish: numbered events, as {@link io.vipfarm.api.model.VipfarmEvent} JSON. */
  public static final String EVENTS = "vipfarm.events";

  /**
   * Publish, local to each control member: {@code policy.changed} events relayed to the agents connected
   * to that member through the TCP bridge (agents may not see the farm's other events).
   */
  public static final String POLICY_CHANGES = "vipfarm.policy.changes";

  /** Service Discovery names. */
  public static final String POLICY_SERVICE = "vipfarm-policy";
  public static final String ALLOCATION_SERVICE = "vipfarm-allocation";
  public static final String HOST_AGENT_SERVICE = "vipfarm-host-agent";
  /** Metadata key on host-agent records naming the host. */
  public static final String META_HOST_ID = "hostId";

  /** Header naming the operation of a request. */
  public static final String ACTION_HEADER = "action";

  public static String agent(String hostId) {
    return AGENT_PREFIX + hostId;
  }
}
