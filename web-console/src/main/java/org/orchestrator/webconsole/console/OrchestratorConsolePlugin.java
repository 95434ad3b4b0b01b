package org.orchestrator.webconsole.console;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;

import javax.servlet.Servlet;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.Operations;
import org.orchestrator.webconsole.ServiceSlot;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The "Orchestrator" plugin of the Felix Web Console at {@code /system/console/orchestrator}: a
 * plain servlet service with the {@code felix.webconsole.*} properties, which the console wraps
 * in its frame (no dependency on the web console's classes). The work is done by
 * {@link ConsolePage}. Without a whiteboard pattern property the HTTP Whiteboard ignores it.
 */
@Component(
    service = Servlet.class,
    property = {
        "felix.webconsole.label=" + ConsolePage.LABEL,
        "felix.webconsole.title=Orchestrator",
        "felix.webconsole.category=Orchestrator"
    })
public final class OrchestratorConsolePlugin extends HttpServlet {

    private static final long serialVersionUID = 1L;
    /** The page's actions wait only briefly; the page shows the rest of the progress by polling. */
    private static final Duration ACTION_WAIT = Duration.ofSeconds(5);

    private final transient ServiceSlot<Orchestrator> orchestrator = new ServiceSlot<>("the orchestrator core");
    private final transient ConsolePage page;

    @Activate
    public OrchestratorConsolePlugin() {
        page = new ConsolePage(orchestrator, new Operations(orchestrator, ACTION_WAIT), Clock.systemUTC());
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    void bindOrchestrator(Orchestrator service) {
        orchestrator.bind(service);
    }

    void unbindOrchestrator(Orchestrator service) {
        orchestrator.unbind(service);
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        page.doGet(request, response);
    }

    @Override
    protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
        page.doPost(request, response);
    }
}
