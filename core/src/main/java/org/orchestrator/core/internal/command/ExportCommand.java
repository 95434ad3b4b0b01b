package org.orchestrator.core.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.api.provider.ExportRequest;
import org.orchestrator.api.provider.ExportResult;

/** Exports an instance as an image, optionally saved to an archive. */
@Service
@Command(scope = "orchestrator", name = "export", description = "Exports an instance as an image")
public final class ExportCommand implements Action {

    @Reference
    Orchestrator orchestrator;

    @Argument(index = 0, name = "instance", description = "The instance id", required = true)
    @Completion(InstanceIdCompleter.class)
    String instanceId;

    @Argument(index = 1, name = "image", description = "The image tag to create, e.g. visitors/alice:1", required = true)
    String image;

    @Option(name = "--archive", aliases = "-a", description = "File name of an archive in the provider's export folder")
    String archive;

    private final PrintStream out;

    public ExportCommand() {
        this.out = null;
    }

    ExportCommand(Orchestrator orchestrator, PrintStream out, String instanceId, String image, String archive) {
        this.orchestrator = orchestrator;
        this.out = out;
        this.instanceId = instanceId;
        this.image = image;
        this.archive = archive;
    }

    @Override
    public Object execute() {
        PrintStream o = out == null ? System.out : out;
        ExportRequest request = new ExportRequest(instanceId, image, archive);
        o.println("exporting " + instanceId + " as " + image + " ...");
        ExportResult r = orchestrator.export(request);
        o.println("image " + r.imageTag() + " (" + r.imageId() + ")"
            + (r.archive() == null ? "" : ", archive " + r.archive() + " (" + r.sizeBytes() + " bytes)"));
        return null;
    }
}
