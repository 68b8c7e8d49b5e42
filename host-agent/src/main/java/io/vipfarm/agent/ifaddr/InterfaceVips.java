package io.vipfarm.agent.ifaddr;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link VipAddresses} on one interface ({@code --vip-interface}), level-triggered: it keeps the set of
 * held VIPs and, on every change, brings the interface in line with it ({@link VipAddressPlan}): list what
 * the host has, add what is missing, remove vipfarm's own addresses that nothing holds. One pass runs at a
 * time, on a worker thread; changes that arrive meanwhile are served together by the next pass, so a
 * hundred sessions ending at once cost a few passes, and an add and a remove of one address can never
 * run out of order. Call from the agent's event loop.
 */
public final class InterfaceVips implements VipAddresses {
  private static final Logger LOG = LoggerFactory.getLogger(InterfaceVips.class);

  private final Vertx vertx;
  private final IpCommand ip;
  private final String interfaceName;
  private final String label;
  private final Set<String> held = new LinkedHashSet<>();
  /** Held VIPs found on the host without vipfarm's label, already logged (touched by passes only). */
  private final Set<String> reportedForeign = new HashSet<>();
  private List<Promise<Pass>> waiting = new ArrayList<>();
  private boolean running;

  /** What one pass did not manage: address to the reason. */
  private record Pass(Map<String, String> notAdded, Map<String, String> notRemoved) {}

  public InterfaceVips(Vertx vertx, IpCommand ip, String interfaceName) {
    this.vertx = vertx;
    this.ip = ip;
    this.interfaceName = VipAddressPlan.checkInterfaceName(interfaceName);
    this.label = VipAddressPlan.labelOf(interfaceName);
  }

  /** Checks that the interface exists and {@code ip} runs (blocking work on a worker thread). */
  public Future<Void> check() {
    return vertx.executeBlocking(() -> {
      ip.checkInterface(interfaceName);
      return null;
    }, false);
  }

  public String interfaceName() {
    return interfaceName;
  }

  @Override
  public Future<Void> ensure(Collection<String> addresses) {
    List<String> managed = managed(addresses);
    if (managed.isEmpty()) {
      return Future.succeededFuture();
    }
    held.addAll(managed);
    return nextPass().compose(pass -> failureOf(managed, pass.notAdded(), "add the VIP %s to"));
  }

  @Override
  public Future<Void> withdraw(Collection<String> addresses) {
    List<String> managed = managed(addresses);
    if (managed.isEmpty()) {
      return Future.succeededFuture();
    }
    managed.forEach(held::remove);
    return nextPass().compose(pass -> failureOf(managed, pass.notRemoved(), "take the VIP %s off"));
  }

  /** Failed, naming the first of {@code addresses} the pass did not manage, or succeeded. */
  private Future<Void> failureOf(List<String> addresses, Map<String, String> failures, String what) {
    for (String address : addresses) {
      String why = failures.get(address);
      if (why != null) {
        return Future.failedFuture(new VipfarmException(ErrorType.INTERNAL,
            "cannot " + String.format(what, address) + " interface " + interfaceName + ": " + why));
      }
    }
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> adopt(Collection<String> addresses) {
    held.addAll(managed(addresses));
    return reconcile();
  }

  @Override
  public Future<Void> reconcile() {
    return nextPass().<Void>mapEmpty().otherwiseEmpty();
  }

  private static List<String> managed(Collection<String> addresses) {
    return addresses.stream().filter(VipAddressPlan::needsInterface).distinct().toList();
  }

  /** A pass that starts after this call: the current one may have read the held set too early. */
  private Future<Pass> nextPass() {
    Promise<Pass> promise = Promise.promise();
    waiting.add(promise);
    if (!running) {
      startPass();
    }
    return promise.future();
  }

  private void startPass() {
    running = true;
    List<Promise<Pass>> served = waiting;
    waiting = new ArrayList<>();
    Set<String> snapshot = Set.copyOf(held);
    vertx.executeBlocking(() -> apply(snapshot), false)
        .onFailure(err -> LOG.warn("cannot bring interface {} in line with the held VIPs {}: {}", interfaceName,
            snapshot, err.getMessage()))
        .onComplete(ar -> {
          served.forEach(p -> p.handle(ar));
          running = false;
          if (!waiting.isEmpty()) {
            startPass();
          }
        });
  }

  /** One pass, blocking: removes first, so an address moving between sessions ends up present. */
  private Pass apply(Set<String> snapshot) {
    VipAddressPlan plan = VipAddressPlan.between(interfaceName, snapshot, ip.addresses());
    Map<String, String> notRemoved = new LinkedHashMap<>();
    for (String address : plan.toRemove()) {
      try {
        ip.remove(interfaceName, address, label);
        LOG.info("removed VIP {}/32 from {} (no lease holds it)", address, interfaceName);
      } catch (RuntimeException e) {
        notRemoved.put(address, e.getMessage());
        LOG.error("cannot remove VIP {} from {} (retried on the next pass): {}", address, interfaceName,
            e.getMessage());
      }
    }
    Map<String, String> notAdded = new LinkedHashMap<>();
    for (String address : plan.toAdd()) {
      try {
        ip.add(interfaceName, address, label);
        LOG.info("added VIP {}/32 to {} (label {})", address, interfaceName, label);
      } catch (RuntimeException e) {
        notAdded.put(address, e.getMessage());
        LOG.error("cannot add VIP {} to {}: {}", address, interfaceName, e.getMessage());
      }
    }
    for (String address : plan.leftAlone()) {
      if (reportedForeign.add(address)) {
        LOG.warn("VIP {} is already on this host without vipfarm's label: used as is and never removed (if it is"
            + " an address of the host itself, exclude it from the pool)", address);
      }
    }
    reportedForeign.retainAll(plan.leftAlone());
    return new Pass(notAdded, notRemoved);
  }
}
