package io.vipfarm.gateway;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.openapi.router.OpenAPIRoute;
import io.vertx.ext.web.openapi.router.RouterBuilder;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Binds the contract's operationIds to handlers, each route as: access check, then validation against
 * the contract, then the operation. It refuses a table that disagrees with the contract: an unknown
 * operationId, an operation left unbound, a mutation (or an operation the contract secures) bound as
 * public, or a public operation the contract says is secured.
 */
final class OperationTable {
  private static final List<HttpMethod> MUTATIONS = List.of(HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE,
      HttpMethod.PATCH);

  private final RouterBuilder builder;
  private final AccessControl accessControl;
  private final RequestValidation validation;
  private final Set<String> bound = new LinkedHashSet<>();

  OperationTable(RouterBuilder builder, AccessControl accessControl, RequestValidation validation) {
    this.builder = builder;
    this.accessControl = accessControl;
    this.validation = validation;
  }

  OperationTable bind(String operationId, Access access, Handler<RoutingContext> operation) {
    OpenAPIRoute route = builder.getRoute(operationId);
    if (route == null) {
      throw new IllegalStateException("the contract has no operation '" + operationId + "'");
    }
    boolean securedByContract = !route.getOperation().getSecurityRequirements().isEmpty()
        || MUTATIONS.contains(route.getOperation().getHttpMethod());
    if (securedByContract != access.needsToken()) {
      throw new IllegalStateException("operation '" + operationId + "' is bound as " + access
          + " but the contract " + (securedByContract ? "secures" : "does not secure") + " it");
    }
    route.setDoSecurity(false)
        .setDoValidation(false)
        .addHandler(ctx -> {
          ctx.put(GatewayMetrics.OPERATION_KEY, operationId);
          ctx.next();
        })
        .addHandler(accessControl.require(access))
        .addHandler(validation.forOperation(route.getOperation()))
        .addHandler(operation);
    bound.add(operationId);
    return this;
  }

  Router createRouter() {
    List<String> unbound = builder.getRoutes().stream()
        .map(route -> route.getOperation().getOperationId())
        .filter(id -> !bound.contains(id))
        .toList();
    if (!unbound.isEmpty()) {
      throw new IllegalStateException("operations without a handler: " + unbound);
    }
    return builder.createRouter();
  }
}
