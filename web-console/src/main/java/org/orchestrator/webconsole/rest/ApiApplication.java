package org.orchestrator.webconsole.rest;

import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

import javax.ws.rs.Priorities;
import javax.ws.rs.ext.ContextResolver;

import org.glassfish.jersey.CommonProperties;
import org.glassfish.jersey.jackson.JacksonFeature;
import org.glassfish.jersey.server.ResourceConfig;
import org.glassfish.jersey.server.ServerProperties;
import org.glassfish.jersey.server.model.Resource;
import org.glassfish.jersey.server.model.ResourceMethod;
import org.orchestrator.api.lease.LeaseSink;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.Json;
import org.orchestrator.webconsole.Operations;
import org.orchestrator.webconsole.ServiceSlot;
import org.orchestrator.webconsole.auth.Authenticator;
import org.orchestrator.webconsole.metrics.PrometheusScraper;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Builds the Jersey application of {@code /orchestrator/api/v1}: the resources, the auth and
 * body-limit filters, JSON through Jackson with our mapper, and one exception mapper for the
 * error body. Everything is registered as instances with explicit dependencies, so the same
 * application runs in Karaf and in unit tests.
 */
public final class ApiApplication {

    /** Every resource class, in the order of the OpenAPI document. */
    public static final List<Class<?>> RESOURCES = List.of(ClientsResource.class, InstancesResource.class,
        LeasesResource.class, ProvidersResource.class, PoolResource.class, EventsResource.class, HealthResource.class,
        MetricsResource.class, ReconcileResource.class, LeaseEventsResource.class, MeResource.class,
        OpenApiResource.class);

    private ApiApplication() {
    }

    /**
     * @param metrics the metrics to scrape; its {@code get()} throws {@code OrchestratorException}
     *                UNAVAILABLE (503) while there are none
     */
    public static ResourceConfig create(ApiSettings settings, ServiceSlot<Orchestrator> orchestrator,
                                        Supplier<LeaseSink> sink, Supplier<PrometheusScraper> metrics,
                                        Authenticator authenticator, Clock clock) {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(orchestrator, "orchestrator");
        Objects.requireNonNull(sink, "sink");
        Objects.requireNonNull(metrics, "metrics");
        Objects.requireNonNull(authenticator, "authenticator");
        Objects.requireNonNull(clock, "clock");
        Operations operations = new Operations(orchestrator, settings.operationWait());

        ResourceConfig config = new ResourceConfig();
        config.setApplicationName("orchestrator-api");
        // WADL drags in JAXB and logs errors in OSGi; we publish OpenAPI instead
        config.property(ServerProperties.WADL_FEATURE_DISABLE, true);
        config.property(ServerProperties.BV_FEATURE_DISABLE, true);
        // only what is registered here: no auto-discovered features or exception mappers
        config.property(CommonProperties.FEATURE_AUTO_DISCOVERY_DISABLE_SERVER, true);
        config.property(ServerProperties.RESPONSE_SET_STATUS_OVER_SEND_ERROR, true);

        config.register(JacksonFeature.withoutExceptionMappers());
        config.register(new MapperResolver());
        config.register(new AccessFeature(settings, authenticator));
        config.register(new BodyLimitFilter(settings.maxBodyBytes()), Priorities.AUTHORIZATION);
        config.register(new FailureMapper());
        config.register(new HeadersFilter());

        for (Object resource : List.of(new ClientsResource(orchestrator, settings.operationWait()), new InstancesResource(orchestrator, operations, clock),
            new LeasesResource(orchestrator), new ProvidersResource(orchestrator), new PoolResource(orchestrator), new EventsResource(orchestrator),
            new HealthResource(orchestrator), new MetricsResource(metrics), new ReconcileResource(operations),
            new LeaseEventsResource(sink, clock), new MeResource(orchestrator, clock), new OpenApiResource())) {
            config.registerResources(bound(Resource.from(resource.getClass()), resource));
        }
        return config;
    }

    /**
     * The resource model of {@code instance}'s class with every method handled by that instance.
     * Registering the instance itself would work too, but Jersey then warns at every start that
     * each resource "does not implement any provider interfaces".
     */
    private static Resource bound(Resource model, Object instance) {
        Resource.Builder builder = Resource.builder(model.getPath());
        for (ResourceMethod method : model.getResourceMethods()) {
            builder.addMethod(method).handledBy(instance, method.getInvocable().getHandlingMethod());
        }
        for (Resource child : model.getChildResources()) {
            builder.addChildResource(bound(child, instance));
        }
        return builder.build();
    }

    /** Hands Jackson's Jersey provider our configured mapper. */
    private static final class MapperResolver implements ContextResolver<ObjectMapper> {
        @Override
        public ObjectMapper getContext(Class<?> type) {
            return Json.MAPPER;
        }
    }
}
