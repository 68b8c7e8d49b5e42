package io.vipfarm.deploy.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.VipfarmEvent;
import io.vipfarm.deploy.bridge.AgentPermissions.Kind;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AgentPermissionsTest {
  private static final String ME = "web-01";
  private static final String OTHER = "web-02";

  private static boolean allowed(Kind kind, String address, String replyAddress, String action, Object body) {
    JsonObject json = body == null ? null : body instanceof JsonObject j ? j : Json.toJson(body);
    // as the bridge sees it: decoded from the wire, nested objects included
    JsonObject wire = json == null ? null : new JsonObject(json.encode());
    return AgentPermissions.check(ME, kind, address, replyAddress, action, wire).allowed();
  }

  private static boolean request(String address, String action, Object body) {
    return allowed(Kind.SEND, address, "vipfarm.reply.1", action, body);
  }

  private static LeaseKey key(String host) {
    return new LeaseKey(host, "boot-1", "7", null);
  }

  @Test
  void leasesOnlyForItsOwnHost() {
    for (String action : List.of(AllocationService.Actions.RENEW, AllocationService.Actions.RELEASE)) {
      assertThat(request(Addresses.ALLOCATION, action, new LeaseRef("p", key(ME), 3))).as(action).isTrue();
      assertThat(request(Addresses.ALLOCATION, action, new LeaseRef("p", key(OTHER), 3))).as(action).isFalse();
    }
    assertThat(request(Addresses.ALLOCATION, AllocationService.Actions.ACQUIRE, new AcquireRequest("p", key(ME), "alice")))
        .isTrue();
    assertThat(request(Addresses.ALLOCATION, AllocationService.Actions.ACQUIRE, new AcquireRequest("p", key(OTHER), "alice")))
        .isFalse();
    assertThat(request(Addresses.ALLOCATION, AllocationService.Actions.ACQUIRE, new JsonObject().put("pool", "p")))
        .as("no key").isFalse();
    assertThat(request(Addresses.ALLOCATION, AllocationService.Actions.LEASES, new AllocationQuery(ME, null, null, null, null)))
        .isTrue();
    assertThat(request(Addresses.ALLOCATION, AllocationService.Actions.LEASES, new AllocationQuery(null, null, null, null, null)))
        .as("the whole farm's leases").isFalse();
  }

  @Test
  void noPoolOrPolicyAdministration() {
    for (String action : List.of(AllocationService.Actions.PUT_POOL, AllocationService.Actions.DELETE_POOL,
        AllocationService.Actions.LIST_POOLS, AllocationService.Actions.CHECK, "unknown")) {
      assertThat(request(Addresses.ALLOCATION, action, new JsonObject().put("name", "p"))).as(action).isFalse();
    }
    assertThat(request(Addresses.ALLOCATION, null, new AcquireRequest("p", key(ME), "alice"))).as("no action").isFalse();
    for (String action : List.of(PolicyService.Actions.PUT, PolicyService.Actions.DELETE, PolicyService.Actions.LIST,
        PolicyService.Actions.GET)) {
      assertThat(request(Addresses.POLICY, action, new JsonObject().put("name", "x"))).as(action).isFalse();
    }
    assertThat(request(Addresses.POLICY, PolicyService.Actions.EFFECTIVE, new JsonObject().put("host", ME).put("user", "a")))
        .isTrue();
    assertThat(request(Addresses.POLICY, PolicyService.Actions.EFFECTIVE, new JsonObject().put("host", OTHER).put("user", "a")))
        .isFalse();
  }

  @Test
  void eventsOnlyAboutItsOwnHostAndOnlyAnAgentsKinds() {
    VipfarmEvent mine = VipfarmEvent.submit(VipfarmEvent.SESSION_STARTED, ME, "7", Map.of());
    assertThat(allowed(Kind.SEND, Addresses.EVENTS_SUBMIT, null, null, mine)).isTrue();
    assertThat(allowed(Kind.SEND, Addresses.EVENTS_SUBMIT, null, null,
        VipfarmEvent.submit(VipfarmEvent.SESSION_ENDED, OTHER, "7", Map.of()))).isFalse();
    assertThat(allowed(Kind.SEND, Addresses.EVENTS_SUBMIT, null, null,
        VipfarmEvent.submit(VipfarmEvent.HOST_LEFT, OTHER, null, Map.of()))).as("another host leaving").isFalse();
    assertThat(allowed(Kind.SEND, Addresses.EVENTS_SUBMIT, null, null,
        VipfarmEvent.submit(VipfarmEvent.POLICY_CHANGED, ME, null, Map.of()))).as("forged policy change").isFalse();
    assertThat(allowed(Kind.SEND, Addresses.EVENTS_SUBMIT, null, null, null)).isFalse();
    assertThat(allowed(Kind.PUBLISH, Addresses.EVENTS, null, null, mine)).as("publishing as the event log").isFalse();
    assertThat(allowed(Kind.PUBLISH, Addresses.EVENTS_SUBMIT, null, null, mine)).isFalse();
  }

  @Test
  void listensOnlyOnItsOwnAgentAddressAndPolicyChanges() {
    assertThat(allowed(Kind.REGISTER, Addresses.agent(ME), null, null, null)).isTrue();
    assertThat(allowed(Kind.UNREGISTER, Addresses.agent(ME), null, null, null)).isTrue();
    assertThat(allowed(Kind.REGISTER, Addresses.POLICY_CHANGES, null, null, null)).isTrue();
    assertThat(allowed(Kind.REGISTER, Addresses.agent(OTHER), null, null, null)).as("taking over another host").isFalse();
    assertThat(allowed(Kind.UNREGISTER, Addresses.agent(OTHER), null, null, null)).isFalse();
    assertThat(allowed(Kind.REGISTER, Addresses.agent(ME) + ".x", null, null, null)).isFalse();
    assertThat(allowed(Kind.REGISTER, Addresses.EVENTS, null, null, null)).as("every host's events").isFalse();
    assertThat(allowed(Kind.REGISTER, Addresses.ALLOCATION, null, null, null)).as("posing as a service").isFalse();
  }

  @Test
  void repliesAndPingsPassOtherAddressesDoNot() {
    assertThat(allowed(Kind.SEND, "__vertx.reply.42", null, null, new JsonObject())).isTrue();
    assertThat(allowed(Kind.SEND, "__vertx.reply.42", "vipfarm.reply.1", null, new JsonObject())).isFalse();
    assertThat(allowed(Kind.PING, null, null, null, null)).isTrue();
    assertThat(request(Addresses.agent(OTHER), "startSession", new JsonObject())).as("another host's agent").isFalse();
    assertThat(request(Addresses.agent(ME), "startSession", new JsonObject())).as("itself, through the bridge").isFalse();
    assertThat(request("vipfarm.gateway", "x", new JsonObject())).isFalse();
    assertThat(allowed(Kind.SEND, null, null, null, null)).isFalse();
  }
}
