package org.orchestrator.webconsole.rest;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;

import javax.servlet.Servlet;
import javax.servlet.ServletConfig;
import javax.servlet.ServletException;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;

import org.orchestrator.api.lease.LeaseSink;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.ServiceSlot;
import org.orchestrator.webconsole.auth.JaasAuthenticator;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
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
 * The REST API at {@code /orchestrator/api/v1/*}: Jersey's servlet container registered
 * through the HTTP Whiteboard. Core's {@link Orchestrator} and {@link LeaseSink} may come and go;
 * while one is missing the endpoints that need it answer 503. A configuration change re-creates
 * the component (and so the Jersey application).
 */
@Component(
    service = Servlet.class,
    configurationPid = ApiServlet.PID,
    configurationPolicy = ConfigurationPolicy.OPTIONAL,
    property = {
        "osgi.http.whiteboard.servlet.pattern=" + ApiServlet.PATTERN,
        "osgi.http.whiteboard.servlet.name=orchestrator-rest-api",
        "osgi.http.whiteboard.context.select=(osgi.http.whiteboard.context.name=default)"
    })
@Designate(ocd = ApiServlet.Config.class)
public final class ApiServlet implements Servlet {

    /** The configuration PID. */
    public static final String PID = "org.orchestrator.webconsole";
    /** The servlet's whiteboard pattern. */
    public static final String PATTERN = "/orchestrator/api/v1/*";

    private static final Logger LOG = LoggerFactory.getLogger(ApiServlet.class);

    /** REST API and web console settings. */
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

        @AttributeDefinition(min = "0", max = "600",
            description = "Seconds that POST/DELETE instances wait for the client to settle before answering 202.")
        int operationWaitSeconds() default 30;
    }

    private final ServiceSlot<Orchestrator> orchestrator = new ServiceSlot<>("the orchestrator core");
    private final ServiceSlot<LeaseSink> leaseSink = new ServiceSlot<>("the lease sink");
    private final RestContainer container;

    @Activate
    public ApiServlet(Config config) {
        ApiSettings settings = new ApiSettings(config.leaseEventToken(), config.maxBodyBytes(), config.realm(),
            config.readRole(), config.writeRole(), Duration.ofSeconds(config.operationWaitSeconds()));
        container = new RestContainer(ApiApplication.create(settings, orchestrator, leaseSink,
            new JaasAuthenticator(settings.realm()), Clock.systemUTC()));
        LOG.info("REST API at {} with {}", PATTERN, settings);
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

    @Override
    public void init(ServletConfig config) throws ServletException {
        // Jersey loads some classes by name through the thread context class loader while it
        // starts; ours imports every package the application uses, Pax Web's thread's may not
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(ApiServlet.class.getClassLoader());
        try {
            container.init(config);
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    @Override
    public ServletConfig getServletConfig() {
        return container.getServletConfig();
    }

    @Override
    public void service(ServletRequest request, ServletResponse response) throws ServletException, IOException {
        container.service(request, response);
    }

    @Override
    public String getServletInfo() {
        return "Orchestrator REST API";
    }

    @Override
    public void destroy() {
        container.destroy();
    }
}
