/**
 * Network contracts of the Orchestrator platform. See {@code docs/architecture.md}.
 */
@Export
@Version("1.1.0")
package org.orchestrator.api.network;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
