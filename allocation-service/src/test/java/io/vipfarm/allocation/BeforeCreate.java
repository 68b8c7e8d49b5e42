package io.vipfarm.allocation;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * A member as the service sees it, with a test's step run just before each block creation is sent: the
 * way to put another request (a delete) between a block's claim and its creation, which the real timing
 * only rarely does. Everything else goes to the real member unchanged.
 */
final class BeforeCreate {
  private BeforeCreate() {}

  static HazelcastInstance proxy(HazelcastInstance real, Runnable step) {
    return (HazelcastInstance) Proxy.newProxyInstance(BeforeCreate.class.getClassLoader(),
        new Class<?>[] {HazelcastInstance.class}, (proxy, method, args) -> {
          Object result = call(real, method, args);
          if (method.getName().equals("getMap") && AllocationMaps.BLOCKS.equals(args[0])) {
            IMap<?, ?> blocks = (IMap<?, ?>) result;
            return Proxy.newProxyInstance(BeforeCreate.class.getClassLoader(), new Class<?>[] {IMap.class},
                (InvocationHandler) (p, m, a) -> {
                  if (m.getName().equals("submitToKey") && a.length == 2 && a[1] instanceof BlockProcessors.Create) {
                    step.run();
                  }
                  return call(blocks, m, a);
                });
          }
          return result;
        });
  }

  private static Object call(Object target, Method method, Object[] args) throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
