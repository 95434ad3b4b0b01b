package org.orchestrator.core.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.orchestrator.api.manage.ComponentView;
import org.orchestrator.api.manage.Orchestrator;

/** Lists the DHCP sources, providers and networks core knows, with their bundles. */
@Service
@Command(scope = "orchestrator", name = "providers", description = "Lists DHCP sources, providers and networks with their bundles")
public final class ProvidersCommand implements Action {

    @Reference
    Orchestrator orchestrator;

    private final PrintStream out;

    public ProvidersCommand() {
        this.out = null;
    }

    ProvidersCommand(Orchestrator orchestrator, PrintStream out) {
        this.orchestrator = orchestrator;
        this.out = out;
    }

    @Override
    public Object execute() {
        ShellTable table = new ShellTable().emptyTableText("no components");
        table.column("Kind");
        table.column("Name");
        table.column("Available");
        table.column("Bundle").alignRight();
        table.column("Symbolic name");
        table.column("Bundle state");
        table.column("Detail");
        for (ComponentView c : orchestrator.components()) {
            table.addRow().addContent(c.kind(), c.name(), c.available() ? "yes" : "no", c.bundleId(), c.bundleSymbolicName(),
                c.bundleState(), Format.text(c.detail()));
        }
        table.print(out == null ? System.out : out);
        return null;
    }
}
