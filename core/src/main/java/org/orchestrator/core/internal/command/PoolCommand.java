package org.orchestrator.core.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.api.manage.PoolView;

/** Lists the warm pools: configured size, spares ready and starting, claims since start. */
@Service
@Command(scope = "orchestrator", name = "pool", description = "Lists the warm pools of spare instances per policy")
public final class PoolCommand implements Action {

    @Reference
    Orchestrator orchestrator;

    private final PrintStream out;

    public PoolCommand() {
        this.out = null;
    }

    PoolCommand(Orchestrator orchestrator, PrintStream out) {
        this.orchestrator = orchestrator;
        this.out = out;
    }

    @Override
    public Object execute() {
        ShellTable table = new ShellTable().emptyTableText("no warm pool (poolSize = 0 or no provider supports pooling)");
        table.column("Provider");
        table.column("Network");
        table.column("Image");
        table.column("Pool");
        table.column("Size").alignRight();
        table.column("Min").alignRight();
        table.column("Max").alignRight();
        table.column("Ready").alignRight();
        table.column("Starting").alignRight();
        table.column("Claimed").alignRight();
        for (PoolView v : orchestrator.pool()) {
            table.addRow().addContent(v.provider(), Format.text(v.network()), v.image(), v.poolKey(), v.size(), v.min(), v.max(),
                v.ready(), v.starting(), v.claimed());
        }
        table.print(out == null ? System.out : out);
        return null;
    }
}
