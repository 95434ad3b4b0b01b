package org.orchestrator.dhcp.dnsmasq;

import java.lang.reflect.Proxy;
import java.util.Map;

/** Builds a {@link DnsmasqDhcpSource.Config} from a map, with the annotation defaults for the rest. */
final class TestConfigs {

    private TestConfigs() {
    }

    static DnsmasqDhcpSource.Config config(Map<String, Object> values) {
        return (DnsmasqDhcpSource.Config) Proxy.newProxyInstance(TestConfigs.class.getClassLoader(),
                new Class<?>[] {DnsmasqDhcpSource.Config.class}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "annotationType":
                            return DnsmasqDhcpSource.Config.class;
                        case "toString":
                            return "Config" + values;
                        case "hashCode":
                            return values.hashCode();
                        case "equals":
                            return proxy == args[0];
                        default:
                            break;
                    }
                    Object v = values.get(method.getName());
                    if (v == null) {
                        v = method.getDefaultValue();
                    }
                    if (v == null) {
                        throw new IllegalArgumentException("no value for " + method.getName());
                    }
                    return v;
                });
    }
}
