package org.orchestrator.webconsole;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.api.manage.ReconcileReport;
import org.orchestrator.api.provider.ExportRequest;
import org.orchestrator.api.provider.ExportResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write operations shared by the REST API and the console page: input validation, the
 * instance-to-client lookup, and an audit line in the log naming the caller.
 */
public final class Operations {

    private static final Logger LOG = LoggerFactory.getLogger(Operations.class);
    private static final Pattern INSTANCE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,127}");

    private final Supplier<Orchestrator> orchestrator;
    private final Duration wait;

    /** @param wait how long provision and deprovision wait for the client to settle */
    public Operations(Supplier<Orchestrator> orchestrator, Duration wait) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
        this.wait = Objects.requireNonNull(wait, "wait");
    }

    /**
     * @return the instance id unchanged
     * @throws ApiError 400 when it cannot be an instance id
     */
    public static String instanceId(String text) {
        if (text == null || !INSTANCE_ID.matcher(text).matches()) {
            throw ApiError.badRequest("not an instance id: " + org.orchestrator.api.lease.Identifiers.quote(text));
        }
        return text;
    }

    /**
     * @return the DUID
     * @throws ApiError 400 when the text is not a DUID
     */
    public static Duid duid(String text) {
        try {
            return Duid.parse(text);
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest(e.getMessage());
        }
    }

    /** @return the instance, which must exist */
    public InstanceView instance(String id) {
        String checked = instanceId(id);
        return orchestrator.get().instance(checked)
            .orElseThrow(() -> ApiError.notFound("no instance " + org.orchestrator.api.lease.Identifiers.quote(checked)));
    }

    public ClientView provision(Duid duid, String caller) {
        LOG.info("Provision requested for client {} by {}", duid, caller);
        return orchestrator.get().provision(duid, wait);
    }

    public ClientView deprovisionInstance(String instanceId, String caller) {
        InstanceView instance = instance(instanceId);
        LOG.info("Deprovision of instance {} (client {}) requested by {}", instance.id(), instance.client(), caller);
        return orchestrator.get().deprovision(instance.client(), wait);
    }

    public ExportResult export(String instanceId, String image, String archive, String caller) {
        String id = instanceId(instanceId);
        ExportRequest request = new ExportRequest(id, image, archive);
        LOG.info("Export of instance {} as {} requested by {}", id, request.imageTag(), caller);
        return orchestrator.get().export(request);
    }

    public ReconcileReport reconcile(String caller) {
        LOG.info("Reconciliation requested by {}", caller);
        return orchestrator.get().reconcile();
    }
}
