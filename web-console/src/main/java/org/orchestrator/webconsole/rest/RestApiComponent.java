package org.orchestrator.webconsole.rest;

import java.time.Clock;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;

import javax.servlet.Servlet;

import org.orchestrator.api.lease.LeaseSink;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.ServiceSlot;
import org.orchestrator.webconsole.auth.CachingAuthenticator;
import org.orchestrator.webconsole.auth.JaasAuthenticator;
import org.orchestrator.webconsole.metrics.PrometheusScraper;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The REST API at {@code /orchestrator/api/v1/*}: builds the Jersey application from configuration
 * PID {@value #PID} and registers its servlet ({@link RestContainer}) with the HTTP Whiteboard.
 *
 * <p>The component registers the servlet itself instead of being a DS service: DS would publish
 * every configuration property as a service property, and {@code leaseEventToken} is a secret.
 * The servlet's service properties are only the whiteboard ones. Core's {@link Orchestrator} and
 * {@link LeaseSink}, and this bundle's metrics ({@link PrometheusScraper}), may come and go; while
 * one is missing the endpoints that need it answer 503.
 * A configuration change re-creates the component (and so the Jersey application).
 */
@Component(
    immediate = true,
    configurationPid = RestApiComponent.PID,
    configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = RestApiComponent.Config.class)
public final class RestApiComponent {

    /** The configuration PID. */
    public static final String PID = "org.orchestrator.webconsole";
    /** The servlet's whiteboard pattern. */
    public static final String PATTERN = "/orchestrator/api/v1/*";

    private static final Logger LOG = LoggerFactory.getLogger(RestApiComponent.class);

    /** REST API settings. */
    @ObjectClassDefinition(name = "Orchestrator web console",
        description = "REST API at /orchestrator/api/v1 and the lease-event endpoint for DHCP hooks.")
    public @interface Config {

        @AttributeDefinition(type = AttributeType.PASSWORD, required = false,
            description = "Shared token that DHCP hooks send to POST /orchestrator/api/v1/lease-events "
                + "(header X-Orchestrator-Token or Authorization: Bearer). Empty disables the endpoint (403).")
        String leaseEventToken() default "";

        @AttributeDefinition(min = "1024", max = "16777216",
            description = "Largest request body accepted, in bytes; larger bodies get 413.")
        int maxBodyBytes() default 65536;

        @AttributeDefinition(description = "JAAS realm that checks HTTP Basic credentials.")
        String realm() default "karaf";

        @AttributeDefinition(description = "Role that may read (GET). The write role may read too.")
        String readRole() default "viewer";

        @AttributeDefinition(description = "Role that may provision, deprovision, export and reconcile.")
        String writeRole() default "admin";

        @AttributeDefinition(min = "0", max = "300",
            description = "Seconds a successful HTTP Basic login is remembered (a salted hash of the password, per user),"
                + " so that polling clients do not cost a JAAS login per request. A changed password or role takes"
                + " effect after at most this long; 0 asks the realm on every request.")
        int loginCacheSeconds() default 10;

        @AttributeDefinition(min = "0", max = "600",
            description = "Seconds that POST/DELETE instances wait for the client to settle before answering 202.")
        int operationWaitSeconds() default 30;
    }

    private final ServiceSlot<Orchestrator> orchestrator = new ServiceSlot<>("the orchestrator core");
    private final ServiceSlot<LeaseSink> leaseSink = new ServiceSlot<>("the lease sink");
    private final ServiceSlot<PrometheusScraper> metrics = new ServiceSlot<>("the metrics registry");
    private final RestContainer servlet;
    private final ServiceRegistration<Servlet> registration;

    /** @param context where to register the servlet, or {@code null} to only build it (tests mount it themselves) */
    @Activate
    public RestApiComponent(BundleContext context, Config config) {
        ApiSettings settings = new ApiSettings(config.leaseEventToken(), config.maxBodyBytes(), config.realm(),
            config.readRole(), config.writeRole(), Duration.ofSeconds(config.operationWaitSeconds()));
        if (config.loginCacheSeconds() < 0 || config.loginCacheSeconds() > 300) {
            throw new IllegalArgumentException("loginCacheSeconds must be between 0 and 300, not " + config.loginCacheSeconds());
        }
        servlet = new RestContainer(ApiApplication.create(settings, orchestrator, leaseSink, metrics,
            new CachingAuthenticator(new JaasAuthenticator(settings.realm()), Duration.ofSeconds(config.loginCacheSeconds())),
            Clock.systemUTC()));
        if (context == null) {
            registration = null;
        } else {
            Dictionary<String, Object> properties = new Hashtable<>();
            properties.put("osgi.http.whiteboard.servlet.pattern", PATTERN);
            properties.put("osgi.http.whiteboard.servlet.name", "orchestrator-rest-api");
            properties.put("osgi.http.whiteboard.context.select", "(osgi.http.whiteboard.context.name=default)");
            registration = context.registerService(Servlet.class, servlet, properties);
        }
        LOG.info("REST API at {} with {}", PATTERN, settings);
    }

    /** Builds the servlet without registering it. */
    RestApiComponent(Config config) {
        this(null, config);
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException e) {
                LOG.debug("REST servlet was already unregistered");
            }
        }
    }

    /** @return the API's servlet */
    RestContainer servlet() {
        return servlet;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    void bindOrchestrator(Orchestrator service) {
        orchestrator.bind(service);
    }

    void unbindOrchestrator(Orchestrator service) {
        orchestrator.unbind(service);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    void bindLeaseSink(LeaseSink service) {
        leaseSink.bind(service);
    }

    void unbindLeaseSink(LeaseSink service) {
        leaseSink.unbind(service);
    }

    // the metrics component of this bundle (metrics.MicrometerMetrics)
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    void bindMetrics(PrometheusScraper service) {
        metrics.bind(service);
    }

    void unbindMetrics(PrometheusScraper service) {
        metrics.unbind(service);
    }
}
