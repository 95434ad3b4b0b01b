package org.orchestrator.core.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * Core's OSGi service implements each API method itself. An API interface may add a default
 * method in a minor version (a fallback for other implementations, e.g. {@code awaitClient}
 * polling every 10 ms); left in place in core, the fallback would run instead of the engine's
 * implementation without any error (this happened to {@code awaitClient}: the REST wait polled).
 */
class CoreComponentApiTest {

    @Test
    void everyDefaultMethodOfTheServicesCoreRegistersIsImplementedByCore() throws Exception {
        List<String> inherited = new ArrayList<>();
        for (Class<?> api : CoreComponent.class.getInterfaces()) {
            for (Method m : api.getMethods()) {
                if (!m.isDefault() || Modifier.isStatic(m.getModifiers())) {
                    continue;
                }
                Method impl = CoreComponent.class.getMethod(m.getName(), m.getParameterTypes());
                if (impl.getDeclaringClass() != CoreComponent.class) {
                    inherited.add(api.getSimpleName() + "." + m.getName());
                }
            }
        }
        assertThat(inherited).as("API default methods CoreComponent leaves to the interface").isEmpty();
    }

    @Test
    void theCheckSeesTheInterfacesCoreRegisters() {
        // guards the test above against passing because it looked at nothing
        assertThat(CoreComponent.class.getInterfaces()).extracting(Class::getSimpleName)
            .contains("Orchestrator", "LeaseSink", "InstanceChangeSink", "AddressPool");
        boolean someDefault = false;
        for (Class<?> api : CoreComponent.class.getInterfaces()) {
            for (Method m : api.getMethods()) {
                someDefault |= m.isDefault();
            }
        }
        assertThat(someDefault).as("the interfaces have default methods to check").isTrue();
    }
}
